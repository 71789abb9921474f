"""Server-side image preprocessing: encoded JPEG/PNG images to a model batch, prepared exactly
as in training, on a thread pool (Pillow releases the GIL) so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from modelship.codecs.limits import (
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MAX_IMAGE_REQUEST_BYTES,
    DEFAULT_MAX_IMAGE_SIDE,
)
from modelship.codecs.tfs_json import is_b64
from modelship.data.images import ImagePreprocessing, prepare
from modelship.errors import InvalidInput, ModelshipError, RequestTooLarge
from modelship.manifest import Manifest
from modelship.signature import Arrays, Signature

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "ImageDecoder",
    "ImageLimits",
    "decode_image",
    "image_spec",
]

# Pillow holds a decoded RGB pixel in 4 bytes.
_DECODED_PIXEL_BYTES = 4


@dataclass(frozen=True)
class ImageLimits:
    """How large the images of one request may be, checked from their headers."""

    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_side: int = DEFAULT_MAX_IMAGE_SIDE
    max_request_bytes: int = DEFAULT_MAX_IMAGE_REQUEST_BYTES


class _Budget:
    """The decoded bytes a request's images may still take; images of one request decode on
    several threads, so each reserves its share before it decodes."""

    def __init__(self, limit: int) -> None:
        self.limit, self.taken = limit, 0
        self._lock = threading.Lock()

    def take(self, size: int) -> None:
        with self._lock:
            if self.taken + size > self.limit:
                raise RequestTooLarge(
                    f"the request's images would take more than {self.limit} bytes decoded "
                    f"({self.taken + size} so far); send fewer or smaller images, or raise "
                    "--max_image_request_bytes"
                )
            self.taken += size


def image_spec(manifest: Manifest | None) -> ImagePreprocessing | None:
    """A version's image preprocessing, or ``None`` for a model that takes plain tensors."""
    return ImagePreprocessing.from_json(manifest.preprocessing) if manifest is not None else None


def _b64_bytes(index: int, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value  # a string tensor element from gRPC or the Open Inference Protocol
    if not is_b64(value) or not isinstance(value["b64"], str):
        raise InvalidInput(
            f'instance {index}: expected {{"b64": "<base64 JPEG or PNG>"}} like the first one'
        )
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"instance {index}: the b64 value is not valid base64 ({exc})") from exc


def decode_image(
    data: bytes,
    spec: ImagePreprocessing,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    limits: ImageLimits | None = None,
    budget: _Budget | None = None,
) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Encoded image bytes as resized 8-bit RGB ``H x W x 3``; the limits are checked from the
    header, before anything is decoded."""
    if not data:
        raise InvalidInput("the image is empty (0 bytes)")
    limits = limits if limits is not None else ImageLimits(max_pixels=max_pixels)
    try:
        with Image.open(io.BytesIO(data)) as image:
            _check_size(image, spec, limits, budget)
            return prepare(image, spec)
    except ModelshipError:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidInput(f"the image is too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput(
            "the bytes are not an image Pillow can read; send a JPEG or PNG file's bytes, "
            "base64-encoded"
        ) from exc
    except Exception as exc:
        # Truncated, corrupt and hostile files fail while decoding, and Pillow's many parsers
        # fail each in their own way (OSError, SyntaxError, TypeError, NotImplementedError,
        # OverflowError...): the client sent a file that is not a usable image.
        raise InvalidInput(
            f"the image cannot be decoded (truncated or corrupt?): {type(exc).__name__}: {exc}"
        ) from exc


def _check_size(
    image: Image.Image, spec: ImagePreprocessing, limits: ImageLimits, budget: _Budget | None
) -> None:
    width, height = image.size
    if width * height > limits.max_pixels:
        raise RequestTooLarge(
            f"the image is {width}x{height} = {width * height} pixels, more than the "
            f"limit of {limits.max_pixels}; send it smaller (the model uses "
            f"{spec.size[1]}x{spec.size[0]}) or raise --max_image_pixels"
        )
    if max(width, height) > limits.max_side:
        raise RequestTooLarge(
            f"the image is {width}x{height}: a side longer than the limit of "
            f"{limits.max_side} pixels; send it smaller or raise --max_image_side"
        )
    if budget is not None:
        scale = 1
        if image.format == "JPEG":  # decoded at a reduced scale (see prepare)
            h, w = spec.size
            while scale < 8 and width // (scale * 2) >= 2 * w and height // (scale * 2) >= 2 * h:
                scale *= 2
        budget.take((width // scale) * (height // scale) * _DECODED_PIXEL_BYTES)


class ImageDecoder:
    """Decodes batches of encoded images on a dedicated thread pool (``threads`` 0: one per
    core, at most 4)."""

    def __init__(
        self,
        max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
        threads: int = 0,
        max_side: int = DEFAULT_MAX_IMAGE_SIDE,
        max_request_bytes: int = DEFAULT_MAX_IMAGE_REQUEST_BYTES,
    ) -> None:
        self.max_pixels = max_pixels
        self.limits = ImageLimits(max_pixels, max_side, max_request_bytes)
        workers = threads or max(1, min(4, os.cpu_count() or 1))
        # Threads start lazily, so a server that never sees an image pays nothing.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image-decode")

    def _decode_one(
        self, index: int, value: Any, spec: ImagePreprocessing, budget: _Budget
    ) -> np.ndarray[Any, Any]:
        try:
            data = _b64_bytes(index, value)
            return decode_image(data, spec, self.max_pixels, self.limits, budget)
        except InvalidInput as exc:
            if exc.message.startswith("instance "):
                raise
            raise type(exc)(f"instance {index}: {exc.message}") from exc

    async def decode(self, values: list[Any], spec: ImagePreprocessing) -> np.ndarray[Any, Any]:
        """Encoded images (bytes or ``{"b64": ...}``) as one float32 model batch, in order."""
        loop = asyncio.get_running_loop()
        budget = _Budget(self.limits.max_request_bytes)
        tasks = [
            loop.run_in_executor(self._pool, self._decode_one, i, value, spec, budget)
            for i, value in enumerate(values)
        ]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return spec.to_tensor(np.stack(results))  # type: ignore[arg-type]

    async def decode_inputs(
        self, inputs: Arrays, signature: Signature, spec: ImagePreprocessing
    ) -> Arrays:
        """``inputs`` with each input that holds objects where the signature wants numbers
        decoded as encoded images, one per example (shape ``[batch]``)."""
        out = dict(inputs)
        for name, value in inputs.items():
            tensor = signature.inputs.get(name)
            if tensor is None or value.dtype.kind != "O" or tensor.numpy_dtype.kind == "O":
                continue
            if value.ndim != 1:
                raise InvalidInput(
                    f"input {name!r}: send one encoded image per example (shape [batch]), "
                    f"got shape {list(value.shape)}"
                )
            out[name] = await self.decode(list(value), spec)
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
