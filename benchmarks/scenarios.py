"""What is measured: which targets, with which request encodings, at which concurrency."""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Case", "Scenario", "scenarios", "with_baseline_cases"]


@dataclass(frozen=True)
class Case:
    """One row family of a table: a target sent one request encoding by one load generator."""

    target: str
    encoding: str  # tfs | tfs-b64 | v2 | v2-binary | litserve | torchserve | grpc-*
    label: str
    loadgen: str = "wrk"  # wrk | h2load (gRPC) | python (the Python comparison, both sides)
    # h2load: calls in flight per HTTP/2 connection; "conn" counts calls in flight, so
    # 64 means 64 / streams connections
    streams: int = 1


@dataclass(frozen=True)
class Scenario:
    """A model, the inputs sent, the connection counts, and the rows to compare."""

    name: str
    title: str
    model: str
    data: str  # "random": one random instance; "image": the photo-like 224x224x3 image
    connections: tuple[int, ...]
    cases: tuple[Case, ...]
    reference: str  # the label whose req/s is the denominator of the ratios
    # 1 MB JSON images take long enough that short runs would complete next to no requests
    min_duration: float = 0.0
    # secondary scenarios run for --secondary-duration seconds per measurement, not --duration
    secondary: bool = False
    rows: int = 1  # instances per request ("random" data)


STREAMS = 8  # calls per HTTP/2 connection: gRPC clients multiplex, 64 calls on 8 connections


def _grpc(target: str, encoding: str, label: str) -> Case:
    return Case(target, encoding, label, "h2load", STREAMS)


def _mnist_cases(workers: int, full: bool) -> list[Case]:
    """Every server on the MLP: REST, and gRPC where the server has it (same process)."""
    mlserver = f"mlserver(pw={workers})"
    cases = [
        Case("modelship", "tfs", "modelship"),
        Case("raw-echo", "tfs", "raw ASGI (no model)"),
        Case("raw-onnx", "tfs", "raw ASGI + onnxruntime"),
        # the same two on granian (a Rust HTTP server) instead of uvicorn + httptools
        Case("modelship-granian", "tfs", "modelship on granian"),
        Case("raw-onnx-granian", "tfs", "raw ASGI on granian + onnxruntime"),
        Case(f"{mlserver}+grpc", "v2", mlserver),
        _grpc(f"{mlserver}+grpc", "grpc-v2", f"{mlserver} gRPC"),
        Case("litserve", "litserve", "litserve"),
        Case("kserve+grpc", "tfs", "kserve"),
        _grpc("kserve+grpc", "grpc-v2", "kserve gRPC"),
        Case("bentoml", "litserve", "bentoml"),
        Case("triton+grpc", "v2", "triton (pytriton)"),
        _grpc("triton+grpc", "grpc-v2", "triton (pytriton) gRPC"),
        Case("torchserve+grpc", "torchserve", "torchserve"),
        _grpc("torchserve+grpc", "grpc-torchserve", "torchserve gRPC"),
    ]
    if workers == 1:  # MLServer's other documented setting: inference in the HTTP process
        after = cases.index(Case(f"{mlserver}+grpc", "v2", mlserver)) + 2  # after its gRPC row
        cases.insert(after, Case("mlserver(pw=0)", "v2", "mlserver(pw=0)"))
    if full:
        cases[1:1] = [
            Case("modelship-1t", "tfs", "modelship, 1 onnxruntime thread"),
            Case("raw-onnx-1t", "tfs", "raw ASGI + onnxruntime, 1 thread"),
            Case("raw-echo-granian", "tfs", "raw ASGI on granian (no model)"),
            Case("raw-onnx-granian-rsgi", "tfs", "raw RSGI on granian + onnxruntime"),
        ]
    return cases


def _grpc_native_cases(workers: int) -> list[Case]:
    cases = [
        _grpc("modelship+grpc", "grpc-v2", "modelship gRPC V2 (h2load)"),
        _grpc("modelship+grpc", "grpc-tfs", "modelship gRPC TFS (h2load)"),
        Case("modelship+grpc", "v2", "modelship REST V2 (wrk)"),
        Case("modelship+grpc", "tfs", "modelship REST TFS predict (wrk)"),
        Case("raw-echo", "tfs", "raw ASGI (no model, wrk)"),
    ]
    if workers == 1:  # the raw gRPC servers have one process
        cases += [
            _grpc("raw-grpc-aio", "grpc-v2", "raw grpc.aio (no model, h2load)"),
            _grpc("raw-grpc-sync", "grpc-v2", "raw grpc sync (no model, h2load)"),
        ]
    return cases


def _modelship_protocols(suffix: str, rest_v2: str) -> tuple[Case, ...]:
    """modelship's gRPC and REST predict on one server: V2 and TF Serving on each side."""
    return (
        _grpc("modelship+grpc", "grpc-v2", f"modelship gRPC V2{suffix}"),
        _grpc("modelship+grpc", "grpc-tfs", f"modelship gRPC TFS{suffix}"),
        Case("modelship+grpc", "tfs", f"modelship REST TFS predict{suffix}"),
        Case("modelship+grpc", rest_v2, f"modelship REST V2{suffix}"),
    )


