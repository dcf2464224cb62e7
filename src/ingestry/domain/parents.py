"""Child resources (`pull: {for_each: {source: P, field: F}}`): an API whose list sits
under each item of another one (`/repos/{name}/issues` for every repository). The run
walks the pages of the URL once per value of F among the records of source P, as its
store holds them: P may be a harvested source or a file source (a list of customer ids
drives the pull). Pure. docs/harvest.md, "Child resources".
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ingestry.domain.harvest import HarvestError

__all__ = ["child_url", "marks_text", "parent_marks", "placeholder"]


def placeholder(field: str) -> str:
    """What the URL holds where the value goes: `{field}`."""
    return "{" + field + "}"


def child_url(url: str, field: str, value: str) -> str:
    """`url` with the parent's value in place of `{field}`, quoted as one path segment
    (a `/`, a space or a `?` in a value cannot change the URL's shape)."""
    return url.replace(placeholder(field), quote(value, safe=""))


def parent_marks(source: str, kept: Any) -> dict[str, Any]:
    """A child resource's incremental marks, one per parent, from the text the ledger
    keeps (`marks_text`); none before its first run."""
    if kept is None:
        return {}
    try:
        marks = json.loads(str(kept))
    except ValueError:
        marks = None
    if not isinstance(marks, dict):
        raise HarvestError(
            f"harvest of {source} stopped before its first request: its kept cursor "
            f"{str(kept)[:80]!r} is not a child resource's marks (a JSON object, one mark "
            "per parent); the source's pull: settings changed since it was kept"
        )
    return marks


def marks_text(marks: dict[str, Any]) -> str:
    """The marks as the ledger keeps them: a JSON object of texts, sorted by parent."""
    return json.dumps(marks, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
