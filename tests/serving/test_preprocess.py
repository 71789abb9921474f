"""Decoding b64 images for image models: shapes of requests, and every kind of bad input."""

from __future__ import annotations

import asyncio
import base64
import io
import random
import zlib

import numpy as np
import pytest
from PIL import Image

from modelship.codecs.tfs_json import find_images, images_array
from modelship.data.images import ImagePreprocessing
from modelship.errors import InvalidInput, RequestTooLarge
from modelship.serving.preprocess import ImageDecoder, decode_image
from modelship.signature import Signature, TensorSpec

SPEC = ImagePreprocessing(size=(16, 16))
SIGNATURE = Signature(
    inputs={"images": TensorSpec("float32", (-1, 16, 16, 3))},
    outputs={"probabilities": TensorSpec("float32", (-1, 4))},
)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def b64(data: bytes) -> dict[str, str]:
    return {"b64": base64.b64encode(data).decode()}


RED = Image.new("RGB", (40, 30), (255, 0, 0))


@pytest.mark.parametrize(
    "body",
    [
        {"instances": [b64(b"x")]},
        {"instances": [{"images": b64(b"x")}]},
        {"inputs": b64(b"x")},
        {"inputs": [b64(b"x")]},
        {"inputs": {"images": [b64(b"x")]}},
    ],
)
def test_finds_b64_images_in_every_request_shape(body: dict[str, object]) -> None:
    found = find_images(body, SIGNATURE)
    assert found is not None
    name, values, row_format = found
    assert name == "images"
    assert values == [b64(b"x")]
    assert row_format == ("instances" in body)


@pytest.mark.parametrize(
    "body",
    [
        {"instances": [[[[0.0] * 3] * 16] * 16]},
        {"instances": [b64(b"x")], "inputs": [b64(b"x")]},
        {},
        [b64(b"x")],
        {"instances": []},
    ],
)
def test_leaves_other_requests_to_the_tensor_parser(body: object) -> None:
    assert find_images(body, SIGNATURE) is None


def test_decodes_jpeg_and_png_to_the_model_size() -> None:
    for fmt in ("JPEG", "PNG"):
        pixels = decode_image(encode(RED, fmt), SPEC)
        assert pixels.shape == (16, 16, 3)
        assert pixels.dtype == np.uint8
        assert pixels[8, 8, 0] > 240
        assert pixels[8, 8, 1] < 15


