#!/usr/bin/env python3
"""Writes the tokenizer goldens of tests/tokenizer/ with Hugging Face transformers.

    .venv/bin/python tools/make_tokenizer_goldens.py [--data data] [--out tests/data/tokenizer]

Outputs (all JSON Lines, first line a header describing how the ids were produced):
  sentiment_ids.jsonl  ids of every text of data/sentiment/{dev,test}.jsonl, stored by file and
                       line number only ({"f": "dev", "n": <0-based line>, "ids": [...]}); the C++
                       test reads the texts from the committed data/sentiment/ (--data: its parent).
  hard_cases.jsonl     hand-picked difficult inputs, texts inline, with the exact call; single texts
                       without truncation also carry "offsets", HF's offset_mapping (code points).

The reference is transformers' BertTokenizer (backed by the Rust `tokenizers` library).
NOTE: in transformers 5.x `BertTokenizer(vocab_file=...)` silently ignores the file and builds a
5-token placeholder vocabulary; the vocabulary must be passed as `vocab=` (what from_pretrained
does). The legacy pure-Python tokenizer (BertTokenizerLegacy) is run too and disagreements are
flagged ("slow_differs") and summarised on stdout.
"""
import argparse
import json
import os
import sys

import tokenizers
import transformers
from transformers import BertTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

transformers.logging.set_verbosity_error()

VOCAB_REL = "data/vocab/bert-base-chinese-vocab.txt"
NO_TRUNCATION = None


def make(vocab, cfg):
    fast = BertTokenizer(vocab=vocab, **cfg)
    slow = BertTokenizerLegacy(vocab_file=vocab, **cfg)
    return fast, slow


