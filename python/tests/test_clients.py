"""The client libraries users of TEI, Triton and KServe already have, from PyPI and unchanged
(huggingface_hub's InferenceClient / AsyncInferenceClient, tritonclient.http with its default binary
tensors), against a running `senti serve`: every answer must equal the JSON API's answer for the same
texts. KServe v1 has no client library of its own: its JSON routes are checked over plain HTTP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton
from huggingface_hub import AsyncInferenceClient, InferenceClient
from huggingface_hub.errors import HfHubHTTPError
from tritonclient.utils import InferenceServerException

from conftest import REPO

MODEL = REPO / "models" / "senti-zh-sentiment"
NAME = MODEL.name
TEXTS = ["这件衣服的质量真的太棒了", "物流太慢了，包装也破了", "还行吧，一般般"]
MAX_BATCH = 4


class Server:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def post(self, path: str, body) -> tuple[int, object]:
        request = urllib.request.Request(self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def get(self, path: str) -> tuple[int, object]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def tei(self, text: str, raw: bool = False) -> list[dict]:
        """The JSON API's answer for one text: every label, highest score first."""
        status, body = self.post("/predict", {"inputs": text, "raw_scores": raw})
        assert status == 200, body
        return body


@pytest.fixture(scope="module")
def server(senti_cli: Path, tmp_path_factory) -> Server:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(senti_cli), "serve", "--model", str(MODEL), "--port", "0", "--log-format", "json", "--threads", "1",
             "--max-client-batch-size", str(MAX_BATCH)],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        port = 0
        deadline = time.monotonic() + 60
        while not port and time.monotonic() < deadline:
            assert process.poll() is None, "senti serve exited:\n" + log.read_text()
            for line in log.read_text().splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("message") == "senti serve listening":
                    port = int(event["port"])
            time.sleep(0.05)
        assert port, "senti serve did not start within 60 s:\n" + log.read_text()
        yield Server(process, port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def assert_same_ranking(elements, expected: list[dict], top_k: int | None = None) -> None:
    """huggingface_hub's TextClassificationOutputElement list == the JSON API's ranking (its first top_k)."""
    expected = expected[:top_k] if top_k else expected
    assert [e.label for e in elements] == [e["label"] for e in expected]
    assert [e.score for e in elements] == pytest.approx([e["score"] for e in expected], abs=2e-4)


# ---- Hugging Face: InferenceClient(model=<base URL>) posts to POST / ----

def test_inference_client_one_text(server: Server):
    client = InferenceClient(model=server.url)
    for text in TEXTS:
        assert_same_ranking(client.text_classification(text), server.tei(text))


def test_inference_client_top_k_and_function_to_apply(server: Server):
    client = InferenceClient(model=server.url)
    text = TEXTS[1]
    assert_same_ranking(client.text_classification(text, top_k=1), server.tei(text), top_k=1)
    assert_same_ranking(client.text_classification(text, top_k=5), server.tei(text))
    assert_same_ranking(client.text_classification(text, function_to_apply="softmax"), server.tei(text))
    logits = server.tei(text, raw=True)
    assert_same_ranking(client.text_classification(text, function_to_apply="none"), logits)
    sigmoid = client.text_classification(text, function_to_apply="sigmoid")
    assert {e.label: e.score for e in sigmoid} == pytest.approx(
        {e["label"]: 1 / (1 + np.exp(-e["score"])) for e in logits}, abs=1e-5)


def test_inference_client_several_texts(server: Server):
    client = InferenceClient(model=server.url)
    answers = [client.text_classification(t, top_k=1) for t in TEXTS]
    for text, answer in zip(TEXTS, answers):
        assert_same_ranking(answer, server.tei(text), top_k=1)
    # A list goes to the server as one batch, but the client keeps only the first text's ranking
    # (text_classification returns `parse_obj_as_list(response)[0]`).
    assert_same_ranking(client.text_classification(TEXTS), server.tei(TEXTS[0]))


def test_async_inference_client(server: Server):
    async def run():
        async with AsyncInferenceClient(model=server.url) as client:
            one = await client.text_classification(TEXTS[0])
            several = await asyncio.gather(*(client.text_classification(t, top_k=1) for t in TEXTS))
            return one, several

    one, several = asyncio.run(run())
    assert_same_ranking(one, server.tei(TEXTS[0]))
    for text, answer in zip(TEXTS, several):
        assert_same_ranking(answer, server.tei(text), top_k=1)


def test_inference_client_errors(server: Server):
    client = InferenceClient(model=server.url)
    with pytest.raises(HfHubHTTPError) as e:
        client.text_classification(TEXTS[0], function_to_apply="tanh")
    assert e.value.response.status_code == 400
    assert "function_to_apply" in e.value.response.json()["error"]
    with pytest.raises(HfHubHTTPError) as e:
        client.text_classification("")
    assert e.value.response.status_code == 422


# ---- tritonclient.http (KServe v2, binary tensor extension by default) ----

def kserve_json_infer(server: Server, texts: list[str]) -> dict:
    """The KServe v2 JSON API's outputs for the texts, by name."""
    status, body = server.post(f"/v2/models/{NAME}/infer", {
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}]})
    assert status == 200, body
    return {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in body["outputs"]}


