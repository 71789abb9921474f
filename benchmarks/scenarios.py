"""What is measured: which targets, with which request encodings, at which concurrency."""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Case", "Scenario", "scenarios", "with_baseline_cases"]


@dataclass(frozen=True)
class Case:
    """One row family of a table: a target sent one request encoding by one load generator."""

    target: str
    encoding: str  # tfs | tfs-b64 | v2 | v2-binary | litserve | torchserve | grpc-v2 | grpc-tfs
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


def scenarios(workers: int) -> list[Scenario]:
    """The benchmark's scenarios for ``workers`` workers per server."""
    mlserver = f"mlserver(pw={workers})"
    mnist_cases = [
        Case("modelship", "tfs", "modelship"),
        Case("modelship-1t", "tfs", "modelship, 1 onnxruntime thread"),
        Case("raw-echo", "tfs", "raw ASGI (no model)"),
        Case("raw-onnx", "tfs", "raw ASGI + onnxruntime"),
        Case("raw-onnx-1t", "tfs", "raw ASGI + onnxruntime, 1 thread"),
        Case(mlserver, "v2", mlserver),
        Case("litserve", "litserve", "litserve"),
        Case("kserve", "tfs", "kserve"),
        Case("bentoml", "litserve", "bentoml"),
        Case("triton", "v2", "triton (pytriton)"),
        Case("torchserve", "torchserve", "torchserve"),
    ]
    if workers == 1:
        mnist_cases.insert(6, Case("mlserver(pw=0)", "v2", "mlserver(pw=0)"))
    streams = 8  # calls per HTTP/2 connection: gRPC clients multiplex, 64 calls on 8 connections
    grpc_native = [
        Case("modelship+grpc", "grpc-v2", "modelship gRPC V2 (h2load)", "h2load", streams),
        Case("modelship+grpc", "grpc-tfs", "modelship gRPC TFS (h2load)", "h2load", streams),
        Case("modelship+grpc", "v2", "modelship REST V2 (wrk)"),
        Case("modelship+grpc", "tfs", "modelship REST TFS predict (wrk)"),
        Case("raw-echo", "tfs", "raw ASGI (no model, wrk)"),
    ]
    grpc_native += [
        Case("kserve+grpc", "grpc-v2", "kserve gRPC V2 (h2load)", "h2load", streams),
        Case("kserve+grpc", "v2", "kserve REST V2 (wrk)"),
        Case("triton+grpc", "grpc-v2", "triton gRPC V2 (h2load)", "h2load", streams),
        Case("triton+grpc", "v2", "triton REST V2 (wrk)"),
        Case(f"{mlserver}+grpc", "grpc-v2", f"{mlserver} gRPC V2 (h2load)", "h2load", streams),
    ]
    if workers == 1:  # the raw gRPC servers have one process
        grpc_native += [
            Case("raw-grpc-aio", "grpc-v2", "raw grpc.aio (no model, h2load)", "h2load", streams),
            Case("raw-grpc-sync", "grpc-v2", "raw grpc sync (no model, h2load)", "h2load", streams),
        ]
    return [
        Scenario(
            "mnist",
            "MNIST MLP, one instance per request, JSON",
            "mnist",
            "random",
            (1, 16, 64),
            tuple(mnist_cases),
            "raw ASGI + onnxruntime",
        ),
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
            min_duration=10.0,
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
            min_duration=10.0,
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
        ),
        Scenario(
            "grpc-native",
            "MNIST MLP over gRPC (h2load) vs REST (wrk), native load generators on both sides",
            "mnist",
            "random",
            (16, 64),
            tuple(grpc_native),
            "modelship REST V2 (wrk)",
        ),
    ]


def with_baseline_cases(scenario: Scenario, ref: str) -> Scenario:
    """``scenario`` with each modelship row followed by the same row on the ``ref`` code
    (target ``<name>@base``, label ``<label> @<ref>``), so rounds alternate A and B."""
    cases: list[Case] = []
    for case in scenario.cases:
        cases.append(case)
        if case.target.startswith("modelship"):
            cases.append(replace(case, target=case.target + "@base", label=f"{case.label} @{ref}"))
    return replace(scenario, cases=tuple(cases))
