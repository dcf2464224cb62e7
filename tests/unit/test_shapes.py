"""The columnar path's proofs (extract/shapes.py) accept exactly the columns the regular
expressions they replaced accepted, once the converter has had its say."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ingestry.extract import shapes

# the expressions the columnar path used before (one cell each)
OLD_INT = r"[+-]?[0-9]{1,18}"
OLD_FLOAT = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
OLD_COMMA_FLOAT = r"[+-]?([0-9]+,?[0-9]*|,[0-9]+)([eE][+-]?[0-9]+)?"
OLD_DECIMAL = r"-?(?:0|[1-9][0-9]{0,999})(?:\.[0-9]{1,999})?"
OLD_COMMA_DECIMAL = r"-?(?:0|[1-9][0-9]{0,999})(?:,[0-9]{1,999})?"

CELL = st.one_of(
    st.text(alphabet="0123456789+-.,eE/ _x\n\u0661", max_size=24),
    st.text(alphabet="0123456789+-.,eE", max_size=8),  # mostly numbers, some plain
    st.from_regex(r"-?[0-9]{1,4}([.,][0-9]{1,3})?", fullmatch=True),
)
COLUMN = st.lists(CELL, min_size=1, max_size=6)


def old(one: str, texts: list[str]) -> bool:
    every = re.compile(rf"(?:{one}\n)*{one}\Z", re.ASCII).match
    text = "\n".join(texts)
    return text.count("\n") == len(texts) - 1 and every(text) is not None


def new(proof: shapes.Proof, convert: Callable[[str], Any] | None, texts: list[str]) -> bool:
    text = shapes.joined(texts)
    if text is None or not proof(text, len(texts)):
        return False
    if convert is None:
        return True
    try:
        for t in texts:
            convert(t)
    except ValueError:
        return False
    return True


@given(COLUMN)
@example(["+123456789012345678"])  # a sign and 18 digits
@example(["1234567890123456789"])  # 19 digits
@example(["1-2", "3"])
def test_integers(texts: list[str]) -> None:
    assert new(shapes.integers(), int, texts) == old(OLD_INT, texts)


@given(COLUMN)
@example(["1.e5", "+.5", "5.", "-0.0"])
@example([".e5"])
@example(["1e", "e5"])
def test_floats(texts: list[str]) -> None:
    assert new(shapes.characters("0123456789+-.eE"), float, texts) == old(OLD_FLOAT, texts)


@given(COLUMN)
def test_comma_floats(texts: list[str]) -> None:
    proof = shapes.characters("0123456789+-,eE")
    convert = lambda t: float(t.replace(",", "."))  # noqa: E731
    assert new(proof, convert, texts) == old(OLD_COMMA_FLOAT, texts)


DATE_CELL = st.text(alphabet="0123456789-/\n", min_size=8, max_size=12)


@given(st.lists(DATE_CELL, min_size=1, max_size=5), st.sampled_from("-/."))
@example(["2024-01-01", "2024-1-011"], "-")
@example(["2024-01-01"], "-")
@example(["2024/01/01", "2024/01/02"], "/")
def test_dates(texts: list[str], separator: str) -> None:
    texts = [t.replace("-", separator) for t in texts]
    sep = re.escape(separator)
    shape = rf"[0-9]{{4}}{sep}[0-9]{{2}}{sep}[0-9]{{2}}"
    assert new(shapes.dates(separator), None, texts) == old(shape, texts)


@given(COLUMN)
@example(["0.50", "-12.3", "10"])
@example(["01.5"])
@example(["1." + "0" * 999, "9" * 1000])
@example(["1." + "0" * 1000])
def test_decimals(texts: list[str]) -> None:
    assert new(shapes.pattern(shapes.DECIMAL), None, texts) == old(OLD_DECIMAL, texts)
    comma = shapes.pattern(shapes.COMMA_DECIMAL)
    assert new(comma, None, texts) == old(OLD_COMMA_DECIMAL, texts)