def hard_cases():
    """(name, text, pair, max_length, cfg) tuples."""
    cases = []

    def add(name, text, pair=None, max_length=NO_TRUNCATION, cfg=None):
        cases.append((name, text, pair, max_length, cfg or {}))

    singles = {
        # full-width forms
        "fullwidth_alnum": "ＡＢＣ１２３！",
        "fullwidth_mixed": "Ｈｅｌｌｏ，ｗｏｒｌｄ！　你好（测试）",
        "fullwidth_punct": "！＂＃＄％＆＇（）＊＋，－．／：；＜＝＞？＠［＼］＾＿｀｛｜｝～",
        "halfwidth_katakana": "ｱｲｳｴｵ ｶﾞｷﾞ",
        # emoji
        "emoji_basic": "好评😀😂👍",
        "emoji_zwj_family": "家庭👨‍👩‍👧‍👦很好",
        "emoji_skin_tone": "点赞👍🏽👍🏿",
        "emoji_flag": "🇨🇳🇺🇸 flags",
        "emoji_keycap": "1️⃣ 2️⃣ #️⃣",
        "emoji_vs16": "❤️❤ ☺️",
        "emoji_new_u11_u14": "🥰🫠🛕 new",
        "emoji_only": "😀",
        # combining accents / Latin
        "combining_e_acute": "caf\u0065\u0301 cafe\u0301",
        "precomposed_e_acute": "café CAFÉ",
        "angstrom_sign": "\u212b Ångström ÅNGSTRÖM",
        "enye": "niño NIÑO n\u0303",
        "multiple_marks": "a\u0301\u0302\u0303b o\u0316\u0301",
        "mark_order": "q\u0301\u0323 q\u0323\u0301",
        "standalone_mark": "\u0301abc \u0301",
        "latin_ligature": "ﬁne ﬂower Ǆemal ǅ",
        "vietnamese": "Tiếng Việt có dấu",
        "french": "Où est l'hôtel? Très bien!",
        "polish": "Zażółć gęślą jaźń",
        # control and invisible characters
        "nul": "a\x00b",
        "ascii_controls": "\x01a\x02b\x7fc\x1b[0m",
        "zero_width_space": "hello\u200bworld 你\u200b好",
        "bom": "\ufeff开头BOM",
        "soft_hyphen": "co\u00adop\u00aderate",
        "replacement_char": "bad\ufffdchar \ufffd",
        "zwj_zwnj": "a\u200db\u200cc",
        "bidi_marks": "\u200eleft\u200f \u202aembed\u202c",
        "vt_ff_nel": "a\x0bb\x0cc\x85d",
        "line_para_sep": "a\u2028b\u2029c",
        "private_use": "\ue000x \U000f0000y",
        "unassigned": "\u0378 cn \U000e0080",
        "tag_chars": "flag\U000e0067\U000e0062",
        "interlinear": "\ufff9a\ufffbb",
        "mongolian_vs": "a\u180eb",
        "tabs_newlines": "第一行\n第二行\r\n第三行\t结束",
        # empty and whitespace only
        "empty": "",
        "space": " ",
        "spaces_tabs": " \t\n\r ",
        "ideographic_space": "\u3000",
        "nbsp": "\u00a0",
        "mixed_unicode_spaces": "\u2002\u2003\u2009\u200a\u202f\u205f\u1680",
        "ideographic_space_between": "你好\u3000世界",
        "nbsp_between": "100\u00a0km",
        "only_controls": "\x00\x01\u200b\ufeff",
        # casing specials
        "turkish_dotted_i": "İstanbul İ",
        "turkish_dotless_i": "ıi Iı",
        "german_sharp_s": "Straße STRASSE ẞ",
        "greek_sigma": "ΟΔΟΣ ΑΣ σς Σ",
        "greek_accents": "Ελληνικά άέήίόύώ ΐ",
        "cyrillic": "Привет мир ЁЖИК ё й",
        "armenian_ligature": "ﬓ և",
        "title_case_digraph": "ǅ ǈ ǋ ǲ",
        "cherokee": "ᏣᎳᎩ ꭰ",
        "georgian": "ქართული Ა",
        "deseret": "\U00010400\U00010428",
        "roman_numerals": "Ⅻ ⅻ",
        "circled_letters": "ⓐⒷ",
        "kelvin_ohm": "\u212a \u2126",
        # scripts
        "japanese_kana": "こんにちは カタカナ ひらがなです。",
        "japanese_mixed": "東京タワーは高い！",
        "korean_hangul": "안녕하세요 한국어",
        "korean_jamo": "ᄀᄁ ㄱㄴ",
        "cjk_ext_a": "\u3400\u4db5",
        "cjk_ext_b": "\U00020000\U0002a6d6 𠀀𪚶",
        "cjk_ext_c_d": "\U0002a700\U0002b740\U0002b820",
        "cjk_compat": "\uf900\ufa0e\U0002f800",
        "cjk_radicals": "⺀⼀㇀",
        "cjk_symbols": "【】《》〈〉「」『』〔〕",
        "cjk_unified_ext_g": "\U00030000",
        "thai": "ภาษาไทย",
        "arabic": "مرحبا بالعالم",
        "hebrew": "שָׁלוֹם",
        "devanagari": "नमस्ते",
        "math_alnum": "\U0001d400\U0001d41a \U0001d7ce",
        # mixed content
        "mixed_en_zh_digits": "iPhone13手机很好用，价格4999元，性价比高！",
        "mixed_units": "5kg重量，30cm长，100%满意",
        "version_numbers": "v2.3.1版本 Python3.11",
        "numbers_long": "1234567890 3.1415926 1,000,000",
        "url": "请访问https://www.example.com/path?q=1&b=2#frag看看",
        "email": "联系我：test.user+tag@example.co.uk 谢谢",
        "hashtag_mention": "#好评# @客服 $100",
        "html": "<p>很好</p>&nbsp;&amp;",
        "code": "for(i=0;i<10;i++){x[i]=i*2;}",
        "apostrophes": "don't it's “quoted” ‘single’",
        "dashes": "a–b—c‐d‑e―f",
        "ellipsis": "好……棒…… ...",
        "punct_cluster": "!!!???...,,,;;;",
        "punct_cluster_cjk": "！！！？？？。。。、、、",
        "punct_ascii_all": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "symbols_not_punct": "©®™° ± × ÷ € £ ¥ ¢ § ¶",
        "currency": "￥100 $5 €3",
        "math": "∑∫√∞≈≠≤≥",
        "arrows_boxes": "→←↑↓ ■□●○",
        "inverted_punct": "¡Hola! ¿Qué?",
        "middle_dot": "张·三 a·b",
        "tilde_wave": "好~ 好～ 〜",
        # WordPiece
        "wordpiece_english": "unbelievable tokenization playing",
        "wordpiece_unknown_mid": "abcxyz qqqqqq",
        "wordpiece_uppercase": "HELLO World",
        "wordpiece_numbers": "2023年12月31日",
        "word_exactly_100": "a" * 100,
        "word_101": "a" * 101,
        "word_100_cjk_mixed": "x" * 99 + "é",
        "word_101_accented": "e\u0301" * 101,
        "long_word_then_cjk": "b" * 150 + "好",
        "long_digits": "1" * 120,
        "long_url": "http://example.com/" + "abc" * 40,
        # special tokens in the text
        "special_sep_inline": "hello [SEP] world",
        "special_all": "[CLS][SEP][PAD][MASK][UNK]",
        "special_lowercase": "[cls] [sep] [mask]",
        "special_glued": "好[MASK]评a[SEP]b",
        "special_partial": "[SE P] [CLS [MASK",
        "special_fullwidth": "［ＳＥＰ］",
        "special_unused": "[unused1] [unused99]",
        # Chinese
        "chinese_plain": "这家酒店的服务很好，房间干净，早餐丰富。",
        "chinese_traditional": "這家飯店的服務很好",
        "chinese_with_english": "手机的camera效果不错，battery也耐用",
        "chinese_punct_mix": "“好”『棒』（赞）",
        "chinese_numbers_fullwidth": "价格：１２３元",
    }
    for name, text in singles.items():
        add(name, text)

    # Every single also encoded with options that differ from the default.
    cfg_variants = {
        "nolower": {"do_lower_case": False},
        "lower_keepaccents": {"do_lower_case": True, "strip_accents": False},
        "nolower_strip": {"do_lower_case": False, "strip_accents": True},
        "nochinese": {"tokenize_chinese_chars": False},
    }
    variant_texts = ["fullwidth_alnum", "combining_e_acute", "precomposed_e_acute", "angstrom_sign", "enye",
                     "turkish_dotted_i", "german_sharp_s", "greek_sigma", "cyrillic", "korean_hangul",
                     "vietnamese", "mixed_en_zh_digits", "chinese_plain", "cjk_compat", "wordpiece_uppercase",
                     "special_lowercase", "latin_ligature", "kelvin_ohm", "title_case_digraph", "hebrew"]
    for vname, cfg in cfg_variants.items():
        for t in variant_texts:
            add(f"{t}__{vname}", singles[t], cfg=cfg)

    pairs = [
        ("pair_basic", "这个手机怎么样？", "非常好用，推荐购买！"),
        ("pair_english", "How is the hotel?", "The room was clean."),
        ("pair_empty_first", "", "第二句"),
        ("pair_empty_second", "第一句", ""),
        ("pair_both_empty", "", ""),
        ("pair_whitespace", "\u3000", " \t"),
        ("pair_specials", "a [SEP] b", "[CLS]"),
        ("pair_emoji", "😀好", "👍🏽棒"),
    ]
    for name, a, b in pairs:
        add(name, a, b)

    # Truncation, single sequences.
    digits = "一二三四五六七八九十"
    ten = digits  # 10 tokens
    for m in [1, 2, 3, 4, 5, 11, 12, 13]:
        add(f"trunc_single_10_max{m}", ten, max_length=m)
    add("trunc_single_empty_max2", "", max_length=2)
    long_zh = ("这家酒店位置很好，离地铁站很近，服务态度也不错，房间干净整洁，早餐种类丰富。" * 20)
    for m in [127, 128, 129, 510, 511, 512, 513]:
        add(f"trunc_single_long_max{m}", long_zh, max_length=m)
    long_mixed = ("Great phone 很好用 battery life 😀 非常 satisfied!! " * 40)
    for m in [128, 512]:
        add(f"trunc_single_mixed_max{m}", long_mixed, max_length=m)
    add("trunc_single_wordpieces_max6", "unbelievable tokenization", max_length=6)

    # Truncation, pairs ("longest_first"): all length combinations around odd/even budgets.
    alt = "甲乙丙丁戊己庚辛壬癸"
    for n1 in [0, 1, 2, 3, 5, 6, 10]:
        for n2 in [0, 1, 2, 4, 5, 7, 10]:
            for m in [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16]:
                if n1 + n2 + 3 <= m and m != 16:
                    continue  # no truncation needed; covered by m=16
                add(f"trunc_pair_{n1}_{n2}_max{m}", ten[:n1], alt[:n2], max_length=m)
    for m in [128, 129, 512]:
        add(f"trunc_pair_long_long_max{m}", long_zh, long_mixed, max_length=m)
        add(f"trunc_pair_short_long_max{m}", "请问这个怎么样？", long_zh, max_length=m)
        add(f"trunc_pair_long_short_max{m}", long_zh, "短", max_length=m)
    return cases


