"""One block of a records export parsed: every line read, checked and turned into the
row the publish path takes (pure and deterministic, so it runs the same inline or in
a worker process; `services/importer.py` publishes the blocks in file order)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from ingestry.domain.clock import iso
from ingestry.domain.deletion import DeletionDraft
from ingestry.domain.errors import IngestryError
from ingestry.domain.provenance import ImportSource, RecordSource
from ingestry.extract.jsonio import loads
from ingestry.services.ports import RecordRow
from ingestry.services.publish import ImportItem
from ingestry.services.publish_rows import PublishExtractor

#: (file name, line number, the line's bytes)
Line = tuple[str, int, bytes]
#: (file name, number of its first line, whole lines): what `parse_block` reads
Block = tuple[str, int, bytes]
#: A line `parse_block` read: (line number, why it is not an exported record), or
#: (line number, convention, srn, version, times, deletion (by, reason, at), row) where
#: row is the one to publish, the reason the publish path rejects it, or None when the
#: convention is unknown (the publish says so, for the whole layer)
Parsed = (
    tuple[int, str]
    | tuple[
        int, str, str, int, tuple[str, str] | None, tuple[str, str | None, str] | None,
        RecordRow | str | None,
    ]
)  # fmt: skip
#: A block's file name and its lines, parsed
ParsedBlock = tuple[str, list[Parsed]]
#: How blocks get parsed: `map` inline, or worker processes (an adapter), in order.
BlockMap = Callable[[Callable[[Block], ParsedBlock], Iterable[Block]], Iterator[ParsedBlock]]


def _deleted(data: Mapping[str, Any]) -> DeletionDraft | None:
    """The line's `deleted` mark as a draft; None when absent, ValueError when not one."""
    mark = data.get("deleted")
    if mark is None:
        return None
    if not isinstance(mark, dict):
        raise ValueError("'deleted' must be an object (by, deleted_at, reason)")
    by, at, reason = mark.get("by"), mark.get("deleted_at"), mark.get("reason")
    moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    if not isinstance(by, str) or moment is None or moment.tzinfo is None:
        raise ValueError("'deleted' needs 'by' and 'deleted_at' (an ISO time with a zone)")
    if reason is not None and not isinstance(reason, str):
        raise ValueError("'deleted.reason' must be text")
    return DeletionDraft(actor=by, reason=reason, at=iso(moment))


#: Exported time text -> the store's ISO form: the records of one ingest batch share
#: their times, so most lines repeat the last few (bounded: cleared when full).
_ISO: dict[str, str] = {}
_ISO_MAX = 4096


def _times(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """The line's (published_at, updated_at) in the store's ISO form; None when absent,
    ValueError when present but not a time with its zone."""
    published, updated = data.get("published_at"), data.get("updated_at")
    if published is None or updated is None:
        return None
    return _time(published), _time(updated)


def _time(value: Any) -> str:
    known = _ISO.get(value) if isinstance(value, str) else None
    if known is not None:
        return known
    moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"published_at/updated_at must be ISO times with a zone: {value!r}")
    if len(_ISO) >= _ISO_MAX:
        _ISO.clear()
    _ISO[value] = out = iso(moment)
    return out


def _item(data: Any, node: str | None) -> tuple[str, ImportItem]:
    """(convention, import item) of one exported record; ValueError/KeyError if not one."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    convention, srn = data["convention"], data["srn"]
    metadata, columns = data.get("metadata") or {}, data.get("columns") or {}
    if not isinstance(convention, str) or not isinstance(srn, str):
        raise ValueError("'convention' and 'srn' must be text")
    if not isinstance(metadata, dict) or not isinstance(columns, dict):
        raise ValueError("'metadata' and 'columns' must be objects")
    if node is not None:
        source: RecordSource | dict[str, Any] = ImportSource(id=srn, source_node=node)
        return convention, (source, None, metadata, columns)
    return convention, (data["source"], data.get("data_source"), metadata, columns)


def parse_block(
    extractor: Callable[[str], PublishExtractor],
    node: str | None,
    nodes: Mapping[str, str],
    block: Block,
) -> ParsedBlock:
    """Every line of `block` parsed and checked, its row built (pure and deterministic:
    the same wherever it runs). `extractor`: the publish extractor of a convention;
    `node`/`nodes`: `--as-import`'s node, for every file or per file name."""
    name, first, data = block
    lines = data.split(b"\n")
    ended = lines.pop() == b""  # what follows the final LF (nothing, when it ends one)
    if not ended:
        lines.append(data[data.rfind(b"\n") + 1 :])
    last = len(lines) - 1
    line_node = nodes.get(name, node)
    out: list[Parsed] = []
    known: dict[str, PublishExtractor | None] = {}
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        if n < last or ended:
            line += b"\n"  # as a line reads (the reason of a bad line says where)
        try:
            parsed = loads(line)
            convention, item = _item(parsed, line_node)
            version = parsed.get("version") or 0
            times = _times(parsed)
            deleted = _deleted(parsed)
        except (IngestryError, ValueError, KeyError, TypeError, AttributeError) as exc:
            out.append((first + n, f"not an exported record ({exc!s})"))
            continue
        out.append(
            (
                first + n, convention, parsed["srn"], version if isinstance(version, int) else 0,
                times, None if deleted is None else (deleted.actor, deleted.reason, deleted.at),
                _row(_of(known, extractor, convention), item),
            )
        )  # fmt: skip
    return name, out


def _of(
    known: dict[str, PublishExtractor | None],
    extractor: Callable[[str], PublishExtractor],
    convention: str,
) -> PublishExtractor | None:
    """`extractor(convention)`, None for an unknown one: asked once a block, not a line."""
    if convention not in known:
        try:
            known[convention] = extractor(convention)
        except IngestryError:
            known[convention] = None
    return known[convention]


def _row(publish: PublishExtractor | None, item: ImportItem) -> RecordRow | str | None:
    """The row `item` publishes, the reason it cannot, or None for an unknown convention
    (the reasons `PublishService.import_records` gives)."""
    if publish is None:
        return None
    try:
        return publish.import_row(*item, parsed=True)
    except (IngestryError, ValueError, TypeError) as exc:
        return str(exc)
