"""Server-side image preprocessing: encoded JPEG/PNG images to a model batch, prepared exactly
as in training, on a thread pool (Pillow releases the GIL) so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from modelship.codecs.tfs_json import is_b64
from modelship.data.images import ImagePreprocessing, prepare
from modelship.errors import InvalidInput
from modelship.manifest import Manifest
from modelship.signature import Arrays, Signature

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS", "ImageDecoder", "decode_image", "image_spec"]

# 40 megapixels: bigger than any phone photo, small enough that one request cannot take
# gigabytes of memory (a decoded RGB pixel takes 3 bytes, plus the resize's working copy).
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000


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
    data: bytes, spec: ImagePreprocessing, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Encoded image bytes as resized 8-bit RGB ``H x W x 3``; ``max_pixels`` is checked from
    the header, before anything is decoded."""
    if not data:
        raise InvalidInput("the image is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidInput(
                    f"the image is {width}x{height} = {width * height} pixels, more than the "
                    f"limit of {max_pixels}; send it smaller (the model uses "
                    f"{spec.size[1]}x{spec.size[0]}) or raise --max_image_pixels"
                )
            return prepare(image, spec)
    except Image.DecompressionBombError as exc:
        raise InvalidInput(f"the image is too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput(
            "the bytes are not an image Pillow can read; send a JPEG or PNG file's bytes, "
            "base64-encoded"
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # Truncated and corrupt files fail while decoding, with OSError (or SyntaxError for
        # some malformed PNG chunks); the client sent a broken file, not a bad server.
        raise InvalidInput(f"the image cannot be decoded (truncated or corrupt?): {exc}") from exc


class ImageDecoder:
    """Decodes batches of encoded images on a dedicated thread pool (``threads`` 0: one per
    core, at most 4)."""

    def __init__(self, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS, threads: int = 0) -> None:
        self.max_pixels = max_pixels
        workers = threads or max(1, min(4, os.cpu_count() or 1))
        # Threads start lazily, so a server that never sees an image pays nothing.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image-decode")

    def _decode_one(self, index: int, value: Any, spec: ImagePreprocessing) -> np.ndarray[Any, Any]:
        try:
            return decode_image(_b64_bytes(index, value), spec, self.max_pixels)
        except InvalidInput as exc:
            if exc.message.startswith("instance "):
                raise
            raise InvalidInput(f"instance {index}: {exc.message}") from exc

    async def decode(self, values: list[Any], spec: ImagePreprocessing) -> np.ndarray[Any, Any]:
        """Encoded images (bytes or ``{"b64": ...}``) as one float32 model batch, in order."""
        loop = asyncio.get_running_loop()
        tasks = [
            loop.run_in_executor(self._pool, self._decode_one, i, value, spec)
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