def encode(tok, text, pair, max_length):
    kwargs = {}
    if max_length is not None:
        kwargs = {"truncation": "longest_first" if pair is not None else True, "max_length": max_length}
    if pair is None:
        enc = tok(text, return_token_type_ids=True, **kwargs)
    else:
        enc = tok(text, pair, return_token_type_ids=True, **kwargs)
    return enc["input_ids"], enc["token_type_ids"], kwargs


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(root, "data"),
                    help="folder with vocab/bert-base-chinese-vocab.txt and sentiment/{dev,test}.jsonl (default: %(default)s)")
    ap.add_argument("--out", default=os.path.join(root, "tests", "data", "tokenizer"))
    args = ap.parse_args()
    vocab = os.path.join(args.data, os.path.relpath(VOCAB_REL, "data"))
    os.makedirs(args.out, exist_ok=True)
    versions = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__}

    fast, slow = make(vocab, {})
    assert fast.convert_tokens_to_ids("[CLS]") == 101, "vocabulary not loaded"

    # 1. The sentiment dev/test texts, referenced by line number.
    n_total = n_slow_diff = 0
    path = os.path.join(args.out, "sentiment_ids.jsonl")
    with open(path, "w", encoding="utf-8") as out:
        header = {"header": True, "vocab": VOCAB_REL, "class": "transformers.BertTokenizer(vocab=...)",
                  "call": "tok(text)  # add_special_tokens=True, no truncation", **versions}
        out.write(json.dumps(header, ensure_ascii=False) + "\n")
        for split in ["dev", "test"]:
            with open(os.path.join(args.data, "sentiment", f"{split}.jsonl"), encoding="utf-8") as f:
                for n, line in enumerate(f):
                    text = json.loads(line)["text"]
                    ids = fast(text)["input_ids"]
                    if slow(text)["input_ids"] != ids:
                        n_slow_diff += 1
                        print(f"slow differs: {split}:{n} {text!r}", file=sys.stderr)
                    n_total += 1
                    out.write(json.dumps({"f": split, "n": n, "ids": ids}, separators=(",", ":")) + "\n")
    print(f"{path}: {n_total} texts, legacy slow tokenizer differs on {n_slow_diff}")

    # 2. Hard cases, texts inline.
    toks = {}
    path = os.path.join(args.out, "hard_cases.jsonl")
    n_cases = n_slow_diff = 0
    with open(path, "w", encoding="utf-8") as out:
        header = {"header": True, "vocab": VOCAB_REL, "class": "transformers.BertTokenizer(vocab=..., **cfg)",
                  "call": "tok(text[, pair], return_token_type_ids=True, **call)", **versions}
        out.write(json.dumps(header, ensure_ascii=False) + "\n")
        for name, text, pair, max_length, cfg in hard_cases():
            key = json.dumps(cfg, sort_keys=True)
            if key not in toks:
                toks[key] = make(vocab, cfg)
            f_tok, s_tok = toks[key]
            ids, type_ids, call = encode(f_tok, text, pair, max_length)
            rec = {"name": name, "text": text}
            if pair is not None:
                rec["pair"] = pair
            rec["cfg"] = cfg
            rec["call"] = call
            rec["ids"] = ids
            rec["type_ids"] = type_ids
            if pair is None and max_length is None:
                rec["tokens"] = f_tok.tokenize(text)
                # Offsets into the text (Python str indices: code points), without [CLS]/[SEP].
                offsets = f_tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
                rec["offsets"] = [list(o) for o in offsets]
            s_ids, s_types, _ = encode(s_tok, text, pair, max_length)
            if (s_ids, s_types) != (ids, type_ids):
                n_slow_diff += 1
                rec["slow_differs"] = True
                rec["slow_ids"] = s_ids
            n_cases += 1
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"{path}: {n_cases} cases, legacy slow tokenizer differs on {n_slow_diff}")


if __name__ == "__main__":
    main()
