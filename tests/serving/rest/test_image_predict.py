"""b64 images through a real ``modelship serve`` process serving the trained image model."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest
from PIL import Image

from modelship.data.images import ImagePreprocessing, load_pixels
from tests.conftest import IMAGE_TEST_SIZE, ImageModel, RunningServer

SPEC = ImagePreprocessing(size=(IMAGE_TEST_SIZE, IMAGE_TEST_SIZE))
PREDICT = "/v1/models/shapes:predict"


def b64(data: bytes) -> dict[str, str]:
    return {"b64": base64.b64encode(data).decode()}


def post(server: RunningServer, body: object) -> httpx.Response:
    return httpx.post(f"{server.url}{PREDICT}", content=orjson.dumps(body), timeout=30)


def reencode(path: Path, fmt: str, mode: str | None = None, **options: object) -> bytes:
    with Image.open(path) as image:
        image = image.convert("RGB")
        if mode == "CMYK":
            image = image.convert("CMYK")
        elif mode == "P":
            image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
        elif mode == "RGBA":
            image.putalpha(255)
        elif mode == "BIG":
            image = image.resize((1200, 1200))
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def val_files(image_model: ImageModel) -> list[Path]:
    return list(image_model.result.dataset.files_val)  # type: ignore[attr-defined]


def test_b64_images_are_classified_like_the_trained_model(
    image_server: RunningServer, image_model: ImageModel
) -> None:
    files = val_files(image_model)
    answer = post(image_server, {"instances": [b64(f.read_bytes()) for f in files]})
    assert answer.status_code == 200, answer.text
    probs = np.asarray(answer.json()["predictions"])
    assert probs.shape == (len(files), 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    labels = image_model.result.dataset.labels  # type: ignore[attr-defined]
    predicted = [labels[i] for i in probs.argmax(axis=1)]
    accuracy = np.mean([p == f.parent.name for p, f in zip(predicted, files, strict=True)])
    assert accuracy >= 0.9
    # The server's decoding is training's: same probabilities as the float tensor path.
    floats = SPEC.to_tensor(np.stack([load_pixels(f, SPEC) for f in files[:4]]))
    as_floats = post(image_server, {"instances": floats.tolist()})
    assert as_floats.status_code == 200
    np.testing.assert_allclose(as_floats.json()["predictions"], probs[:4], atol=1e-4)


def test_top_k_names_the_classes(image_server: RunningServer, image_model: ImageModel) -> None:
    files = val_files(image_model)[:3]
    answer = post(
        image_server,
        {"instances": [{"images": b64(f.read_bytes())} for f in files], "parameters": {"top_k": 2}},
    )
    assert answer.status_code == 200, answer.text
    rows = answer.json()["predictions"]
    for row, path in zip(rows, files, strict=True):
        assert set(row) == {"probabilities", "classes", "scores"}
        assert len(row["classes"]) == 2
        assert row["classes"][0] == path.parent.name
        assert row["scores"][0] == pytest.approx(max(row["probabilities"]), abs=1e-6)
        assert row["scores"][0] >= row["scores"][1]
    columnar = post(
        image_server, {"inputs": [b64(files[0].read_bytes())], "parameters": {"top_k": 1}}
    )
    assert columnar.json()["outputs"]["classes"] == [[files[0].parent.name]]


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [("JPEG", "CMYK"), ("PNG", "P"), ("PNG", "RGBA"), ("GIF", None), ("PNG", "BIG")],
)
def test_unusual_images_are_converted_and_classified(
    image_server: RunningServer, image_model: ImageModel, fmt: str, mode: str | None
) -> None:
    path = next(f for f in val_files(image_model) if f.parent.name == "red_circle")
    answer = post(
        image_server,
        {"instances": [b64(reencode(path, fmt, mode))], "parameters": {"top_k": 1}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"][0]["classes"] == ["red_circle"]


def test_sixteen_bit_png_is_accepted(image_server: RunningServer) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.full((30, 30), 40000, dtype=np.uint16)).save(buffer, format="PNG")
    answer = post(image_server, {"instances": [b64(buffer.getvalue())]})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"][0]) == 4


def test_bad_images_get_a_clear_4xx(image_server: RunningServer, image_model: ImageModel) -> None:
    jpeg = val_files(image_model)[0].read_bytes()
    huge = io.BytesIO()
    Image.new("L", (2100, 2000)).save(huge, format="PNG")  # 4.2 MP > the server's 4 MP limit
    cases = [
        ({"instances": [{"b64": "%%% not base64 %%%"}]}, "not valid base64"),
        ({"instances": [b64(b"GIF89a but then nothing")]}, "not an image"),
        ({"instances": [b64(b"plain text, no image")]}, "not an image"),
        ({"instances": [b64(jpeg[: len(jpeg) // 3])]}, "truncated"),
        ({"instances": [b64(huge.getvalue())]}, "more than the limit of 4000000"),
        ({"instances": [b64(jpeg), {"b64": 3}]}, "instance 1"),
        ({"instances": [b64(jpeg)], "parameters": {"top_k": 0}}, "top_k"),
    ]
    for body, message in cases:
        answer = post(image_server, body)
        # Over a size limit is 413, as a body over --max_body_bytes; a broken image is 400.
        assert answer.status_code == (413 if "limit" in message else 400), (message, answer.text)
        assert answer.headers["content-type"] == "application/json"
        assert message in answer.json()["error"]


def test_metadata_carries_labels_and_preprocessing(image_server: RunningServer) -> None:
    meta = httpx.get(f"{image_server.url}/v1/models/shapes/metadata").json()
    extra = meta["metadata"]["modelship"]
    assert extra["labels"] == ["blue_triangle", "green_square", "orange_cross", "red_circle"]
    assert extra["preprocessing"]["kind"] == "image"
    assert extra["preprocessing"]["size"] == [IMAGE_TEST_SIZE, IMAGE_TEST_SIZE]


def test_openapi_documents_b64_images_and_top_k(image_server: RunningServer) -> None:
    spec = httpx.get(f"{image_server.url}/openapi.json").json()
    body = spec["paths"]["/v1/models/{model}:predict"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]["properties"]
    assert schema["parameters"]["properties"]["top_k"]["minimum"] == 1
    assert "b64" in schema["instances"]["description"]
