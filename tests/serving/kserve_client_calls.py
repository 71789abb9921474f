"""Calls KServe's inference clients make, run in a process of their own.

``kserve`` registers the Open Inference Protocol's messages (package ``inference``) in
protobuf's default pool, as ``tritonclient`` does: one process cannot import both, so the
KServe tests run this module with ``python -m`` and read one JSON object from its output:
call name -> its result, or ``{"error": ...}``.

Usage: ``python -m tests.serving.kserve_client_calls REST_URL GRPC_TARGET``
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig


def _pair_request(binary: bool) -> InferRequest:
    inputs = []
    for name, value in (("a", [[1.0, 2.0, 3.0]]), ("b", [[4.0, 5.0, 6.0]])):
        tensor = InferInput(name, [1, 3], "FP32")
        tensor.set_data_from_numpy(np.array(value, dtype=np.float32), binary_data=binary)
        inputs.append(tensor)
    return InferRequest(model_name="pair", infer_inputs=inputs, request_id="k-1")


def _outputs(response: Any) -> dict[str, Any]:
    return {o.name: o.as_numpy().tolist() for o in response.outputs}


async def _calls(rest_url: str, grpc_target: str) -> dict[str, Any]:
    v2 = InferenceRESTClient(RESTConfig(protocol="v2"))
    v1 = InferenceRESTClient(RESTConfig(protocol="v1"))
    grpc = InferenceGRPCClient(grpc_target)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "rest.is_server_live": lambda: v2.is_server_live(rest_url),
        "rest.is_server_ready": lambda: v2.is_server_ready(rest_url),
        "rest.is_model_ready": lambda: v2.is_model_ready(rest_url, "pair"),
        "rest.is_model_ready(absent)": lambda: v2.is_model_ready(rest_url, "absent"),
        "rest.infer": lambda: _rest(v2.infer(rest_url, _pair_request(False), "pair")),
        "rest.infer(binary)": lambda: _rest(v2.infer(rest_url, _pair_request(True), "pair")),
        "rest.infer(absent)": lambda: v2.infer(rest_url, _pair_request(False), "absent"),
        "rest.v1.is_server_live": lambda: v1.is_server_live(rest_url),
        "rest.v1.is_model_ready": lambda: v1.is_model_ready(rest_url, "pair"),
        "rest.v1.infer": lambda: v1.infer(
            rest_url, {"instances": [{"a": [1, 2, 3], "b": [1, 1, 1]}]}, "pair"
        ),
        "grpc.is_server_live": grpc.is_server_live,
        "grpc.is_server_ready": grpc.is_server_ready,
        "grpc.is_model_ready": lambda: grpc.is_model_ready("pair"),
        "grpc.infer": lambda: _grpc(grpc.infer(_pair_request(False))),
        "grpc.infer(absent)": lambda: grpc.infer(
            InferRequest("absent", _pair_request(False).inputs)
        ),
    }
    results: dict[str, Any] = {}
    for name, call in calls.items():
        try:
            results[name] = await call()
        except Exception as exc:
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    await v2.close()
    await v1.close()
    await grpc.close()
    return results


async def _rest(response: Awaitable[Any]) -> dict[str, Any]:
    return _outputs(await response)


async def _grpc(response: Awaitable[Any]) -> dict[str, Any]:
    return _outputs(await response)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_calls(sys.argv[1], sys.argv[2]))))