@pytest.mark.parametrize(
    ("image", "fmt", "expected"),
    [
        (Image.new("CMYK", (20, 20), (255, 0, 255, 0)), "JPEG", (0, 255, 0)),
        (Image.fromarray(np.full((20, 20), 65535, dtype=np.uint16)), "PNG", (255, 255, 255)),
        (Image.new("RGBA", (20, 20), (0, 0, 255, 255)), "PNG", (0, 0, 255)),
        (Image.new("LA", (20, 20), (0, 0)), "PNG", (255, 255, 255)),
        (Image.new("RGB", (20, 20), (0, 0, 255)).convert("P"), "PNG", (0, 0, 255)),
        (Image.new("RGB", (20, 20), (0, 255, 0)).convert("P"), "GIF", (0, 255, 0)),
    ],
    ids=["cmyk-jpeg", "16-bit-png", "rgba-png", "transparent-la-png", "palette-png", "gif"],
)
def test_converts_unusual_modes_instead_of_refusing(
    image: Image.Image, fmt: str, expected: tuple[int, int, int]
) -> None:
    pixels = decode_image(encode(image, fmt), SPEC)
    assert pixels.shape == (16, 16, 3)
    np.testing.assert_allclose(pixels[8, 8], expected, atol=12)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, not an image", "not an image"),
        (encode(Image.new("RGB", (64, 64), (9, 9, 9)), "JPEG")[:300], "truncated"),
        (encode(Image.new("RGB", (64, 64)), "PNG")[:60], "truncated"),
    ],
    ids=["empty", "not-an-image", "truncated-jpeg", "truncated-png"],
)
def test_bad_bytes_are_invalid_input(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode_image(data, SPEC)


# Files whose parsers fail with more than OSError: a DDS of an unknown pixel format
# (NotImplementedError), a TIFF without its dimensions (TypeError). Found by mutating bytes.
HOSTILE = {
    "dds": "eNpzcQlWqGFgYOAXYGBgA9IcQKzAQB4A6WNEYjMw/IchCEcAU4+cCNd/KmCEOf/JN4eRDD0A1SNA8Q==",
    "tiff": "eNrz9NRi4GBgYOBiYGBkYWAEskA8RiibDYiZGJkZmIF0GxAzA9kgcbAclM0ExIJQ9T1ALAoVB+kRQ"
    "zJHHMqeAMQySOaACA4w5BKRw4Juy2EXJxH9xyNbj10cAKyiEMA=",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_files_that_break_pillow_are_invalid_input(name: str) -> None:
    data = zlib.decompress(base64.b64decode(HOSTILE[name]))
    with pytest.raises(InvalidInput, match=r"cannot be decoded.*(NotImplementedError|TypeError)"):
        decode_image(data, SPEC)


def test_mutated_files_of_every_format_are_invalid_input_or_images() -> None:
    rng = random.Random(7)
    formats = "TIFF:RGB TIFF:LAB DDS:RGBA PNG:RGB GIF:P BMP:RGB ICO:RGBA WEBP:RGB JPEG:RGB"
    seeds = []
    for item in formats.split():
        fmt, mode = item.split(":")
        seeds.append(encode(Image.new(mode, (8, 6)), fmt))
    refused = 0
    for _ in range(600):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            assert decode_image(bytes(data), SPEC, max_pixels=1_000_000).shape == (16, 16, 3)
        except InvalidInput:
            refused += 1
    assert refused > 100  # the mutations do break files


def test_sides_and_a_request_s_decoded_bytes_are_limited() -> None:
    strip = encode(Image.new("L", (20_000, 1)), "PNG")  # 20,000 pixels, within the pixel limit
    with pytest.raises(RequestTooLarge, match=r"20000x1: a side longer.*--max_image_side"):
        decode_image(strip, SPEC)
    decoder = ImageDecoder(threads=2, max_request_bytes=3 * 100 * 100 * 4)
    try:
        square = b64(encode(Image.new("RGB", (100, 100)), "PNG"))
        assert asyncio.run(decoder.decode([square] * 3, SPEC)).shape == (3, 16, 16, 3)
        with pytest.raises(RequestTooLarge, match=r"instance \d: .*--max_image_request_bytes"):
            asyncio.run(decoder.decode([square] * 4, SPEC))
    finally:
        decoder.close()


def test_pixel_limit_is_checked_before_decoding() -> None:
    big = encode(Image.new("RGB", (300, 200)), "PNG")
    assert decode_image(big, SPEC, max_pixels=60_000).shape == (16, 16, 3)
    with pytest.raises(InvalidInput, match="300x200 = 60000 pixels, more than the limit of 59999"):
        decode_image(big, SPEC, max_pixels=59_999)


def test_decoder_batches_in_order_and_names_the_bad_instance() -> None:
    decoder = ImageDecoder(threads=2)
    try:
        blue = encode(Image.new("RGB", (8, 8), (0, 0, 255)), "PNG")
        red = encode(RED, "JPEG")
        batch = asyncio.run(decoder.decode([b64(blue), b64(red), b64(blue)], SPEC))
        assert batch.shape == (3, 16, 16, 3)
        assert batch.dtype == np.float32
        assert batch[0, 0, 0, 2] == pytest.approx(1.0)
        assert batch[1, 0, 0, 0] > 0.9
        with pytest.raises(InvalidInput, match="instance 1: the b64 value is not valid base64"):
            asyncio.run(decoder.decode([b64(blue), {"b64": "!!not base64!!"}], SPEC))
        with pytest.raises(InvalidInput, match=r"instance 2: .*not an image"):
            asyncio.run(decoder.decode([b64(blue), b64(blue), b64(b"nope")], SPEC))
        with pytest.raises(InvalidInput, match="instance 1: expected"):
            asyncio.run(decoder.decode([b64(blue), {"b64": 5}], SPEC))
    finally:
        decoder.close()


def test_decode_inputs_takes_string_tensors_and_leaves_floats() -> None:
    decoder = ImageDecoder(threads=1)
    try:
        blue = encode(Image.new("RGB", (8, 8), (0, 0, 255)), "PNG")
        # A gRPC DT_STRING (or V2 BYTES) tensor arrives as an object array of bytes.
        tensor = images_array([blue, blue])
        out = asyncio.run(decoder.decode_inputs({"images": tensor}, SIGNATURE, SPEC))
        assert out["images"].shape == (2, 16, 16, 3)
        assert out["images"].dtype == np.float32
        floats = np.zeros((1, 16, 16, 3), dtype=np.float32)
        same = asyncio.run(decoder.decode_inputs({"images": floats}, SIGNATURE, SPEC))
        assert same["images"] is floats
        nested = np.empty((1, 1), dtype=object)
        nested[0, 0] = blue
        with pytest.raises(InvalidInput, match=r"one encoded image per example"):
            asyncio.run(decoder.decode_inputs({"images": nested}, SIGNATURE, SPEC))
    finally:
        decoder.close()
