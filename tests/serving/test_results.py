"""Classify and regress results under TF Serving's contract and modelship's."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.errors import FailedPrecondition, InvalidInput
from modelship.serving.inference import InferenceResponse
from modelship.serving.results import check_method, results
from modelship.signature import CLASSIFY_METHOD, REGRESS_METHOD, Signature, TensorSpec

_EXAMPLES = {"inputs": TensorSpec("object", (), unknown_rank=True)}


def _signature(method: str, **outputs: TensorSpec) -> Signature:
    return Signature(inputs=_EXAMPLES, outputs=outputs, method_name=method)


def _response(**outputs: np.ndarray) -> InferenceResponse:
    return InferenceResponse("m", 1, "serving_default", outputs, ["a", "b"])


def test_tf_servings_classify_reads_classes_and_scores() -> None:
    signature = _signature(CLASSIFY_METHOD, classes=TensorSpec("object", (-1, 2)))
    assert check_method(signature, "classify")
    response = _response(
        classes=np.array([[b"cat", b"dog"]], dtype=object), scores=np.array([[0.75, 0.25]])
    )
    assert results(response, "classify", True) == [[("cat", 0.75), ("dog", 0.25)]]
    assert results(_response(scores=np.array([[0.5]])), "classify", True) == [[("", 0.5)]]
    with pytest.raises(FailedPrecondition, match="must return classes or scores"):
        results(_response(y=np.array([[1.0]])), "classify", True)


def test_tf_servings_regress_reads_outputs() -> None:
    assert check_method(_signature(REGRESS_METHOD, outputs=TensorSpec("float32", (-1,))), "regress")
    assert results(_response(outputs=np.array([[1.5], [2.0]])), "regress", True) == [1.5, 2.0]
    with pytest.raises(FailedPrecondition, match="must return outputs"):
        results(_response(y=np.array([1.0])), "regress", True)


def test_a_signature_of_the_other_method_is_refused() -> None:
    classify = _signature(CLASSIFY_METHOD, scores=TensorSpec("float32", (-1, 2)))
    with pytest.raises(InvalidInput, match="Expected regress signature method_name"):
        check_method(classify, "regress")


def test_modelships_contract_for_other_signatures() -> None:
    own = Signature(
        inputs={"x": TensorSpec("float32", (-1, 2))},
        outputs={"p": TensorSpec("float32", (-1, 2))},
    )
    assert not check_method(own, "classify")
    response = _response(p=np.array([[0.25, 0.75]]))
    assert results(response, "classify", False) == [[("a", 0.25), ("b", 0.75)]]
