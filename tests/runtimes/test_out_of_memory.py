"""Each framework's out-of-memory failure is recognised; other failures are not."""

from __future__ import annotations

import pytest
import torch
from onnxruntime.capi.onnxruntime_pybind11_state import Fail, RuntimeException

from modelship.errors import DeviceOutOfMemory
from modelship.runtimes.out_of_memory import as_out_of_memory


@pytest.mark.parametrize(
    "exc",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeException(
            "Non-zero status code returned while running Conv node. Status Message: "
            "Failed to allocate memory for requested buffer of size 1073741824"
        ),
        RuntimeException("CUDA failure 2: out of memory ; GPU=0"),
    ],
)
def test_out_of_memory_is_resource_exhausted(exc: Exception) -> None:
    mapped = as_out_of_memory(exc)
    assert isinstance(mapped, DeviceOutOfMemory)
    assert mapped.code == "RESOURCE_EXHAUSTED"
    assert mapped.message.startswith("the model ran out of device memory for this request")
    assert str(exc).splitlines()[0][:40] in mapped.message


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("CUDA out of memory"),  # not a framework's own type
        Fail("[ONNXRuntimeError] : 1 : FAIL : shape mismatch"),
        RuntimeException("Non-zero status code returned while running Reshape node"),
        ValueError("bad"),
    ],
)
def test_other_failures_are_not(exc: Exception) -> None:
    assert as_out_of_memory(exc) is None
