"""The WHERE clause of a raw window, for either backend's parameter style."""

from __future__ import annotations

from ingestry.services.ports import RawWindow


def window_where(
    window: RawWindow, mark: str, at: str, prefix: str = ""
) -> tuple[str, list[object]]:
    """`source = … [AND received_at >= …] …` and its parameters. `mark` is the
    placeholder (`?`, `%s`), `at` how a timestamp parameter is written (`?`,
    `%s::timestamptz`). Led by (source, received_at) so the window index bounds it."""
    clauses = [f"{prefix}source = {mark}"]
    params: list[object] = [window.source]
    if window.since is not None:
        clauses.append(f"{prefix}received_at >= {at}")
        params.append(window.since)
    if window.until is not None:
        clauses.append(f"{prefix}received_at < {at}")
        params.append(window.until)
    if window.entity_type is not None:
        clauses.append(f"{prefix}entity_type = {mark}")
        params.append(window.entity_type)
    if window.extractor_version is not None:
        clauses.append(f"{prefix}extractor_version = {mark}")
        params.append(window.extractor_version)
    return " AND ".join(clauses), params
