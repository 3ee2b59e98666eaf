"""The gRPC endpoint (`senti serve --grpc-port`) driven by the real tritonclient.grpc from PyPI, unchanged:
health, metadata, inference with the client's default raw_input_contents and with bytes_contents, errors
with their status codes, and a load run of 64 concurrent calls; every answer compared with the HTTP
KServe v2 JSON answer of the same server for the same texts."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest

np = pytest.importorskip("numpy")
grpcclient = pytest.importorskip("tritonclient.grpc")
from tritonclient.grpc import service_pb2  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

from review_texts import review_texts  # noqa: E402

TINY_MODEL = Path(__file__).resolve().parents[2] / "tests" / "data" / "models" / "tiny"
MODEL = "tiny"  # the model folder's name is the KServe model name
MAX_CLIENT_BATCH = 8
START_TIMEOUT_S = 60
CALL_TIMEOUT_S = 60


class Server:
    """`senti serve --port 0 --grpc-port 0` as a child process; the ports come from its start log line."""

    def __init__(self, cli: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(cli), "serve", "--model", str(TINY_MODEL), "--port", "0", "--grpc-port", "0", "--threads", "1",
             "--log-format", "json", "--summary-interval", "0", "--max-client-batch-size", str(MAX_CLIENT_BATCH),
             *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace")
        self.lines: list[str] = []
        self.started = threading.Event()
        self.port = self.grpc_port = 0
        threading.Thread(target=self._read, daemon=True).start()
        if not self.started.wait(START_TIMEOUT_S) or not self.grpc_port:
            self.kill()
            pytest.fail("senti serve --grpc-port did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("message") == "senti serve listening":
                self.port, self.grpc_port = event["port"], event.get("grpc_port", 0)
                self.started.set()
        self.started.set()  # exited

    def http(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | str]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=CALL_TIMEOUT_S) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def server(senti_cli: Path):
    s = Server(senti_cli)
    yield s
    s.kill()


@pytest.fixture(scope="module")
def client(server: Server):
    c = grpcclient.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")
    yield c
    c.close()


def http_infer(server: Server, texts: list[str]) -> dict:
    status, answer = server.http("POST", f"/v2/models/{MODEL}/infer",
                                 {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}]})
    assert status == 200, answer
    return {o["name"]: o for o in answer["outputs"]}


def text_input(texts: list[str], shape: list[int] | None = None):
    tensor = grpcclient.InferInput("text", shape or [len(texts)], "BYTES")
    tensor.set_data_from_numpy(np.array([t.encode() for t in texts], dtype=np.object_).reshape(shape or [len(texts)]))
    return tensor


def assert_same_as_http(result, http: dict, exact: bool = True) -> None:
    """The gRPC result (tritonclient InferResult) holds the HTTP answer's outputs: same labels, shapes and scores
    (for the same batch within 1e-6: oneDNN's fp32 GEMM may round the last bit differently from call to call;
    within float noise, 1e-4, when the engine batched the texts differently)."""
    labels = [b.decode() for b in result.as_numpy("label").reshape(-1)]
    score = result.as_numpy("score")
    scores = result.as_numpy("scores")
    assert list(score.shape) == http["score"]["shape"] and list(scores.shape) == http["scores"]["shape"]
    assert score.dtype == np.float32 and scores.dtype == np.float32
    expected_scores = np.array(http["scores"]["data"], dtype=np.float32).reshape(scores.shape)
    if exact:
        assert labels == http["label"]["data"]
        np.testing.assert_allclose(score, np.array(http["score"]["data"], dtype=np.float32), rtol=0, atol=1e-6)
        np.testing.assert_allclose(scores, expected_scores, rtol=0, atol=1e-6)
        return
    np.testing.assert_allclose(scores, expected_scores, rtol=0, atol=1e-4)
    np.testing.assert_allclose(score, np.array(http["score"]["data"], dtype=np.float32), rtol=0, atol=1e-4)
    for i, (got, want) in enumerate(zip(labels, http["label"]["data"])):
        # A different label only where the two top scores tie within the noise.
        top = np.sort(expected_scores[i])[::-1]
        assert got == want or top[0] - top[1] < 2e-4, (i, got, want)


def grpc_error(call) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as info:
        call()
    return info.value


def test_health_and_metadata_equal_http(server: Server, client) -> None:
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(MODEL)
    assert client.is_model_ready(MODEL, "1")
    status, v2 = server.http("GET", "/v2")
    assert status == 200
    meta = client.get_server_metadata(as_json=True)
    assert meta["name"] == v2["name"] == "senti" and meta["version"] == v2["version"]
    status, model = server.http("GET", f"/v2/models/{MODEL}")
    assert status == 200
    got = client.get_model_metadata(MODEL, as_json=True)
    assert got["name"] == model["name"] and got["versions"] == model["versions"] and got["platform"] == model["platform"]
    for kind in ("inputs", "outputs"):
        # The JSON form of int64 shapes is strings (protobuf's JSON mapping).
        assert [{**t, "shape": [int(d) for d in t["shape"]]} for t in got[kind]] == model[kind]
    e = grpc_error(lambda: client.get_model_metadata("no-such-model"))
    assert e.status() == "StatusCode.NOT_FOUND" and "not found" in e.message()
    assert not_ready(lambda: client.is_model_ready("no-such-model"))


def stub_error(client, request) -> tuple[grpc.StatusCode, str]:
    """The status of a ModelInfer sent through Triton's generated stub (no client-side checks)."""
    with pytest.raises(grpc.RpcError) as info:
        client._client_stub.ModelInfer(request, timeout=CALL_TIMEOUT_S)
    return info.value.code(), info.value.details()


