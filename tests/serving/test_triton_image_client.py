"""Triton's ``image_client.py`` flow against an image classifier, with ``tritonclient``: the
model's metadata and configuration parsed as that client parses them, then a preprocessed
image batch answered as ``score:index:label`` classes."""

from __future__ import annotations

import json
import queue
from typing import Any

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.grpc.model_config_pb2 as mc
import tritonclient.http as httpclient
from PIL import Image
from tritonclient.utils import triton_to_np_dtype

from modelship.data.images import ImagePreprocessing
from tests.conftest import ImageModel, RunningServer


def _parse_model(metadata: Any, config: Any, grpc: bool) -> dict[str, Any]:
    """What image_client's ``parse_model`` reads and checks, from either protocol's answers."""
    inputs = metadata.inputs if grpc else metadata["inputs"]
    outputs = metadata.outputs if grpc else metadata["outputs"]
    assert len(inputs) == 1
    assert len(outputs) == 1
    tensor, output = inputs[0], outputs[0]
    input_config = config.input[0] if grpc else config["input"][0]
    max_batch_size = config.max_batch_size if grpc else config["max_batch_size"]
    datatype = output.datatype if grpc else output["datatype"]
    assert datatype == "FP32"
    shape = list(tensor.shape if grpc else tensor["shape"])
    batched = max_batch_size > 0
    assert len(shape) == 3 + int(batched)
    # The output has one dimension of classes beside the batch.
    output_shape = list(output.shape if grpc else output["shape"])[int(batched) :]
    assert sum(1 for d in output_shape if d > 1) == 1
    layout = input_config.format if grpc else input_config["format"]
    if grpc:
        assert layout in (mc.ModelInput.FORMAT_NCHW, mc.ModelInput.FORMAT_NHWC)
        layout = mc.ModelInput.Format.Name(layout)
    assert layout in ("FORMAT_NCHW", "FORMAT_NHWC")
    dims = shape[1:] if batched else shape
    h, w, c = dims if layout == "FORMAT_NHWC" else (dims[1], dims[2], dims[0])
    return {
        "max_batch_size": max_batch_size,
        "input": tensor.name if grpc else tensor["name"],
        "output": output.name if grpc else output["name"],
        "c": c,
        "h": h,
        "w": w,
        "layout": layout,
        "dtype": tensor.datatype if grpc else tensor["datatype"],
    }


def _preprocess(path: Any, parsed: dict[str, Any], spec: ImagePreprocessing) -> np.ndarray:
    """Resize to the model's size and scale as the model was trained (image_client's own
    scaling modes are INCEPTION/VGG; this model takes its own), in the advertised layout."""
    with Image.open(path) as image:
        rgb = image.convert("RGB").resize((parsed["w"], parsed["h"]), Image.Resampling.BILINEAR)
    pixels = np.asarray(rgb, dtype=np.float32) * np.float32(spec.scale)
    if not spec.normalize_in_model:
        pixels = (pixels - np.float32(spec.mean)) / np.float32(spec.std)
    if parsed["layout"] == "FORMAT_NCHW":
        pixels = pixels.transpose(2, 0, 1)
    return pixels.astype(triton_to_np_dtype(parsed["dtype"]))


def _streamed(client: Any, images: Any, wanted: Any) -> Any:
    """image_client's ``--streaming``: the request on a stream, the answer via the callback."""
    answers: queue.Queue[tuple[Any, Any]] = queue.Queue()
    client.start_stream(callback=lambda result, error: answers.put((result, error)))
    try:
        client.async_stream_infer("shapes", [images], request_id="0", outputs=[wanted])
        result, error = answers.get(timeout=60)
    finally:
        client.stop_stream()
    assert error is None
    return result


@pytest.mark.parametrize(
    ("module", "streaming"),
    [(httpclient, False), (grpcclient, False), (grpcclient, True)],
    ids=["http", "grpc", "grpc-streaming"],
)
def test_image_client_flow_classifies_a_batch(
    module: Any, streaming: bool, image_server: RunningServer, image_model: ImageModel
) -> None:
    grpc = module is grpcclient
    url = image_server.grpc_target if grpc else image_server.url.removeprefix("http://")
    client = module.InferenceServerClient(url)
    try:
        metadata = client.get_model_metadata("shapes")
        config = client.get_model_config("shapes")
        parsed = _parse_model(metadata, config.config if grpc else config, grpc)
        assert parsed["c"] == 3
        assert parsed["max_batch_size"] >= 2
        dataset = image_model.result.dataset  # type: ignore[attr-defined]
        (manifest,) = image_model.base_path.glob("*/modelship.json")
        spec = ImagePreprocessing.from_json(json.loads(manifest.read_text())["preprocessing"])
        assert spec is not None
        files = list(dataset.files_val)[:2]
        batch = np.stack([_preprocess(f, parsed, spec) for f in files])
        images = module.InferInput(parsed["input"], list(batch.shape), parsed["dtype"])
        images.set_data_from_numpy(batch)
        if grpc:
            wanted = module.InferRequestedOutput(parsed["output"], class_count=3)
        else:
            wanted = module.InferRequestedOutput(parsed["output"], binary_data=True, class_count=3)
        if streaming:
            answer = _streamed(client, images, wanted).as_numpy(parsed["output"])
        else:
            answer = client.infer("shapes", [images], outputs=[wanted]).as_numpy(parsed["output"])
        full = client.infer("shapes", [images]).as_numpy(parsed["output"])
    finally:
        client.close()
    assert answer.shape == (2, 3)
    labels = list(dataset.labels)
    for row, scores in zip(answer, full, strict=True):
        for rank, result in enumerate(row):
            # image_client's postprocess: each element's characters split on ':'.
            score, index, label = "".join(chr(x) for x in result).split(":")
            assert int(index) == int(np.argsort(-scores, kind="stable")[rank])
            assert label == labels[int(index)]
            assert float(score) == pytest.approx(float(scores[int(index)]), abs=1e-5)
