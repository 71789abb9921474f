"""A runtime's out-of-memory failure, recognised whatever framework raised it.

A GPU that runs out of memory for one request is no bug of the server and no fault of the
client's input: that request answers RESOURCE_EXHAUSTED (HTTP 503) and the next one is served.
Frameworks are recognised by their exception types' names, so none is imported here.
"""

from __future__ import annotations

from modelship.errors import DeviceOutOfMemory

__all__ = ["as_out_of_memory"]

# (top-level module, exception class name) of each framework's own out-of-memory type.
_OOM_TYPES = {("torch", "OutOfMemoryError"), ("tensorflow", "ResourceExhaustedError")}
# onnxruntime raises one RuntimeException type for everything; its message tells OOM apart.
_ORT_MARKERS = ("failed to allocate memory", "out of memory", "cudnn_status_alloc_failed")


def as_out_of_memory(exc: BaseException) -> DeviceOutOfMemory | None:
    """``exc`` as a :class:`DeviceOutOfMemory` if it says a device ran out of memory, else None."""
    text = str(exc).strip()
    kinds = type(exc).__mro__
    if any((k.__module__.partition(".")[0], k.__name__) in _OOM_TYPES for k in kinds):
        return _error(text)
    if type(exc).__module__.startswith("onnxruntime") and any(
        marker in text.lower() for marker in _ORT_MARKERS
    ):
        return _error(text)
    return None


def _error(text: str) -> DeviceOutOfMemory:
    first_line = text.splitlines()[0] if text else "no details"
    return DeviceOutOfMemory(
        f"the model ran out of device memory for this request; retry later or send a smaller "
        f"batch ({first_line[:300]})"
    )
