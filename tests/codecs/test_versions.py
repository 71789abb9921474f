"""Version numbers from paths and messages: ASCII digits, positive, within int64."""

from __future__ import annotations

import pytest

from modelship.codecs.versions import parse_version
from modelship.errors import ModelNotFound, VersionNotFound


@pytest.mark.parametrize(
    ("text", "version"),
    [("1", 1), ("7", 7), ("0042", 42), ("9" * 18, 10**18 - 1), (str(2**63 - 1), 2**63 - 1)],
)
def test_positive_ascii_integers_are_versions(text: str, version: int) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize(
    "text",
    [
        "0",  # versions start at 1
        "000",
        "-1",
        "+1",
        " 1",
        "1.0",
        "",
        "x",
        "²",  # str.isdigit says yes
        "\u0661",  # an Arabic-Indic digit one: int() would read it
        str(2**63),  # past int64
        "1" + "0" * 19,  # 20 digits
        "9" * 19,  # 19 digits, past int64
    ],
)
def test_anything_else_is_a_malformed_version(text: str) -> None:
    with pytest.raises(VersionNotFound, match="Malformed version") as caught:
        parse_version(text)
    assert caught.value.message == (f"Malformed version {text!r}: versions are positive integers")


def test_a_malformed_version_is_not_found_as_tf_serving_answers() -> None:
    with pytest.raises(ModelNotFound) as caught:
        parse_version("-1")
    assert caught.value.code == "NOT_FOUND"


def test_a_long_malformed_version_is_shortened_in_the_message() -> None:
    with pytest.raises(VersionNotFound) as caught:
        parse_version("9" * 5000)
    assert caught.value.message == (
        f"Malformed version {'9' * 40 + '...'!r}: versions are positive integers"
    )
