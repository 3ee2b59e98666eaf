#!/usr/bin/env python3
"""Writes the seed corpora of the text-input fuzzers (fuzz/corpus/<target>/) from realistic requests
and the repository's test data: real HTTP requests of the three APIs, tokenizer hard cases, the
loader fixtures. The .senti seeds come from `senti compile` (see fuzz/README.md). Standard library only.
Run from anywhere: python3 fuzz/make_corpus.py"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def put(target: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def http_request(method: str, target: str, body: bytes = b"", headers=(), close=False) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1:8888"]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += list(headers)
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body: bytes, extension: str = "", trailer: str = "") -> bytes:
    head = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    mid = len(body) // 2
    out = head.encode()
    for part in (body[:mid], body[mid:]):
        out += f"{len(part):x}{extension}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n" + trailer.encode() + b"\r\n"


TEXT = "这件衣服的质量真的太棒了"
TEI_BODIES = [
    {"inputs": TEXT},
    {"inputs": [TEXT, "物流太慢了"]},
    {"inputs": [[TEXT], ["物流太慢了"]]},
    {"inputs": [[TEXT, "物流太慢了"]], "raw_scores": True},
    {"inputs": "A long english text, with punctuation! " * 8, "truncate": False},
    {"inputs": ""},
    {"inputs": []},
]
KSERVE_BODIES = [
    {"id": "r1", "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [TEXT]}]},
    {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2, 1], "data": [[TEXT], ["物流太慢了"]]}]},
    {"inputs": [{"name": "other", "datatype": "FP32", "shape": [1], "data": [1.0]},
                {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["好"]}]},
    {"inputs": [{"name": 1}, {"name": 2}]},
]
HF_BODIES = [  # what huggingface_hub's InferenceClient.text_classification posts to POST /
    {"inputs": TEXT, "parameters": {}},
    {"inputs": TEXT, "parameters": {"top_k": 1, "function_to_apply": "sigmoid"}},
    {"inputs": [TEXT, "物流太慢了"], "parameters": {"function_to_apply": "none", "truncate": False}},
    {"inputs": TEXT, "parameters": {"top_k": 0, "function_to_apply": "tanh"}},
]
V1_BODIES = [
    {"instances": [TEXT, {"text": "物流太慢了"}]},
    {"instances": []},
    {"instances": [""]},
]


def bytes_tensor(texts) -> bytes:
    """A BYTES tensor's binary data: each element as its 4-byte little-endian length and its bytes."""
    return b"".join(len(t).to_bytes(4, "little") + t for t in (x.encode() for x in texts))


def binary_infer(texts, outputs=None, parameters=None, data=None, size=None):
    """A KServe v2 binary-extension request as tritonclient.http sends it: (JSON header, binary data)."""
    data = bytes_tensor(texts) if data is None else data
    header = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)],
                          "parameters": {"binary_data_size": len(data) if size is None else size}}]}
    if outputs is not None:
        header["outputs"] = outputs
    if parameters is not None:
        header["parameters"] = parameters
    return json.dumps(header).encode(), data


BINARY_INFERS = [
    binary_infer([TEXT, "物流太慢了"], parameters={"binary_data_output": True}),
    binary_infer([TEXT], outputs=[{"name": "label", "parameters": {"binary_data": True}}, {"name": "scores"}]),
    binary_infer([TEXT], data=(100).to_bytes(4, "little") + b"abc"),      # an element past the end
    binary_infer([TEXT], data=b"\xff\xff\xff\xff" + b"x"),               # a 4 GiB element
    binary_infer([TEXT], data=bytes_tensor([TEXT]) + b"\x01\x00"),        # a cut length prefix
    binary_infer([TEXT], size=2**64 - 1),                                  # binary_data_size past the end
    binary_infer(["", "好"]),
]

QUERIES = ["text=" + "%E8%BF%99%E4%BB%B6%E8%A1%A3%E6%9C%8D%E7%9A%84%E8%B4%A8%E9%87%8F%E7%9C%9F%E7%9A%84%E5%A4%AA%E6%A3%92%E4%BA%86",
           "text=hello+world&x=1", "text=%ZZ", "text=", "text=%FF%FE", "other=1"]


