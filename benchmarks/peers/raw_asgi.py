"""The smallest ASGI app that can answer a TF Serving predict request: the reference servers.

``RAW_MODE=echo`` reads the body, parses it with orjson and returns a fixed answer: the
ceiling of the HTTP stack (uvicorn + httptools + uvloop) on this machine. ``RAW_MODE=onnx``
also runs ``BENCH_MODEL`` (an ONNX file) on the parsed instances with onnxruntime, in the event
loop, and returns its predictions: the minimal server for this job, with no routing, no
validation and no batching. ``RAW_THREADS`` sets onnxruntime's intra-op threads;
``{"b64": ...}`` instances are decoded as JPEG pixels / 255.

Run: ``uvicorn --app-dir benchmarks/peers raw_asgi:app --loop uvloop --http httptools
--no-access-log``, or with granian: ``granian --interface asgi raw_asgi:app`` or, through its
own interface, ``granian --interface rsgi raw_asgi:rsgi_app``.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import numpy as np
import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MODE = os.environ.get("RAW_MODE", "echo")
_JSON = [(b"content-type", b"application/json")]
_FIXED = orjson.dumps({"predictions": [[0.1] * 10]})


def _session() -> tuple[Any, str] | None:
    if MODE != "onnx":
        return None
    import onnxruntime as ort

    options = ort.SessionOptions()
    threads = int(os.environ.get("RAW_THREADS", "0"))  # 0: onnxruntime's default (all cores)
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        os.environ["BENCH_MODEL"], sess_options=options, providers=["CPUExecutionProvider"]
    )
    return session, session.get_inputs()[0].name


_MODEL = _session()


def _decode(instances: list[Any]) -> np.ndarray:
    if instances and isinstance(instances[0], dict):
        from PIL import Image

        images = [
            np.asarray(Image.open(io.BytesIO(base64.b64decode(item["b64"]))).convert("RGB"))
            for item in instances
        ]
        return np.stack(images).astype(np.float32) / 255
    return np.asarray(instances, dtype=np.float32)


def _predict(body: bytes) -> bytes:
    request = orjson.loads(body)
    if _MODEL is None:
        return _FIXED
    session, input_name = _MODEL
    outputs = session.run(None, {input_name: _decode(request["instances"])})
    return orjson.dumps({"predictions": outputs[0]}, option=orjson.OPT_SERIALIZE_NUMPY)


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every POST with a prediction and every GET with 200 (readiness)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["method"] != "POST":
        await _answer(send, 200, b"{}")
        return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    try:
        body = _predict(b"".join(chunks))
    except Exception as exc:  # a reference server still answers bad input with JSON
        await _answer(send, 400, orjson.dumps({"error": str(exc)}))
        return
    await _answer(send, 200, body)


_RSGI_JSON = [("content-type", "application/json")]


class _RsgiApp:
    """The same server on granian's RSGI interface: the body in one await, the answer in one
    call, no message dicts."""

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.method != "POST":
            protocol.response_bytes(200, _RSGI_JSON, b"{}")
            return
        try:
            body = _predict(await protocol())
        except Exception as exc:  # a reference server still answers bad input with JSON
            protocol.response_bytes(400, _RSGI_JSON, orjson.dumps({"error": str(exc)}))
            return
        protocol.response_bytes(200, _RSGI_JSON, body)


rsgi_app = _RsgiApp()
