"""Child resources (`pull: {for_each: {source: P, field: F}}`): an API whose list sits
under each item of another one (`/repos/{name}/issues` for every repository). The run
walks the pages of the URL once per value of F among the records of source P, as its
store holds them: P may be a harvested source or a file source (a list of customer ids
drives the pull). Pure. docs/harvest.md, "Child resources".
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["ForEach", "child_url", "placeholder"]


@dataclass(frozen=True, slots=True)
class ForEach:
    """The parent source and the column of its convention whose values fill the URL."""

    source: str
    field: str


def placeholder(field: str) -> str:
    """What the URL holds where the value goes: `{field}`."""
    return "{" + field + "}"


def child_url(url: str, field: str, value: str) -> str:
    """`url` with the parent's value in place of `{field}`, quoted as one path segment
    (a `/`, a space or a `?` in a value cannot change the URL's shape)."""
    return url.replace(placeholder(field), quote(value, safe=""))
