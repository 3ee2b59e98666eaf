"""Deterministic Chinese review-like texts for the tests (the repository's tests may not read the
shared data folder): fragments of e-commerce and hotel reviews, joined in varying numbers, with some
English, digits, emoji, full-width characters and a few texts longer than the model's 512 tokens."""

from __future__ import annotations

import random

POSITIVE = [
    "这件衣服的质量真的太棒了", "物流很快，第二天就到了", "卖家服务态度很好，耐心解答我的问题", "性价比很高，值得推荐购买",
    "房间干净整洁，早餐也很丰富", "手机运行流畅，电池很耐用", "包装很精美，送人很有面子", "味道不错，孩子很喜欢吃",
    "书的印刷清晰，纸张手感很好", "酒店位置方便，前台很热情", "穿着很舒服，尺码也合适", "用了一个月了，效果明显",
]
NEGATIVE = [
    "物流太慢了，等了一个星期", "质量很差，用了两天就坏了", "客服态度恶劣，根本不理人", "和图片完全不一样，颜色差很多",
    "房间有异味，空调也不制冷", "电池不耐用，半天就没电了", "包装破损，里面的东西都碎了", "味道很奇怪，不会再买了",
    "书有很多错别字，还缺页", "隔音太差，晚上根本睡不着", "尺码偏小，退货还很麻烦", "价格虚高，完全不值这个钱",
]
NEUTRAL = [
    "昨天下单的", "给家里老人买的", "这是第二次购买", "和朋友一起住了三晚", "快递是顺丰", "总的来说",
    "Hello world 123", "iPhone 15 Pro", "ＡＢＣ１２３！", "😀👍", "价格 299 元", "5 星", "还行吧",
]


def review_texts(count: int, seed: int = 11) -> list[str]:
    """``count`` texts, the same ones for the same arguments; no text is empty or holds a newline."""
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        parts = [rng.choice(NEUTRAL)] if rng.random() < 0.4 else []
        for _ in range(rng.randint(1, 4)):
            parts.append(rng.choice(POSITIVE if rng.random() < 0.5 else NEGATIVE))
        text = rng.choice(["，", "。", "！", " "]).join(parts) + rng.choice(["", "。", "！！", "~"])
        if i % 97 == 0:  # over 512 tokens: truncated by the model
            text = "，".join(rng.choice(POSITIVE + NEGATIVE) for _ in range(60))
        texts.append(text)
    return texts
