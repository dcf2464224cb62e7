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
