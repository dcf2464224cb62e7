"""Exact decimals: one canonical text for every backend, the source's digits kept.

A `decimal` column stores the number the source wrote, not a float's approximation:
JSON numbers are read from the payload's text (see `compiler`: a number parsed as a
float sends the payload to an exact parse, `NumberText`), CSV cells and JSON strings
are text already. The stored form is what PostgreSQL's `numeric` prints for that
value: positional notation (no exponent), the scale the source wrote (`12.50` keeps
its zero, `1.5E-3` is `0.0015`, `1E2` is `100`), no negative zero. SQLite keeps that
text, PostgreSQL parses it into `numeric` and prints the same, so a record reads back
byte for byte alike on both.

A value `numeric` cannot hold (more than 131,072 digits before the point or 16,383
after, e.g. `1e999999999`) is refused here, at extraction, the same on both backends:
the payload is quarantined, the batch goes on. A column that declares `precision`
and/or `scale` gets exactly `scale` digits after the point (`12.5` → `12.50`; a value
that would need rounding is refused, never rounded) and at most `precision - scale`
before it.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation

#: PostgreSQL numeric's limits (digits before and after the decimal point).
MAX_BEFORE = 131_072
MAX_AFTER = 16_383
#: Enough precision for any number within those limits, so quantize never rounds.
_EXACT = Context(prec=MAX_BEFORE + MAX_AFTER + 1, Emax=MAX_BEFORE + 1, Emin=-MAX_AFTER - 1)
#: Already canonical (the common case: shops send "12.05"): no sign but "-", no leading
#: zeros, no exponent; checked without building a Decimal.
_PLAIN = re.compile(r"-?(?:0|[1-9][0-9]{0,999})(?:\.[0-9]{1,999})?\Z", re.ASCII)
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z", re.ASCII)


class NumberText(str):
    """A JSON number's text as written in the payload (the exact parse's numbers)."""

    __slots__ = ()


class SourceTextNeeded(Exception):
    """A decimal column met a JSON number already parsed into a float: its exact
    digits are in the payload's text, which the extractor parses again for them."""


def canonical(text: str) -> str:
    """The canonical text of a decimal written as `text`; ValueError says why not."""
    if _PLAIN.match(text):
        if text[0] == "-" and not text.strip("-0."):
            return text[1:]  # negative zero
        return text
    if not _NUMBER.match(text):
        raise ValueError("not a decimal number")
    return spell(Decimal(text))


def spell(number: Decimal) -> str:
    """`number` in canonical text, within numeric's limits (ValueError otherwise)."""
    check_range(number)
    text = format(number, "f")
    return text[1:] if number.is_zero() and text[0] == "-" else text


def check_range(number: Decimal) -> None:
    if not number.is_finite():
        raise ValueError("not finite")
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    before, after = len(digits) + exponent, -exponent
    if before > MAX_BEFORE or after > MAX_AFTER:
        raise ValueError(
            f"out of range: at most {MAX_BEFORE} digits before the point and {MAX_AFTER} after"
        )


def fit(text: str, precision: int | None, scale: int | None) -> str:
    """`text` (canonical) with exactly `scale` digits after the point and at most
    `precision - scale` before it; ValueError when that would round or overflow. A
    precision without a scale means scale 0, as in SQL's `numeric(p)`."""
    if precision is not None and scale is None:
        scale = 0
    number = Decimal(text)
    if scale is not None:
        try:
            fixed = number.quantize(Decimal(1).scaleb(-scale), context=_EXACT)
        except InvalidOperation:
            raise ValueError(f"does not fit scale {scale}") from None
        if fixed != number:
            raise ValueError(f"has more than {scale} digits after the point (scale {scale})")
        number = fixed
    if precision is not None:
        allowed = precision - (scale or 0)  # scale is set: see above
        whole = number.copy_abs().to_integral_value(rounding="ROUND_DOWN", context=_EXACT)
        digits = 0 if whole.is_zero() else whole.adjusted() + 1
        if digits > allowed:
            raise ValueError(
                f"has {digits} digits before the point; precision {precision}"
                f" with scale {scale} allows {allowed}"
            )
    return spell(number)