def text_input(texts: list[str], binary_data: bool = True) -> triton.InferInput:
    tensor = triton.InferInput("text", [len(texts)], "BYTES")
    tensor.set_data_from_numpy(np.array(texts, dtype=object), binary_data=binary_data)
    return tensor


def test_tritonclient_health_and_metadata(server: Server):
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(NAME)
    assert not client.is_model_ready("other-model")
    meta = client.get_model_metadata(NAME)
    assert meta["name"] == NAME
    assert [i["name"] for i in meta["inputs"]] == ["text"]
    assert [o["name"] for o in meta["outputs"]] == ["label", "score", "scores"]
    assert client.get_server_metadata()["name"] == "senti"


def test_tritonclient_binary_defaults(server: Server):
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    texts = TEXTS[:2]
    expected = kserve_json_infer(server, texts)
    result = client.infer(NAME, [text_input(texts)], outputs=[triton.InferRequestedOutput("label")], request_id="r-1")
    assert [x.decode() for x in result.as_numpy("label")] == list(expected["label"])
    assert result.get_response()["id"] == "r-1"
    assert result.as_numpy("score") is None  # not asked for
    # No outputs named: all of them, binary.
    result = client.infer(NAME, [text_input(texts)])
    assert [x.decode() for x in result.as_numpy("label")] == [server.tei(t)[0]["label"] for t in texts]
    assert result.as_numpy("score") == pytest.approx([server.tei(t)[0]["score"] for t in texts], abs=2e-4)
    scores = result.as_numpy("scores")
    assert scores.dtype == np.float32 and scores.shape == (2, 2)
    assert scores == pytest.approx(expected["scores"], abs=2e-4)
    # JSON tensors both ways, and mixed.
    result = client.infer(NAME, [text_input(texts, binary_data=False)],
                          outputs=[triton.InferRequestedOutput("label", binary_data=False),
                                   triton.InferRequestedOutput("scores", binary_data=True)])
    assert [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("label")] == list(expected["label"])
    assert result.as_numpy("scores") == pytest.approx(expected["scores"], abs=2e-4)


def test_tritonclient_errors(server: Server):
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    with pytest.raises(InferenceServerException, match="max-client-batch-size"):
        client.infer(NAME, [text_input(["a"] * (MAX_BATCH + 1))])
    with pytest.raises(InferenceServerException, match="empty"):
        client.infer(NAME, [text_input(["ok", ""])])
    with pytest.raises(InferenceServerException, match="not found"):
        client.infer("other-model", [text_input(["ok"])])
    assert client.is_server_live()


# ---- KServe v1 (plain HTTP: KServe has no v1 client library to speak of) ----

def test_kserve_v1(server: Server):
    assert server.get(f"/v1/models/{NAME}") == (200, {"name": NAME, "ready": True})
    status, body = server.post(f"/v1/models/{NAME}:predict", {"instances": TEXTS[:2]})
    assert status == 200, body
    for text, prediction in zip(TEXTS[:2], body["predictions"]):
        expected = server.tei(text)
        assert prediction["label"] == expected[0]["label"]
        assert prediction["score"] == pytest.approx(expected[0]["score"], abs=2e-4)
        assert prediction["scores"] == pytest.approx({e["label"]: e["score"] for e in expected}, abs=2e-4)
    status, body = server.post("/v1/models/other:predict", {"instances": ["好"]})
    assert status == 404 and body["error_type"] == "not_found"
    status, body = server.post(f"/v1/models/{NAME}:predict", {"instances": ["好"] * (MAX_BATCH + 1)})
    assert status == 422 and "max-client-batch-size" in body["error"]


