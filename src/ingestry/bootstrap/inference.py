"""Schema inference for `sources infer`: the file adapter samples, `extract` guesses,
the config adapter writes the proposal."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ingestry.domain.conventions import IDENTIFIER, split_path
from ingestry.domain.errors import ConfigError, InputError
from ingestry.domain.harvest import value_at

if TYPE_CHECKING:
    from ingestry.adapters.sampling import Sample
    from ingestry.extract.proposal import Proposal


def infer_file(
    path: Path,
    name: str | None = None,
    *,
    first: int = 1000,
    reservoir: int = 1000,
    relative_to: Path | None = None,
) -> tuple[Proposal, Sample]:
    """The proposal for FILE (sampled by the adapter, guessed by `extract.inference`);
    `relative_to`: the config's folder, which its `files:` is relative to."""
    from ingestry.adapters.sampling import sample_file
    from ingestry.extract.inference import column_name, infer
    from ingestry.extract.proposal import propose

    shown = None
    if relative_to is not None:
        shown = os.path.relpath(path.resolve(), relative_to.resolve())
    sample = sample_file(path, first, reservoir, shown)
    if not sample.rows:
        raise InputError(f"{path}: no rows to infer from")
    stem = Path(sample.facts.file).name.split(".")[0]
    chosen = name or column_name(stem, set())
    if not IDENTIFIER.match(chosen):
        raise ConfigError(f"--name '{chosen}' must match {IDENTIFIER.pattern}")
    guess = infer(sample.rows, text_cells=sample.text_cells, delimiter=sample.delimiter)
    return propose(chosen, sample.facts, guess), sample


def write_proposal(settings_path: Path, proposal: Proposal, env: Mapping[str, str]) -> None:
    """Merge the proposal into the config file, its comments kept (`add_entries`);
    the result must load as a config, else nothing is written."""
    from ingestry.adapters.config_file import ConfigEditError, add_entries
    from ingestry.config import parse_settings

    try:
        add_entries(
            settings_path,
            {"conventions": proposal.convention, "sources": proposal.source},
            check=lambda text: parse_settings(text, settings_path, env),
        )
    except ConfigEditError as exc:
        raise ConfigError(str(exc)) from None


def infer_pull(
    url: str,
    name: str | None = None,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    bearer_env: str | None = None,
    env: Mapping[str, str],
) -> tuple[Proposal, Sample]:
    """The proposal for an HTTP API from its first page: the items (the longest list
    of objects in it), their convention, and the paginator the page points at
    (`extract.pullguess`). The token in `bearer_env` is sent, never written."""
    from ingestry.adapters.http import HttpxFetcher
    from ingestry.adapters.sampling import Sample, rows_of
    from ingestry.extract.inference import column_name, infer
    from ingestry.extract.jsonio import JSONError, loads
    from ingestry.extract.proposal import FileFacts, propose
    from ingestry.extract.pullguess import cursor_hint, guess_paginator
    from ingestry.services.ports import FetchFailedError, HttpRequest

    secret: tuple[tuple[str, str], ...] = ()
    if bearer_env is not None:
        token = env.get(bearer_env)
        if not token:
            raise ConfigError(f"--bearer-env {bearer_env}: the variable is not set")
        secret = (("Authorization", f"Bearer {token}"),)
    fetcher = HttpxFetcher(max_connections=1)
    try:
        response = fetcher.fetch(HttpRequest(url, headers=(*headers, *secret)))
    except FetchFailedError as exc:
        raise InputError(f"{url}: no response ({exc})") from None
    finally:
        fetcher.close()
    if response.status != 200:
        hint = ""
        if response.status in (401, 403):
            hint = "; an API that needs a token: --bearer-env VAR (or --header for a key)"
        raise InputError(f"{url} answered {response.status}{hint}")
    try:
        document = loads(response.body)
    except JSONError as exc:
        raise InputError(f"{url}: not JSON ({exc}); pull: reads JSON APIs") from None
    where, rows = rows_of(document)
    if where is None and not isinstance(document, list):
        rows = []  # the document itself is not an item of a list
    if not rows:
        raise InputError(f"{url}: no list of objects in the response to infer from")
    items = document if where is None else value_at(document, split_path(where))
    guess = guess_paginator(url, response.headers, document, list(items or ()))
    pull: dict[str, Any] = {"url": _without(url, guess.paginator)}
    notes = {"paginator": guess.why}
    if where is not None:
        pull["items"] = where
        notes["items"] = "the longest list of objects in the first page"
    if headers:
        pull["headers"] = dict(headers)
    if bearer_env is not None:
        pull["auth"] = {"type": "bearer", "env": bearer_env}
    pull["paginator"] = guess.paginator
    stem = [part for part in urlsplit(url).path.split("/") if part][-1:] or ["api"]
    chosen = name or column_name(stem[0], set())
    if not IDENTIFIER.match(chosen):
        raise ConfigError(f"--name '{chosen}' must match {IDENTIFIER.pattern}")
    inferred = infer(rows, text_cells=False)
    incremental = cursor_hint(inferred.columns)
    facts = FileFacts(url, "json", len(rows), len(rows), pull=pull, pull_notes=notes,
                      pull_hint=incremental)  # fmt: skip
    sample = Sample(facts, list(rows), text_cells=False)
    return propose(chosen, facts, inferred), sample


def _without(url: str, paginator: Mapping[str, Any]) -> str:
    """`url` without the parameters the paginator sets itself (an offset, a limit, a
    page number): sent twice, the upstream would read either."""
    own = {
        "offset": (paginator.get("offset_param", "offset"), paginator.get("limit_param", "limit")),
        "page_number": (paginator.get("page_param", "page"),),
    }.get(str(paginator.get("type")), ())
    if not own:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in own]
    return urlunsplit(parts._replace(query=urlencode(query)))