def not_ready(call) -> bool:
    try:
        return not call()
    except InferenceServerException as e:
        return e.status() == "StatusCode.NOT_FOUND"


@pytest.mark.parametrize("count", [1, 3, MAX_CLIENT_BATCH])
def test_infer_raw_contents_equals_http(server: Server, client, count: int) -> None:
    texts = review_texts(count, seed=count)
    result = client.infer(MODEL, [text_input(texts)], client_timeout=CALL_TIMEOUT_S)
    assert_same_as_http(result, http_infer(server, texts))
    assert result.get_response().model_name == MODEL


def test_infer_shape_n_by_1_and_requested_outputs(server: Server, client) -> None:
    texts = ["这件衣服的质量真的太棒了", "物流太慢了，等了一个星期"]
    http = http_infer(server, texts)
    result = client.infer(MODEL, [text_input(texts, [2, 1])], outputs=[grpcclient.InferRequestedOutput("scores")],
                          request_id="req-7", client_timeout=CALL_TIMEOUT_S)
    response = result.get_response()
    assert [o.name for o in response.outputs] == ["scores"] and response.id == "req-7"
    assert result.as_numpy("label") is None
    np.testing.assert_allclose(result.as_numpy("scores"),
                               np.array(http["scores"]["data"], dtype=np.float32).reshape(http["scores"]["shape"]),
                               rtol=0, atol=1e-6)  # the same batch: equal up to the last bit (see assert_same_as_http)


def test_infer_bytes_contents_equals_http(server: Server, client) -> None:
    """contents.bytes_contents (what other KServe clients send) through Triton's own generated stub."""
    texts = ["房间干净整洁，早餐也很丰富", "隔音太差，晚上根本睡不着", "还行吧"]
    request = service_pb2.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(name="text", datatype="BYTES", shape=[len(texts)])
    tensor.contents.bytes_contents.extend(t.encode() for t in texts)
    response = client._client_stub.ModelInfer(request, timeout=CALL_TIMEOUT_S)
    assert_same_as_http(grpcclient.InferResult(response), http_infer(server, texts))


def test_infer_analysis_parameters_equal_http(server: Server, client) -> None:
    """tritonclient.grpc's parameters= (bool and string InferParameters) reach the service: the analysis outputs
    equal the HTTP KServe v2 answer's for the same request."""
    texts = ["房间干净整洁。早餐也很丰富！", "隔音太差 but 😀 ok"]
    parameters = {"explain": True, "granularity": "sentence", "long_text": "chunk"}
    result = client.infer(MODEL, [text_input(texts)], parameters=parameters, client_timeout=CALL_TIMEOUT_S)
    status, answer = server.http("POST", f"/v2/models/{MODEL}/infer", {
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}],
        "parameters": parameters})
    assert status == 200, answer
    http = {o["name"]: o for o in answer["outputs"]}
    assert [o.name for o in result.get_response().outputs] == ["label", "score", "scores", "explanation", "sentences",
                                                              "chunks"]
    chunks = result.as_numpy("chunks")
    assert chunks.dtype == np.int64 and list(chunks) == http["chunks"]["data"] == [1, 1]
    for i, text in enumerate(texts):
        got, want = json.loads(result.as_numpy("explanation")[i]), json.loads(http["explanation"]["data"][i])
        assert [(w["text"], w["start"], w["end"]) for w in got] == [(w["text"], w["start"], w["end"]) for w in want]
        assert [w["weight"] for w in got] == pytest.approx([w["weight"] for w in want], abs=1e-4)
        assert all(text[w["start"]:w["end"]] == w["text"] for w in got)
        assert [s["text"] for s in json.loads(result.as_numpy("sentences")[i])] == \
            [s["text"] for s in json.loads(http["sentences"]["data"][i])]
    # The requested outputs only; an analysis output without its parameter is refused.
    result = client.infer(MODEL, [text_input(texts)], parameters={"explain": True},
                          outputs=[grpcclient.InferRequestedOutput("explanation")], client_timeout=CALL_TIMEOUT_S)
    assert result.as_numpy("label") is None and result.as_numpy("explanation").shape == (2,)
    e = grpc_error(lambda: client.infer(MODEL, [text_input(texts)], outputs=[grpcclient.InferRequestedOutput("chunks")],
                                        client_timeout=CALL_TIMEOUT_S))
    assert e.status() == "StatusCode.INVALID_ARGUMENT" and "long_text" in e.message()
    e = grpc_error(lambda: client.infer(MODEL, [text_input(texts)], parameters={"granularity": "paragraph"},
                                        client_timeout=CALL_TIMEOUT_S))
    assert e.status() == "StatusCode.INVALID_ARGUMENT" and "text or sentence" in e.message()


