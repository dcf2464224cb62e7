"""Schema inference over samples (pure): types, formats, markers, ids."""

from __future__ import annotations

from ingestry.extract.inference import column_name, infer


def _by_name(rows: list[dict[str, object]], **kw: object) -> dict[str, object]:
    guess = infer(rows, **kw)  # type: ignore[arg-type]
    return {c.name: (c.type, c.format) for c in guess.columns}


def test_types_and_formats_from_text_cells() -> None:
    rows = [
        {"Id": str(n), "When": f"{n % 28 + 1:02d}/03/2020", "x": "1.5", "ok": "yes" if n else "no"}
        for n in range(30)
    ]
    assert _by_name(rows, text_cells=True) == {
        "id_value": ("integer", None),
        "when": ("date", "%d/%m/%Y"),
        "x": ("float", None),
        "ok": ("boolean", None),
    }


def test_a_decimal_comma_only_where_the_comma_is_no_delimiter() -> None:
    rows = [{"a": "1,5"}, {"a": "2,25"}]
    assert infer(rows, text_cells=True, delimiter=",").columns[0].type == "text"
    guess = infer(rows, text_cells=True, delimiter=";")
    assert guess.columns[0].type == "float" and guess.decimal_comma


def test_markers_count_as_null_in_numbers_and_stay_text_in_text() -> None:
    rows = [{"n": "NA" if i % 10 == 0 else str(i), "s": "NA" if i % 2 else "x"} for i in range(50)]
    guess = infer(rows, text_cells=True)
    n, s = guess.columns
    assert (n.type, n.nulls, n.why) == ("integer", 5, "integer, 10.0% null (NA)")
    assert (s.type, s.nulls, s.markers) == ("text", 0, {})
    odd = [{"n": "-" if i == 3 else str(i)} for i in range(10)]
    assert infer(odd, text_cells=True).nulls == ["", "NA", "N/A", "null", "-"]


def test_candidate_ids_are_unique_and_never_null_named_ids_first() -> None:
    rows = [
        {"name": f"n{i}", "order_id": f"o{i}", "dup": "x", "gap": None if i else "1"}
        for i in range(9)
    ]
    assert infer(rows, text_cells=True).ids == ["order_id", "name"]


def test_column_names_are_identifiers_and_never_reserved() -> None:
    taken: set[str] = set()
    assert [column_name(h, taken) for h in ("Dep Delay", "2nd", "srn", "Dep-Delay")] == [
        "dep_delay", "c_2nd", "srn_value", "dep_delay_2",
    ]  # fmt: skip
