"""Column scans (`Storage.scan_columns`): the same values a Record holds, no Record.

Written once, run on SQLite, PostgreSQL and the in-memory fake: every scanned page
must equal `record_page` of `list_records` (the export's and the query views' source
of truth), on values that each backend stores its own way: U+0000 and the escape mark
(PostgreSQL), floats spelled with an exponent or as negative zero in metadata (SQLite
keeps orjson's text, the export spells them positionally), ids that need quoting in
an srn, 30-digit integers, every column type.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestry.domain.query import Condition, Op, RecordQuery
from ingestry.services.export_cells import export_names, record_page
from ingestry.services.ports import Storage
from tests.contract.conftest import CONVENTION, NOW, record_row

MARK = "\ue000"
NAMES = export_names(CONVENTION)


def _upsert(storage: Storage, rows: list[object]) -> None:
    with storage.session() as session:
        session.upsert_records(CONVENTION, rows, NOW)  # type: ignore[arg-type]


def _scanned(
    storage: Storage, names: list[str], page: int, query: RecordQuery
) -> list[list[object]]:
    out: list[list[object]] = [[] for _ in names]
    for got in storage.scan_columns(CONVENTION, names, query, page=page):
        assert len(got) == len(names) and 0 < len(got[0]) <= page
        for held, more in zip(out, got, strict=True):
            held += more
    return out


def _expected(storage: Storage, names: list[str], query: RecordQuery) -> list[list[object]]:
    return record_page(list(storage.list_records(CONVENTION, None, None, query)), names)


TRICKY = [
    record_row(
        "T-1",
        label=f"a\x00b{MARK}0",
        count=-(2**63),
        ratio=-0.0,
        amount="-0.000000000000000000001",
        flag=True,
        at="1999-12-31T23:59:59.999999+00:00",
        day="0001-01-01",
        doc='{"a":12345678901234567890123,"b":[true,null,"x\\u0000"]}',
        shape='{"coordinates":[1,2],"type":"Point"}',
        metadata={"e": 1e16, "tiny": 1e-7, "neg": -0.0, "big": 10**30, "s": "1e5 -0.0"},
    ),
    record_row("T 2/ü", metadata={"k\x00": MARK, "f": 2.5, "n": None}),
    record_row("T-3", upstream="up stream:x", label="", amount="12.50", flag=False),
    record_row("T-4", source_type="deposition", metadata={"line": "line1 e2e"}),
]


def test_a_scan_holds_what_the_records_hold(storage: Storage) -> None:
    _upsert(storage, list(TRICKY))
    query = RecordQuery()
    for page in (1, 3, 100):
        assert _scanned(storage, NAMES, page, query) == _expected(storage, NAMES, query)
    some = ["amount", "srn", "metadata", "at"]  # any subset, any order
    assert _scanned(storage, some, 2, query) == _expected(storage, some, query)


def test_a_scan_filters_like_list_records(storage: Storage) -> None:
    _upsert(storage, list(TRICKY))
    query = RecordQuery((Condition("flag", Op.EQ, (False,)),))
    scanned = _scanned(storage, ["srn", "flag"], 10, query)
    assert scanned == _expected(storage, ["srn", "flag"], query)
    assert scanned[1] == [False]


def test_an_empty_table_scans_to_no_pages(storage: Storage) -> None:
    assert list(storage.scan_columns(CONVENTION, NAMES)) == []


def test_an_unknown_name_is_refused(storage: Storage) -> None:
    with pytest.raises(KeyError, match="nope"):
        list(storage.scan_columns(CONVENTION, ["srn", "nope"]))


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    metadata=st.lists(
        st.dictionaries(st.text(max_size=5), _JSON, max_size=4), min_size=1, max_size=4
    )
)
def test_any_metadata_scans_as_the_export_spells_it(
    storage: Storage, metadata: list[dict[str, object]]
) -> None:
    rows = [record_row(f"M-{i}", metadata=m) for i, m in enumerate(metadata)]
    _upsert(storage, rows)  # the same ids every example: updates after the first
    names = ["srn", "metadata"]
    assert _scanned(storage, names, 2, RecordQuery()) == _expected(storage, names, RecordQuery())


#: Provenance ids that the PostgreSQL statement spells itself (`SOURCE_SQL`): every
#: character it must escape as the export does, non-ASCII, and the escape mark and
#: U+0000 (stored escaped: spelled by Python instead).
ODD_IDS = [
    "".join(chr(c) for c in range(1, 0x80)),
    'q"uote\\back/slash',
    "é€😀\u2028\u2029\ufeff",
    f"mark{MARK}x",
    "nul\x00x",
]


def test_provenance_spelled_like_the_records_whatever_its_characters(storage: Storage) -> None:
    rows = [record_row(f"P-{i}", upstream=odd) for i, odd in enumerate(ODD_IDS)]
    rows += [record_row(f"D-{i}", source_type="deposition") for i in range(2)]
    _upsert(storage, rows)
    names = ["srn", "source"]
    assert _scanned(storage, names, 2, RecordQuery()) == _expected(storage, names, RecordQuery())


def test_the_store_answers_between_the_pages_of_a_scan(storage: Storage) -> None:
    """PostgreSQL reads the next page while this one is decoded, on the storage's own
    connection: between pages (and after a scan left early) the caller reads freely."""
    _upsert(storage, [record_row(f"R-{i}") for i in range(7)])
    seen = []
    for got in storage.scan_columns(CONVENTION, ["srn"], RecordQuery(), page=2):
        seen += got[0]
        assert storage.count_records(CONVENTION) == 7
        assert storage.get_record(CONVENTION, got[0][0]) is not None
    assert seen == sorted(seen) and len(seen) == 7
    early = storage.scan_columns(CONVENTION, ["srn"], RecordQuery(), page=2)
    assert next(iter(early))[0] == seen[:2]
    del early
    assert storage.count_records(CONVENTION) == 7