# ---- "why and where": explain, granularity and long_text through the real clients ----

def assert_same_words(got: list[dict], want: list[dict], text: str) -> None:
    """Two explanations are the same words (spans exact) with the same weights (within float noise), and every
    span indexes the text in code points, as Python slices it."""
    assert [(w["text"], w["start"], w["end"]) for w in got] == [(w["text"], w["start"], w["end"]) for w in want]
    assert [w["weight"] for w in got] == pytest.approx([w["weight"] for w in want], abs=2e-4)
    assert all(text[w["start"]:w["end"]] == w["text"] for w in got)


def test_tritonclient_http_explain(server: Server):
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    texts = ["这件衣服质量很好。就是物流太慢了！", "Great 😀 但是包装破了"]
    parameters = {"explain": True, "granularity": "sentence", "long_text": "chunk"}
    result = client.infer(NAME, [text_input(texts)], parameters=parameters)
    explanation, sentences, chunks = (result.as_numpy(n) for n in ("explanation", "sentences", "chunks"))
    assert explanation.shape == (2,) and sentences.shape == (2,)
    assert chunks.dtype == np.int64 and list(chunks) == [1, 1]
    labels = [x.decode() for x in result.as_numpy("label")]
    for i, text in enumerate(texts):
        status, tei = server.post("/predict", {"inputs": text, "parameters": parameters})
        assert status == 200, tei
        assert labels[i] == tei["predictions"][0]["label"]
        assert_same_words(json.loads(explanation[i]), tei["explanation"], text)
        got_sentences = json.loads(sentences[i])
        assert [s["text"] for s in got_sentences] == [s["text"] for s in tei["sentences"]]
        assert all(text[s["start"]:s["end"]] == s["text"] for s in got_sentences)
        for s in got_sentences:  # each sentence is its own prediction
            assert s["label"] == server.tei(s["text"])[0]["label"]
    assert len(json.loads(sentences[0])) == 2
    # Only the explanation, as JSON.
    result = client.infer(NAME, [text_input(texts, binary_data=False)], parameters={"explain": True},
                          outputs=[triton.InferRequestedOutput("explanation", binary_data=False)])
    assert result.as_numpy("label") is None
    words = [json.loads(x) for x in result.as_numpy("explanation")]
    assert_same_words(words[1], server.post("/predict", {"inputs": texts[1], "explain": True})[1]["explanation"], texts[1])


def test_tritonclient_http_analysis_errors(server: Server):
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    with pytest.raises(InferenceServerException, match="text or sentence"):
        client.infer(NAME, [text_input(TEXTS[:1])], parameters={"granularity": "paragraph"})
    with pytest.raises(InferenceServerException, match="explain"):
        client.infer(NAME, [text_input(TEXTS[:1])], outputs=[triton.InferRequestedOutput("explanation")])
    assert client.is_server_live()


def test_seed_and_kserve_v1_analysis(server: Server):
    text = "这件衣服质量很好。就是物流太慢了！"
    query = urllib.parse.urlencode({"text": text, "explain": "true", "granularity": "sentence"})
    status, seed = server.get(f"/predict?{query}")
    assert status == 200, seed
    assert seed["label"] == server.tei(text)[0]["label"] and "sentiment" in seed
    assert [s["text"] for s in seed["sentences"]] == ["这件衣服质量很好。", "就是物流太慢了！"]
    status, v1 = server.post(f"/v1/models/{NAME}:explain", {"instances": [text]})
    assert status == 200, v1
    assert_same_words(v1["explanations"][0]["explanation"], seed["explanation"], text)
    status, error = server.get("/predict?" + urllib.parse.urlencode({"text": text, "long_text": "split"}))
    assert status == 400 and "truncate or chunk" in error["error"]