def main() -> None:
    # HTTP: whole connections.
    for q in QUERIES:
        put("http_request_fuzzer", http_request("GET", "/predict?" + q))
    for b in TEI_BODIES:
        put("http_request_fuzzer", http_request("POST", "/predict", json.dumps(b, ensure_ascii=False).encode()))
    for b in KSERVE_BODIES:
        put("http_request_fuzzer", http_request("POST", "/v2/models/tiny/infer", json.dumps(b).encode()))
    for b in HF_BODIES:
        put("http_request_fuzzer", http_request("POST", "/", json.dumps(b, ensure_ascii=False).encode()))
    for b in V1_BODIES:
        put("http_request_fuzzer", http_request("POST", "/v1/models/tiny:predict", json.dumps(b, ensure_ascii=False).encode()))
    for header, data in BINARY_INFERS:
        put("http_request_fuzzer", http_request("POST", "/v2/models/tiny/infer", header + data,
                                                headers=[f"Inference-Header-Content-Length: {len(header)}"]))
    header, data = BINARY_INFERS[0]
    put("http_request_fuzzer", http_request("POST", "/v2/models/tiny/infer", header + data,
                                            headers=[f"Inference-Header-Content-Length: {len(header) + len(data) + 1}"]))
    put("http_request_fuzzer", http_request("POST", "/v2/models/tiny/infer", header + data,
                                            headers=["Inference-Header-Content-Length: -1"]))
    for path in ["/v1/models", "/v1/models/tiny", "/v1/models/other"]:
        put("http_request_fuzzer", http_request("GET", path))
    for path in ["/health", "/info", "/metrics", "/openapi.json", "/v2", "/v2/health/ready", "/v2/models/tiny",
                 "/v2/models/tiny/versions/1/ready", "/nowhere"]:
        put("http_request_fuzzer", http_request("GET", path, close=True))
    put("http_request_fuzzer", http_request("HEAD", "/info") + http_request("GET", "/health"))
    put("http_request_fuzzer", http_request("DELETE", "/predict"))
    put("http_request_fuzzer", http_request("POST", "/predict", b'{"inputs":"ok"}', headers=["Expect: 100-continue"]))
    put("http_request_fuzzer", http_request("GET", "/health") + http_request("POST", "/predict", b'{"inputs":"a"}')
        + http_request("GET", "/predict?text=b", close=True))
    put("http_request_fuzzer", chunked(b'{"inputs": "chunked"}'))
    put("http_request_fuzzer", chunked(b'{"inputs": "ext"}', extension=";name=value", trailer="X-Trailer: t\r\n"))
    put("http_request_fuzzer", b"GET /health HTTP/1.0\r\n\r\n")
    put("http_request_fuzzer", b"POST /predict HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{")
    put("http_request_fuzzer", b"GET /health HTTP/1.1\r\nHost x\r\n\r\n")

    # JSON decoders: byte 0 picks the API (0 GET query, 1 TEI body, 2 KServe body).
    for q in QUERIES:
        put("json_api_fuzzer", b"\x00" + q.encode())
    for b in TEI_BODIES:
        put("json_api_fuzzer", b"\x01" + json.dumps(b, ensure_ascii=False).encode())
    for b in KSERVE_BODIES:
        put("json_api_fuzzer", b"\x02" + json.dumps(b, ensure_ascii=False).encode())
    # 3: KServe v2 binary, bytes 1-2 = Inference-Header-Content-Length (little-endian); 4: POST /; 5: KServe v1.
    for header, data in BINARY_INFERS:
        put("json_api_fuzzer", b"\x03" + len(header).to_bytes(2, "little") + header + data)
    for b in HF_BODIES:
        put("json_api_fuzzer", b"\x04" + json.dumps(b, ensure_ascii=False).encode())
    for b in V1_BODIES:
        put("json_api_fuzzer", b"\x05" + json.dumps(b, ensure_ascii=False).encode())
    put("json_api_fuzzer", b"\x01" + b"[" * 64)
    put("json_api_fuzzer", b"\x02" + b'{"inputs":[{"name":"text","datatype":"BYTES","shape":[18446744073709551615],"data":["a"]}]}')

    # gRPC raw BYTES contents: byte 0 = max_elements, then 4-byte little-endian length-prefixed elements.
    def raw_bytes(*elements: bytes) -> bytes:
        return b"".join(len(e).to_bytes(4, "little") + e for e in elements)
    put("grpc_bytes_fuzzer", b"\x20" + raw_bytes(TEXT.encode(), "物流太慢了".encode(), b""))
    put("grpc_bytes_fuzzer", b"\x02" + raw_bytes(*[b"a"] * 5))
    put("grpc_bytes_fuzzer", b"\x20" + raw_bytes(b"abc")[:-1])
    put("grpc_bytes_fuzzer", b"\x20" + b"\xff\xff\xff\xff")
    put("grpc_bytes_fuzzer", b"\x00")

    # Tokenizer: byte 0 = options (bits 0-1), max_length (bits 2-3), pair (bit 4, split at a 0 byte).
    cases = [json.loads(line) for line in (ROOT / "tests/data/tokenizer/hard_cases.jsonl").open(encoding="utf-8")][1:]
    for i, case in enumerate(cases[::12]):
        text = case["text"].encode("utf-8", "surrogatepass")
        pair = case.get("pair")
        control = (i % 16) | (0x10 if pair else 0)
        put("tokenizer_fuzzer", bytes([control]) + text + (b"\x00" + pair.encode("utf-8", "surrogatepass") if pair else b""))
    put("tokenizer_fuzzer", b"\x00" + "[CLS]你好[MASK]世界[SEP]".encode())
    put("tokenizer_fuzzer", b"\x00" + b"\xe4\xbd")  # truncated UTF-8

    # Checkpoints: byte 0 picks the replaced file (0 safetensors, 1 pytorch_model.bin, 2 config.json).
    fixtures = ROOT / "tests/data/loader_fixtures"
    put("checkpoint_fuzzer", b"\x00" + (fixtures / "model.safetensors").read_bytes())
    for f in sorted(fixtures.glob("pytorch_model*.bin")):
        put("checkpoint_fuzzer", b"\x01" + f.read_bytes())
    put("checkpoint_fuzzer", b"\x02" + (fixtures / "config.json").read_bytes())


if __name__ == "__main__":
    main()
