#!/usr/bin/env python3
"""Writes the small checkpoint fixtures used by tests/model/model_loader_test.cc.

tests/data/loader_fixtures/ gets a 2-layer, hidden-size-8 BertForSequenceClassification saved as
  model.safetensors            float32, safetensors
  pytorch_model.bin            float32, torch.save zip format
  pytorch_model_fp16.bin       float16, torch.save zip format
  pytorch_model_bf16.bin       bfloat16, torch.save zip format
  pytorch_model_legacy.bin     float32, legacy (pre-1.6) torch.save format
  pytorch_model_noncontig.bin  float32 with classifier.weight stored transposed (non-contiguous)
plus config.json and vocab.txt. The weights are rounded so that they are exactly representable in
bfloat16 and float16: every file must load to bit-identical float32 weights.

From model.safetensors it also derives (so they hold exactly the same weights)
  model_fp64.safetensors       float64, safetensors
  pytorch_model_fp64.bin       float64, torch.save zip format
  sharded_safetensors/         model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
  sharded_bin/                 pytorch_model-0000{1,2}-of-00002.bin + pytorch_model.bin.index.json
(the shard folders hold only the weights; tests copy config.json and vocab.txt beside them).

Run: .venv/bin/python tools/make_loader_fixtures.py            (everything)
     .venv/bin/python tools/make_loader_fixtures.py --derived  (only the derived files)
"""
import json
import os
import sys
from collections import OrderedDict

import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertForSequenceClassification

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "loader_fixtures")

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "的", "是", "不", "好", "很", "喜", "欢",
         "差", "电", "影", "我", "这", "部", "太", "了", "！", "，", "。", "a", "b", "c", "##s",
         "##ing", "good", "bad", "movie", "film"]


def exact_weights(t: torch.Tensor) -> torch.Tensor:
    t = t.to(torch.bfloat16).to(torch.float32)
    return torch.where(t.abs() < 2.0 ** -14, torch.zeros_like(t), t)  # stay clear of fp16 subnormals


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16, type_vocab_size=2,
                        hidden_act="gelu", num_labels=2, id2label={0: "negative", 1: "positive"},
                        label2id={"negative": 0, "positive": 1})
    model = BertForSequenceClassification(config).eval()
    original = model.state_dict()
    sd = OrderedDict()
    sd._metadata = original._metadata  # as a real state_dict carries it (pickled with BUILD)
    for name, tensor in original.items():
        if tensor.is_floating_point():
            tensor = exact_weights(torch.randn_like(tensor) * 0.5)
        sd[name] = tensor.contiguous()
    # Extras a real checkpoint may carry; the loader must ignore them.
    sd["bert.embeddings.position_ids"] = torch.arange(16, dtype=torch.int64).unsqueeze(0)
    sd["cls.predictions.bias"] = torch.zeros(len(VOCAB))
    # A view at a non-zero storage offset: torch.save keeps the whole storage and the offset.
    sd["classifier.bias"] = torch.cat([torch.full((3,), 7.0), sd["classifier.bias"]])[3:]
    sd["cls.predictions.decoder.weight"] = sd["bert.embeddings.word_embeddings.weight"]  # shared storage

    cfg = config.to_dict()
    cfg = {k: cfg[k] for k in ["architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers",
                               "num_attention_heads", "intermediate_size", "hidden_act",
                               "max_position_embeddings", "type_vocab_size", "layer_norm_eps",
                               "position_embedding_type", "id2label", "label2id"] if k in cfg}
    cfg["architectures"] = ["BertForSequenceClassification"]
    cfg["senti_label_display"] = {"0": "负面", "1": "正面"}
    with open(os.path.join(OUT, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")

    safe = {k: v.clone().contiguous() for k, v in sd.items() if k != "cls.predictions.decoder.weight"}
    save_file(safe, os.path.join(OUT, "model.safetensors"), metadata={"format": "pt"})
    torch.save(sd, os.path.join(OUT, "pytorch_model.bin"))
    half = OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items())
    torch.save(half, os.path.join(OUT, "pytorch_model_fp16.bin"))
    bf16 = OrderedDict((k, v.bfloat16() if v.is_floating_point() else v) for k, v in sd.items())
    torch.save(bf16, os.path.join(OUT, "pytorch_model_bf16.bin"))
    torch.save(sd, os.path.join(OUT, "pytorch_model_legacy.bin"), _use_new_zipfile_serialization=False)
    nc = OrderedDict(sd)
    nc["classifier.weight"] = sd["classifier.weight"].t().contiguous().t()
    assert not nc["classifier.weight"].is_contiguous()
    torch.save(nc, os.path.join(OUT, "pytorch_model_noncontig.bin"))

    # Sanity: the files agree with each other once widened.
    for name in ["pytorch_model_fp16.bin", "pytorch_model_bf16.bin", "pytorch_model_legacy.bin"]:
        other = torch.load(os.path.join(OUT, name), weights_only=True)
        for k, v in sd.items():
            if k == "classifier.bias" and name == "pytorch_model_legacy.bin":
                assert other[k].storage_offset() == 3, name
            assert torch.equal(other[k].to(v.dtype), v), (name, k)
    assert torch.load(os.path.join(OUT, "pytorch_model.bin"), weights_only=True)["classifier.bias"].storage_offset() == 3
    print("wrote", OUT, sorted(os.listdir(OUT)))


def write_shards(sd, folder, file_pattern, index_name, save):
    """Splits sd into two shards (first half of the names, second half) with a HF-style index."""
    os.makedirs(folder, exist_ok=True)
    names = sorted(sd)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    weight_map = {}
    total = 0
    for i, part in enumerate(halves):
        file = file_pattern.format(i + 1)
        save(OrderedDict((k, sd[k].clone().contiguous()) for k in part), os.path.join(folder, file))
        for k in part:
            weight_map[k] = file
            total += sd[k].numel() * sd[k].element_size()
    with open(os.path.join(folder, index_name), "w", encoding="utf-8") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")


def derived() -> None:
    sd = load_file(os.path.join(OUT, "model.safetensors"))
    fp64 = OrderedDict((k, v.double() if v.is_floating_point() else v) for k, v in sd.items())
    save_file(fp64, os.path.join(OUT, "model_fp64.safetensors"), metadata={"format": "pt"})
    torch.save(fp64, os.path.join(OUT, "pytorch_model_fp64.bin"))
    write_shards(sd, os.path.join(OUT, "sharded_safetensors"), "model-{:05d}-of-00002.safetensors",
                 "model.safetensors.index.json", lambda d, p: save_file(dict(d), p, metadata={"format": "pt"}))
    write_shards(sd, os.path.join(OUT, "sharded_bin"), "pytorch_model-{:05d}-of-00002.bin",
                 "pytorch_model.bin.index.json", torch.save)
    # Sanity: transformers itself loads the sharded folders to the same weights.
    for folder in ["sharded_safetensors", "sharded_bin"]:
        path = os.path.join(OUT, folder)
        for extra in ["config.json", "vocab.txt"]:
            with open(os.path.join(OUT, extra), "rb") as src, open(os.path.join(path, extra), "wb") as dst:
                dst.write(src.read())
        try:
            model = BertForSequenceClassification.from_pretrained(path)
            loaded = model.state_dict()
            for k, v in sd.items():
                if k in loaded:
                    assert torch.equal(loaded[k], v), (folder, k)
        finally:
            for extra in ["config.json", "vocab.txt"]:
                os.remove(os.path.join(path, extra))
    print("wrote derived fixtures in", OUT)


if __name__ == "__main__":
    if sys.argv[1:] != ["--derived"]:
        main()
    derived()
