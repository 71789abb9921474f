"""The benchmark harness's own parts: wrk's output parser, payloads, the model builders."""

from __future__ import annotations

import base64
import io
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import onnxruntime as ort
import orjson
import pytest
from benchmarks.scenarios import Case, Scenario
from PIL import Image

from benchmarks import models, payloads, report, wrk

# Printed by wrk 4.1 with --latency against a server answering 400 to everything.
WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:18733/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.09ms    6.10ms  56.70ms   96.61%
    Req/Sec     5.38k     2.34k   10.53k    80.00%
  Latency Distribution
     50%  130.00us
     75%    1.98ms
     90%    4.35ms
     99%   1.06s
  5370 requests in 1.00s, 1.14MB read
  Socket errors: connect 0, read 3, write 1, timeout 7
  Non-2xx or 3xx responses: 5370
Requests/sec:   5348.69
Transfer/sec:      1.14MB
"""


def test_wrk_parser_reads_rate_latencies_and_errors() -> None:
    result = wrk.parse(WRK_OUTPUT)
    assert result.requests == 5370
    assert result.rps == pytest.approx(5348.69)
    assert result.p50_ms == pytest.approx(0.13)
    assert result.p99_ms == pytest.approx(1060.0)
    assert result.non_2xx == 5370
    assert result.socket_errors == 11
    assert result.errors == 5381


def test_wrk_parser_counts_no_errors_when_wrk_prints_none() -> None:
    clean = "\n".join(
        line for line in WRK_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )
    assert wrk.parse(clean).errors == 0


def test_wrk_parser_refuses_output_without_latency_distribution() -> None:
    with pytest.raises(ValueError, match="wrk --latency"):
        wrk.parse("Requests/sec: 10.0\n")


def test_lua_script_posts_the_body_file_with_the_payload_headers(tmp_path: Path) -> None:
    payload = payloads.Payload("/x", b"{}", {"Inference-Header-Content-Length": "2"})
    script = wrk.lua_script(payload, tmp_path / "body.bin")
    assert 'wrk.method = "POST"' in script
    assert str(tmp_path / "body.bin") in script
    assert "[===[application/json]===]" in script
    assert "wrk.headers[ [===[Inference-Header-Content-Length]===] ] = [===[2]===]" in script


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_posts_the_payload_with_its_headers(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, self.headers["Inference-Header-Content-Length"], body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        payload = payloads.Payload(
            "/v2/models/m/infer", b'{"x": 1}\x00\x01', {"Inference-Header-Content-Length": "8"}
        )
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = wrk.run(url, payload, tmp_path, connections=1, duration=1)
    finally:
        server.shutdown()
        server.server_close()
    assert result.requests > 0
    assert result.errors == 0
    assert seen[0] == ("/v2/models/m/infer", "8", b'{"x": 1}\x00\x01')


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, models.ModelInfo]:
    work = tmp_path_factory.mktemp("bench")
    # an empty repository root: no trained model, so both graphs are built
    return models.prepare(work, work / "no-repo")


@pytest.mark.parametrize(("name", "classes"), [("mnist", 10), ("cnn", models.CNN_CLASSES)])
def test_built_models_run_in_onnxruntime(
    built: dict[str, models.ModelInfo], name: str, classes: int
) -> None:
    info = built[name]
    assert info.path == info.path.parent.parent / "1" / "model.onnx"
    assert (info.input_name, info.output_name) == ("images", "probabilities")
    session = ort.InferenceSession(str(info.path), providers=["CPUExecutionProvider"])
    batch = payloads.instances(info.input_shape, count=3)
    (probabilities,) = session.run(["probabilities"], {"images": batch})
    assert probabilities.shape == (3, classes)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(probabilities[0], probabilities[1])  # the input matters


def test_model_shapes_are_the_ones_the_payloads_use(built: dict[str, models.ModelInfo]) -> None:
    assert built["mnist"].input_shape == (784,)
    assert built["cnn"].input_shape == (224, 224, 3)


def test_every_encoding_carries_the_same_numbers() -> None:
    array = payloads.instances((4, 3), count=2)
    tfs = orjson.loads(payloads.make("tfs", "m", "images", array).body)["instances"]
    lit = orjson.loads(payloads.make("litserve", "m", "images", array).body)["instances"]
    v2 = orjson.loads(payloads.make("v2", "m", "images", array).body)["inputs"][0]
    binary = payloads.make("v2-binary", "m", "images", array)
    size = int(binary.headers["Inference-Header-Content-Length"])
    header = orjson.loads(binary.body[:size])["inputs"][0]
    raw = np.frombuffer(binary.body[size:], dtype="<f4").reshape(header["shape"])
    np.testing.assert_array_equal(np.asarray(tfs, dtype=np.float32), array)
    assert lit == tfs
    assert v2["shape"] == [2, 4, 3]
    np.testing.assert_array_equal(np.asarray(v2["data"], dtype=np.float32), array.reshape(-1))
    assert header["parameters"]["binary_data_size"] == array.nbytes
    np.testing.assert_array_equal(raw, array)


def test_b64_payload_holds_the_jpeg_of_the_float_image() -> None:
    pixels, jpeg = payloads.image()
    body = orjson.loads(payloads.make("tfs-b64", "cnn", "images", jpeg=jpeg).body)
    decoded = Image.open(io.BytesIO(base64.b64decode(body["instances"][0]["b64"])))
    assert decoded.size == (224, 224)
    np.testing.assert_allclose(np.asarray(decoded, dtype=np.float32)[None] / 255, pixels, atol=6e-4)


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown protocol"):
        payloads.make("msgpack", "m", "images", np.zeros((1, 2), np.float32))


def test_summary_takes_medians_over_rounds_and_ratios_to_the_reference(tmp_path: Path) -> None:
    scenario = Scenario("s", "title", "mnist", "random", (1,), (), "ref")
    book = report.Book(tmp_path, {"duration": 1, "rounds": 3})
    for label, rates in (("ref", [100.0, 300.0, 200.0]), ("ours", [50.0, 150.0, 160.0])):
        for round_no, rps in enumerate(rates):
            result = wrk.WrkResult(10, rps, 1.0 + round_no, 2.0, non_2xx=1, socket_errors=0)
            book.add(scenario, Case(label, "tfs", label), 1, round_no, 1, result, 50.0)
    book.write()
    rows = {
        r["label"]: r for r in orjson.loads((tmp_path / "results.json").read_bytes())["summary"]
    }
    assert rows["ref"]["rps"] == 200.0
    assert rows["ours"]["rps"] == 150.0
    assert rows["ours"]["ratio"] == pytest.approx(0.75)
    assert rows["ours"]["p50_ms"] == 2.0
    assert rows["ours"]["errors"] == 3
    assert rows["ours"]["req_per_cpu_s"] == 300.0  # 150 req/s at half a core
    assert rows["ours"]["cpu_ratio"] == pytest.approx(0.75)
    table = (tmp_path / "README.md").read_text()
    assert "| ours | mnist | 1 | 150 |" in table
    assert (tmp_path / "plot.png").stat().st_size > 0
    (tmp_path / "README.md").unlink()
    report.Book.load(tmp_path).write()  # --report-only rebuilds the same tables
    assert (tmp_path / "README.md").read_text() == table


def test_baseline_rows_follow_each_modelship_row() -> None:
    from benchmarks.scenarios import scenarios, with_baseline_cases

    mnist = next(s for s in scenarios(1) if s.name == "mnist")
    ab = with_baseline_cases(mnist, "main")
    labels = [c.label for c in ab.cases]
    assert labels[:2] == ["modelship", "modelship @main"]
    assert ab.cases[1].target == "modelship@base"
    assert len(ab.cases) == len(mnist.cases) + sum(
        c.target.startswith("modelship") for c in mnist.cases
    )


def test_baseline_export_runs_that_commits_code(tmp_path: Path) -> None:
    from benchmarks.targets import export_baseline, targets

    source = export_baseline("HEAD", tmp_path)
    assert (source / "modelship" / "__init__.py").is_file()
    table = targets(1, source)
    assert table["modelship@base"].env["PYTHONPATH"] == str(source)
    assert "PYTHONPATH" not in table["modelship"].env
