"""How a source's files are read and its cells parsed: plain values, checked by config.

A source's `Reading` (CSV dialect, encoding, null markers, number and boolean spellings,
where the rows sit in a JSON document, the sheet of a workbook) and a column's
`ColumnParse` (its date format, time zone and overrides) are compiled into the framer
and the extractor once; nothing here is interpreted per row.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Cell texts read as null in a non-text column when the source lists none (docs/real-files.md).
DEFAULT_NULLS: tuple[str, ...] = ("", "NA", "N/A", "null")
#: Encodings named in the config; any other Python codec whose newline is one byte works too.
ENCODINGS = ("utf-8", "latin-1", "cp1252", "utf-16", "auto")
#: `format:` values that are not strptime patterns.
EPOCH_FORMATS = ("epoch_s", "epoch_ms")
#: What `delimiter: auto` chooses from.
DELIMITER_CANDIDATES = (",", ";", "\t", "|")


@dataclass(frozen=True, slots=True)
class CSVDialect:
    """The CSV dialect of a source's files (the csv module's, plus header and preamble)."""

    delimiter: str = ","  # or "auto"
    quote: str = '"'
    escape: str | None = None
    #: False: no header line; the columns are `names`
    header: bool = True
    names: tuple[str, ...] = ()
    #: lines skipped before the header (or the first row): a preamble, not stored
    skip_rows: int = 0
    comment: str | None = None

    @property
    def is_default(self) -> bool:
        return self == CSVDialect()


@dataclass(frozen=True, slots=True)
class ValueSpelling:
    """How numbers, booleans and nulls are written in cells (a source's defaults, or a
    column's overrides where not None)."""

    nulls: tuple[str, ...] | None = None
    decimal: str | None = None
    thousands: str | None = None
    true_values: tuple[str, ...] | None = None
    false_values: tuple[str, ...] | None = None

    def over(self, base: ValueSpelling) -> ValueSpelling:
        """This spelling where it says something, else `base`'s."""
        return ValueSpelling(
            self.nulls if self.nulls is not None else base.nulls,
            self.decimal if self.decimal is not None else base.decimal,
            self.thousands if self.thousands is not None else base.thousands,
            self.true_values if self.true_values is not None else base.true_values,
            self.false_values if self.false_values is not None else base.false_values,
        )

    @property
    def is_default(self) -> bool:
        return self == ValueSpelling()


@dataclass(frozen=True, slots=True)
class ColumnParse:
    """A column's parse options: `format` (strptime pattern, `epoch_s`, `epoch_ms`) for
    timestamps and dates, `timezone` (IANA name) for naive timestamps, and overrides of
    the source's spelling."""

    format: str | None = None
    timezone: str | None = None
    spelling: ValueSpelling = ValueSpelling()

    @property
    def is_default(self) -> bool:
        return self == ColumnParse()


@dataclass(frozen=True, slots=True)
class Reading:
    """A source's read options (all defaults: what ingestry did before they existed)."""

    dialect: CSVDialect = CSVDialect()
    encoding: str = "utf-8"
    #: what `encoding: auto` decodes a line with when it is not UTF-8
    fallback_encoding: str = "cp1252"
    spelling: ValueSpelling = ValueSpelling()
    #: JSON: the dotted path of the array holding the rows
    records_path: tuple[str, ...] | None = None
    #: Excel: the sheet read (None: the first)
    sheet: str | None = None

    @property
    def is_default(self) -> bool:
        return self == Reading()

    def fingerprint(self) -> list[object]:
        """What of the reading shapes records (for the extractor's version)."""
        return [
            repr(self.dialect),
            self.encoding,
            self.fallback_encoding,
            repr(self.spelling),
            list(self.records_path or ()),
            self.sheet,
        ]
