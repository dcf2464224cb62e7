"""The YAML `sources infer` proposes: one convention and one source named S, with a
comment per column saying how sure the guess is and why. Written by hand (strings as
JSON, which YAML reads) so the comments sit where the user reads them; pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ingestry.domain.reading import DEFAULT_NULLS
from ingestry.extract.inference import Guess


@dataclass(frozen=True)
class FileFacts:
    """What reading the file found (the adapter's part of inference)."""

    file: str
    format: str
    rows_total: int
    first_rows: int
    encoding: str | None = None
    delimiter: str | None = None
    compression: str | None = None
    records_path: str | None = None
    sheet: str | None = None
    #: `sources infer URL`: the `pull:` section proposed (instead of `files:`), and
    #: the comment of each of its keys
    pull: dict[str, Any] | None = None
    pull_notes: dict[str, str] | None = None
    #: a line proposed commented out (what the first page cannot tell: a parameter)
    pull_hint: str | None = None


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Proposal:
    """The YAML document, the same as data, and its two entries (each the lines of
    one `name:` entry indented by two spaces, for merging into a config)."""

    text: str
    data: dict[str, Any]
    convention: str
    source: str


def propose(name: str, facts: FileFacts, guess: Guess) -> Proposal:
    """The proposal for a source `name` reading `facts.file`."""
    sampled = guess.rows
    rest = sampled - min(sampled, facts.first_rows)
    how = f"{sampled:,} of {facts.rows_total:,} rows sampled"
    if rest:
        how += f" (the first {facts.first_rows:,} and {rest:,} at random)"
    lines = [f"# ingestry sources infer {facts.file}: {how}; review before use", "conventions:"]
    lines += [f"  {name}:", "    columns:"]
    columns: dict[str, dict[str, Any]] = {}
    for col in guess.columns:
        spec: dict[str, Any] = {}
        if col.name != col.header:
            spec["path"] = col.header
        spec["type"] = col.type
        if col.format:
            spec["format"] = col.format
        extra = {k: v for k, v in col.markers.items() if k not in DEFAULT_NULLS}
        if extra and not guess.nulls:
            spec["nulls"] = [*DEFAULT_NULLS, *sorted(extra)]
        columns[col.name] = spec
        flow = ", ".join(f"{k}: {_flow(v)}" for k, v in spec.items())
        lines.append(f"      {col.name}: {{{flow}}}  # {col.why}")
    source: dict[str, Any] = {
        "strategy": "raw",
        "convention": name,
        "rationale": f"{facts.file} as received (proposed by sources infer)",
        "format": facts.format,
        "files": facts.file,
    }
    if facts.pull is not None:  # an API: its pages are JSON, the items at `pull.items`
        del source["format"], source["files"]
    id_note = "unique and never null in the sample"
    if guess.ids:
        source["id"] = guess.ids[0]
        if len(guess.ids) > 1:
            id_note += f"; also: {', '.join(guess.ids[1:4])}"
    else:
        source["id"] = guess.columns[0].header if guess.columns else "id"
        id_note = "NO column is unique in the sample: choose the id (or a list of columns)"
    if facts.delimiter and facts.delimiter != ",":
        source["delimiter"] = "tab" if facts.delimiter == "\t" else facts.delimiter
    if facts.encoding and facts.encoding != "utf-8":
        source["encoding"] = facts.encoding
    if guess.decimal_comma:
        source["decimal"] = ","
        source["thousands"] = "."
    if guess.nulls:
        source["nulls"] = guess.nulls
    if facts.records_path and facts.pull is None:
        source["records_path"] = facts.records_path
    if facts.sheet:
        source["sheet"] = facts.sheet
    notes = {"id": id_note}
    if facts.compression:
        notes["files"] = f"{facts.compression}-compressed: read as a stream"
    if "encoding" in source:
        notes["encoding"] = "not UTF-8 in the sample"
    convention_entry = "\n".join(lines[2:]) + "\n"
    entry = [f"  {name}:"]
    for key, value in source.items():
        note = f"  # {notes[key]}" if key in notes else ""
        entry.append(f"    {key}: {_flow(value)}{note}")
    if facts.pull is not None:
        source["pull"] = facts.pull
        entry.append("    pull:")
        pull_notes = facts.pull_notes or {}
        for key, value in facts.pull.items():
            said = f"  # {pull_notes[key]}" if key in pull_notes else ""
            entry.append(f"      {key}: {_flow(value)}{said}")
        if facts.pull_hint:
            entry.append(f"      # {facts.pull_hint}")
    source_entry = "\n".join(entry) + "\n"
    text = "\n".join([*lines, "sources:", *entry]) + "\n"
    data = {"conventions": {name: {"columns": columns}}, "sources": {name: source}}
    return Proposal(text, data, convention_entry, source_entry)


def _flow(value: Any) -> str:
    if isinstance(value, str):
        return _q(value)
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)