@pytest.mark.parametrize("texts, fragment", [
    ([""], "empty"),
    (["好"] * (MAX_CLIENT_BATCH + 1), "--max-client-batch-size"),
])
def test_invalid_texts_same_error_as_http(server: Server, client, texts: list[str], fragment: str) -> None:
    status, answer = server.http("POST", f"/v2/models/{MODEL}/infer",
                                 {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}]})
    assert status == 422
    e = grpc_error(lambda: client.infer(MODEL, [text_input(texts)], client_timeout=CALL_TIMEOUT_S))
    assert e.status() == "StatusCode.INVALID_ARGUMENT"
    assert e.message() == answer["error"] and fragment in e.message()


def test_bad_requests_status_codes(server: Server, client) -> None:
    e = grpc_error(lambda: client.infer("no-such-model", [text_input(["好"])], client_timeout=CALL_TIMEOUT_S))
    assert e.status() == "StatusCode.NOT_FOUND"
    fp32 = grpcclient.InferInput("text", [2], "FP32")
    fp32.set_data_from_numpy(np.array([1.0, 2.0], dtype=np.float32))
    e = grpc_error(lambda: client.infer(MODEL, [fp32], client_timeout=CALL_TIMEOUT_S))
    assert e.status() == "StatusCode.INVALID_ARGUMENT" and "BYTES" in e.message()
    e = grpc_error(lambda: client.infer(MODEL, [text_input(["好"])], outputs=[grpcclient.InferRequestedOutput("logits")],
                                        client_timeout=CALL_TIMEOUT_S))
    assert e.status() == "StatusCode.INVALID_ARGUMENT" and "unknown output" in e.message()
    # Malformed raw contents: a length field that runs past the end; invalid UTF-8.
    for raw in (b"\x10\x00\x00\x00abc", b"\x02\x00\x00\x00\xff\xfe"):
        request = service_pb2.ModelInferRequest(model_name=MODEL, raw_input_contents=[raw])
        request.inputs.add(name="text", datatype="BYTES", shape=[1])
        code, message = stub_error(client, request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, message
    # The shape says 3, the data has 2.
    request = service_pb2.ModelInferRequest(model_name=MODEL)
    request.inputs.add(name="text", datatype="BYTES", shape=[3]).contents.bytes_contents.extend([b"a", b"b"])
    code, message = stub_error(client, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "shape" in message, message
    # The server still answers.
    assert client.is_server_ready()


def test_load_64_concurrent_equal_http(server: Server, client) -> None:
    texts = review_texts(64, seed=64)
    batches = [texts[i:i + 1 + i % 3] for i in range(64)]
    expected = [http_infer(server, b) for b in batches]
    results: list = [None] * len(batches)
    done = threading.Semaphore(0)

    def callback(i: int):
        def on_done(result, error) -> None:
            results[i] = error if error is not None else result
            done.release()
        return on_done

    for i, batch in enumerate(batches):
        client.async_infer(MODEL, [text_input(batch)], callback(i), client_timeout=CALL_TIMEOUT_S)
    for _ in batches:
        assert done.acquire(timeout=CALL_TIMEOUT_S), "a call did not complete"
    for result, http in zip(results, expected):
        assert not isinstance(result, Exception), result
        assert_same_as_http(result, http, exact=False)
    status, metrics = server.http("GET", "/metrics")
    assert status == 200
    assert 'senti_requests_total{endpoint="/inference.GRPCInferenceService/ModelInfer",code="200"' in metrics


def test_drain_answers_in_flight_calls(senti_cli: Path) -> None:
    """SIGTERM with calls in flight: every one is answered, then the server exits 0."""
    s = Server(senti_cli)
    try:
        c = grpcclient.InferenceServerClient(f"127.0.0.1:{s.grpc_port}")
        texts = review_texts(32, seed=5)
        results: list = []
        lock = threading.Lock()
        done = threading.Semaphore(0)

        def on_done(result, error) -> None:
            with lock:
                results.append(error if error is not None else result)
            done.release()

        for t in texts:
            c.async_infer(MODEL, [text_input([t])], on_done, client_timeout=CALL_TIMEOUT_S)
        time.sleep(0.05)
        s.proc.send_signal(signal.SIGTERM)
        for _ in texts:
            assert done.acquire(timeout=CALL_TIMEOUT_S)
        answered = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, Exception)]
        # Calls that reached the server before the drain are answered; later ones are refused as unavailable.
        assert answered, [str(r) for r in refused]
        assert all("UNAVAILABLE" in str(r) for r in refused), [str(r) for r in refused]
        assert s.proc.wait(CALL_TIMEOUT_S) == 0
        c.close()
    finally:
        s.kill()
