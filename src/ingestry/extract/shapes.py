"""Proofs that every cell of a CSV column has a plain spelling, in C-level passes.

The columnar path (`columnar.py`) converts a column with one `map` only when every
cell is spelled so that the row coercer would read it as that `map` does. It proved
this with a regular expression over the column joined by newlines, and sre costs
~40 instructions a character: ~9.7k a narrow CSV row of five typed columns
(bench/README.md, "Cheaper identity adapters, and what else the writer spends").

Here most columns are proved by what they hold, then by the converter itself:
`bytes.translate` deletes the allowed characters, and anything left is a character
no plain spelling has. Over `[0-9+-]`, `int` accepts exactly `[+-]?[0-9]+`; over
`[0-9+-.eE]`, `float` accepts exactly the float shape (Python's float grammar less
underscores, spaces, `inf` and `nan`, which the character set leaves out); a
converter's ValueError sends the column cell by cell. Dates are proved by stride: all
cells 10 characters, the separator at 4 and 7 and nowhere else, digits around it.
Decimals keep a regular expression, with possessive quantifiers (the same language;
~1/3 cheaper): their canonical spelling has no converter that would refuse the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: Whether every cell of a column is proved, given the column joined by newlines (no
#: cell holds one) and its number of cells.
Proof = Callable[[str, int], bool]

_DIGITS = b"0123456789"
#: Every digit made "0", so a run of digits is a run of "0" (`bytes.translate`).
_ZEROED = bytes.maketrans(_DIGITS, b"0" * 10)
_LONGEST_INT = 18  # digits: always within 64 bits


def joined(texts: list[str]) -> str | None:
    """The cells joined by newlines; None when a cell holds a newline itself."""
    text = "\n".join(texts)
    return text if text.count("\n") == len(texts) - 1 else None


def _only(allowed: bytes) -> Callable[[str], bytes | None]:
    """A column's ASCII bytes when it holds only `allowed` and newlines, else None."""
    delete = allowed + b"\n"

    def bytes_of(text: str) -> bytes | None:
        if not text.isascii():
            return None
        data = text.encode("ascii")
        return None if data.translate(None, delete) else data

    return bytes_of


def characters(allowed: str) -> Proof:
    """Proof by character set alone (the converter refuses a misplaced one)."""
    bytes_of = _only(allowed.encode("ascii"))
    return lambda text, n: bytes_of(text) is not None


def integers() -> Proof:
    """Signs and digits, no run of more than 18 digits (`int` refuses a misplaced sign)."""
    bytes_of = _only(b"+-" + _DIGITS)
    run = b"0" * (_LONGEST_INT + 1)

    def proof(text: str, n: int) -> bool:
        data = bytes_of(text)
        return data is not None and run not in data.translate(_ZEROED)

    return proof


def dates(separator: str) -> Proof:
    """`YYYY<sep>MM<sep>DD` in every cell (`date` then refuses a day that is not one)."""
    sep = separator.encode("ascii")
    bytes_of = _only(sep + _DIGITS)

    def proof(text: str, n: int) -> bool:
        data = bytes_of(text)
        return (
            data is not None
            and len(data) == 11 * n - 1  # with the newline count: ten characters a cell
            and data[10::11] == b"\n" * (n - 1)
            and data[4::11] == sep * n
            and data[7::11] == sep * n
            and data.count(sep) == 2 * n
        )

    return proof


def pattern(one: str) -> Proof:
    """Proof by a regular expression for one cell (possessive, no `\\Z`)."""
    match = re.compile(rf"(?:{one}\n)*+{one}\Z", re.ASCII).match
    return lambda text, n: match(text) is not None


#: A canonical plain decimal: no sign but a minus, no leading zero, no exponent.
DECIMAL = r"-?+(?:0|[1-9][0-9]{0,999}+)(?:\.[0-9]{1,999}+)?+"
#: The same with a decimal comma.
COMMA_DECIMAL = r"-?+(?:0|[1-9][0-9]{0,999}+)(?:,[0-9]{1,999}+)?+"