def scenarios(workers: int, full: bool = False) -> list[Scenario]:
    """The benchmark's scenarios for ``workers`` workers per server.

    The default set measures what the speed targets are judged on (see ``goals.py``) within
    about half an hour on a 2-core machine; ``full`` adds connection counts, the
    one-thread rows and the Python-client gRPC comparison.
    """
    mlserver = f"mlserver(pw={workers})"
    found = [
        Scenario(
            "mnist",
            "MNIST MLP, one instance per request: every server, REST and gRPC",
            "mnist",
            "random",
            (1, 16, 64) if full else (64,),
            tuple(_mnist_cases(workers, full)),
            "raw ASGI + onnxruntime",
        ),
        Scenario(
            "grpc-native",
            "MNIST MLP over gRPC (h2load) vs REST (wrk), native load generators on both sides",
            "mnist",
            "random",
            (16, 64) if full else (64,),
            tuple(_grpc_native_cases(workers)),
            "modelship REST TFS predict (wrk)",
        ),
        Scenario(
            "grpc-batch",
            "MNIST MLP, 8 instances per request: modelship's gRPC vs its REST predict",
            "mnist",
            "random",
            (16, 64) if full else (64,),
            _modelship_protocols(" (8 rows)", "v2"),
            "modelship REST TFS predict (8 rows)",
            secondary=True,
            rows=8,
        ),
        Scenario(
            "grpc-image",
            "CNN 224x224x3, one image per request: modelship's gRPC vs its REST predict",
            "cnn",
            "image",
            (16,),
            _modelship_protocols(" (image)", "v2-binary"),
            "modelship REST TFS predict (image)",
            secondary=True,
            min_duration=5.0,
        ),
    ]
    if full:
        found += [
            Scenario(
                "cnn-batching",
                "CNN 224x224x3, one image per request as JSON floats, with and without batching",
                "cnn",
                "image",
                (32,),
                (
                    Case("modelship", "tfs", "modelship"),
                    Case("modelship+batch", "tfs", "modelship +batching"),
                    Case("raw-onnx", "tfs", "raw ASGI + onnxruntime"),
                    Case(mlserver, "v2", mlserver),
                    Case(f"{mlserver}+batch", "v2", f"{mlserver} +adaptive batching"),
                    Case("litserve", "litserve", "litserve"),
                    Case("litserve+batch", "litserve", "litserve +batching"),
                ),
                "raw ASGI + onnxruntime",
                secondary=True,
                min_duration=5.0,
            ),
            Scenario(
                "image-encoding",
                "CNN 224x224x3, one image per request: JSON floats vs b64 JPEG vs V2 binary tensor",
                "cnn",
                "image",
                (16,),
                (
                    Case("modelship", "tfs", "modelship JSON"),
                    Case("modelship", "tfs-b64", "modelship b64 JPEG"),
                    Case("modelship", "v2-binary", "modelship V2 binary"),
                    Case("raw-onnx", "tfs", "raw ASGI + onnxruntime JSON"),
                    Case("raw-onnx", "tfs-b64", "raw ASGI + onnxruntime b64 JPEG"),
                    Case(mlserver, "v2", f"{mlserver} V2 JSON"),
                    Case(mlserver, "v2-binary", f"{mlserver} V2 binary"),
                ),
                "raw ASGI + onnxruntime JSON",
                secondary=True,
                min_duration=5.0,
            ),
            Scenario(
                "grpc",
                "MNIST MLP over gRPC (V2 ModelInfer) vs REST (V2 JSON), same Python load generator",
                "mnist",
                "random",
                (16,),
                (
                    Case("modelship+grpc", "grpc-v2", "modelship gRPC (py)", "python"),
                    Case("modelship+grpc", "v2", "modelship REST V2 (py)", "python"),
                    Case(f"{mlserver}+grpc", "grpc-v2", f"{mlserver} gRPC (py)", "python"),
                    Case(f"{mlserver}+grpc", "v2", f"{mlserver} REST V2 (py)", "python"),
                ),
                f"{mlserver} REST V2 (py)",
                secondary=True,
            ),
        ]
    return found


def with_baseline_cases(scenario: Scenario, ref: str) -> Scenario:
    """``scenario`` with each modelship row followed by the same row on the ``ref`` code
    (target ``<name>@base``, label ``<label> @<ref>``), so rounds alternate A and B."""
    cases: list[Case] = []
    for case in scenario.cases:
        cases.append(case)
        if case.target.startswith("modelship"):
            cases.append(replace(case, target=case.target + "@base", label=f"{case.label} @{ref}"))
    return replace(scenario, cases=tuple(cases))
