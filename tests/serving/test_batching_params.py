"""TF Serving's batching parameters file, read by protobuf's text-format parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship.errors import BadConfig
from modelship.serving.batching_params import (
    BatchingParameters,
    parse_batching_parameters,
    read_batching_parameters,
)

TF_SERVING_EXAMPLE = """
max_batch_size { value: 128 }
batch_timeout_micros { value: 0 }
max_enqueued_batches { value: 1000000 }
num_batch_threads { value: 8 }
allowed_batch_sizes: 8
allowed_batch_sizes: 64
allowed_batch_sizes: 128
pad_variable_length_inputs: true
"""


def test_tf_serving_file_is_read_field_by_field() -> None:
    params = parse_batching_parameters(TF_SERVING_EXAMPLE)
    assert params == BatchingParameters(
        max_batch_size=128,
        batch_timeout_micros=0,
        max_enqueued_batches=1000000,
        num_batch_threads=8,
        allowed_batch_sizes=(8, 64, 128),
        pad_variable_length_inputs=True,
    )


def test_omitted_fields_keep_cpu_defaults() -> None:
    params = parse_batching_parameters("batch_timeout_micros { value: 500 }")
    defaults = BatchingParameters()
    assert params.batch_timeout_micros == 500
    assert params.max_batch_size == defaults.max_batch_size
    assert params.num_batch_threads >= 1


def test_unknown_field_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "batching.txt"
    path.write_text("max_batch_size { value: 8 }\nmax_batch_sise { value: 8 }\n")
    with pytest.raises(BadConfig, match=r"batching\.txt:2:.*max_batch_sise"):
        read_batching_parameters(path)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("max_batch_size { value: eight }", 1, "Couldn't parse integer"),
        ("batch_timeout_micros { value: 1 }\nnum_batch_threads { value: 0 }", 2, "at least 1"),
        (
            "max_batch_size { value: 16 }\nallowed_batch_sizes: 8\nallowed_batch_sizes: 4",
            2,
            "increasing",
        ),
        ("max_batch_size { value: 16 }\nallowed_batch_sizes: 8", 2, "must equal max_batch_size"),
    ],
)
def test_bad_values_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(BadConfig, match=rf"f\.txt:{line}:.*{message}"):
        parse_batching_parameters(text, "f.txt")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(BadConfig, match="cannot read --batching_parameters_file"):
        read_batching_parameters(tmp_path / "absent.txt")


def test_padded_size_is_the_next_allowed_size() -> None:
    params = BatchingParameters(max_batch_size=16, allowed_batch_sizes=(4, 8, 16))
    assert [params.padded_size(n) for n in (1, 4, 5, 9, 16)] == [4, 4, 8, 16, 16]
    assert BatchingParameters().padded_size(7) == 7
