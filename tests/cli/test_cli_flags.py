from __future__ import annotations

from modelship.cli import tf_serving_booleans


def test_tf_serving_boolean_spelling_is_accepted() -> None:
    argv = [
        "serve",
        "--enable_batching=true",
        "--allow_version_labels_for_unavailable_models=false",
        "--model_name=mnist",
        "--enable-batching=1",
    ]
    assert tf_serving_booleans(argv) == [
        "serve",
        "--enable_batching",
        "--model_name=mnist",
        "--enable-batching",
    ]


def test_other_values_are_left_for_the_parser_to_judge() -> None:
    assert tf_serving_booleans(["--enable_batching=maybe"]) == ["--enable_batching=maybe"]
