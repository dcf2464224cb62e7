"""Write one change back into `ingestry.yaml`, keeping everything else byte for byte.

A YAML round trip through a parser would drop comments and reflow the file, so the
change is made in the text: the value's exact span is found with the YAML composer and
replaced, the new text is validated as a config (by the caller's `check`, which is
the config parser: adapters do not import it), and the file is replaced atomically.
When the value is not a plain scalar on one line (an anchor, a quoted multi-line
string), nothing is written: the caller prints the change to make instead.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml


class ConfigEditError(Exception):
    """The file was left alone; the message says why."""


def set_source_key(
    path: Path, source: str, key: str, value: str, *, check: Callable[[str], object]
) -> None:
    """Set `sources.<source>.<key>` to the plain scalar `value` in the file at `path`;
    `check(new_text)` raises (and nothing is written) when the result is no config."""
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigEditError(f"cannot read {path}: {exc}") from None
    node = _scalar(root, ("sources", source, key))
    if node is None or node.style not in (None, "", "'", '"'):
        raise ConfigEditError(f"{path}: sources.{source}.{key} is not a plain value")
    start, end = node.start_mark, node.end_mark
    if start.line != end.line:
        raise ConfigEditError(f"{path}: sources.{source}.{key} spans several lines")
    new = text[: start.index] + value + text[end.index :]
    check(new)  # raises ConfigError: nothing written
    _replace(path, new)


def _scalar(root: yaml.Node | None, keys: tuple[str, ...]) -> yaml.ScalarNode | None:
    node = root
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key]
        if len(found) != 1:
            return None
        node = found[0]
    return node if isinstance(node, yaml.ScalarNode) else None


def _replace(path: Path, text: str) -> None:
    """Write next to the file, flush to disk, then rename over it (atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            Path(tmp).chmod(path.stat().st_mode & 0o777)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_entries(path: Path, entries: dict[str, str], *, check: Callable[[str], object]) -> None:
    """Add one entry under each top-level mapping named in `entries` (section → YAML
    lines of one `name:` entry indented by two spaces), in the text: the file's
    comments and layout stay byte for byte. An entry is written at the end of its
    section, indented like the section's other entries; an empty section (`name:` or
    `name: {}`) takes it as its value; a missing one is appended. ConfigEditError
    (nothing written) when a name exists or the section is a non-empty flow mapping."""
    try:
        text = path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text += "\n"
        root = yaml.compose(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigEditError(f"cannot read {path}: {exc}") from None
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise ConfigEditError(f"{path}: the top level is not a mapping")
    sections = {k.value: (k, v) for k, v in (root.value if root is not None else [])}
    edits: list[tuple[int, int, str]] = []  # (start, end, new text) of the old text
    appended = ""
    for section, entry in entries.items():
        name = entry.lstrip().split(":", 1)[0]
        if section not in sections:
            appended += f"{section}:\n{entry}"
            continue
        key, node = sections[section]
        if _is_empty(node):
            begin = text.rfind("\n", 0, key.start_mark.index) + 1
            stop = text.index("\n", key.start_mark.index) + 1
            line = text[begin:stop]
            after = node.end_mark.index - begin if isinstance(node, yaml.MappingNode) else 0
            rest = line[after:].strip() if after else line.split(":", 1)[1].strip()
            comment = f"  {rest}" if rest.startswith("#") else ""
            edits.append((begin, stop, f"{section}:{comment}\n{entry}"))
            continue
        if not isinstance(node, yaml.MappingNode) or node.flow_style:
            raise ConfigEditError(f"{path}: '{section}' is not a block mapping; add it by hand")
        if any(k.value == name for k, _ in node.value):
            raise ConfigEditError(f"{path}: {section}.{name} exists already")
        column = node.value[0][0].start_mark.column
        lines = [(" " * column + line[2:]) if line else line for line in entry.split("\n")]
        at = _section_end(text, node.end_mark.index, column)
        edits.append((at, at, "\n".join(lines)))
    new = text
    for begin, stop, block in sorted(edits, reverse=True):
        new = new[:begin] + block + new[stop:]
    new += appended
    check(new)
    _replace(path, new)


def _is_empty(node: yaml.Node) -> bool:
    if isinstance(node, yaml.MappingNode):
        return not node.value
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _section_end(text: str, end: int, column: int) -> int:
    """Where a section's new last entry goes: `end` (the next top-level key, or the end
    of the file) moved up past the blank and comment lines that lead into what follows."""
    at = end if end == len(text) or text[end - 1 : end] == "\n" else text.rfind("\n", 0, end) + 1
    while at > 0:
        start = text.rfind("\n", 0, at - 1) + 1
        line = text[start : at - 1]
        body = line.lstrip()
        if body and not (body.startswith("#") and len(line) - len(body) < column):
            break
        at = start
    return at
