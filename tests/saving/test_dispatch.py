"""Which exporter a model takes: an ONNX file and its loaded proto plan the same way, and
anything else is refused with what can be saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship.errors import BadConfig
from modelship.saving.dispatch import plan_for
from tests.fixtures import own_models


def test_an_onnx_path_and_its_proto_plan_alike(tmp_path: Path) -> None:
    import onnx

    path = own_models.onnx_file(tmp_path / "m.onnx")
    from_path = plan_for(path, signature_name="predict_images")
    from_proto = plan_for(onnx.load(str(path)), signature_name="predict_images")
    assert from_path.framework == from_proto.framework == "onnx"
    assert from_path.signature == from_proto.signature
    assert from_path.signature.name == "predict_images"


def test_an_unknown_object_names_what_can_be_saved() -> None:
    with pytest.raises(BadConfig, match=r"cannot save a builtins\.dict: give a torch\.nn\.Module"):
        plan_for({"weights": [1, 2]})
