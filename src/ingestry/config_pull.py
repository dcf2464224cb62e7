"""The `pull:` section of a source (an HTTP source, docs/harvest.md) and its `schedule:`.

Kept apart from `config.py` as `config_api.py` is: the harvest capability adds its keys
here; `config.py` validates a source with `PullModel` and resolves it with `pull_spec`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingestry.domain.conventions import split_path
from ingestry.domain.harvest import (
    AuthSpec,
    AuthType,
    CursorSpec,
    ForEach,
    PaginatorSpec,
    PaginatorType,
    PullSpec,
)
from ingestry.domain.parents import placeholder


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthModel(_Model):
    type: AuthType
    env: str = Field(min_length=1, description="environment variable holding the secret")
    name: str = "X-API-Key"
    location: Literal["header", "query"] = "header"
    username: str | None = None
    username_env: str | None = None
    token_url: str | None = Field(default=None, pattern=r"^https?://")
    client_id: str | None = None
    client_id_env: str | None = None
    scope: str | None = None
    client_auth: Literal["basic", "post"] = "basic"


class PaginatorModel(_Model):
    type: PaginatorType = PaginatorType.NONE
    path: str | None = None
    param: str = "cursor"
    limit: int = Field(default=100, ge=1)
    limit_param: str = "limit"
    offset_param: str = "offset"
    page_param: str = "page"
    start: int = 1
    location: Literal["query", "body"] = "query"
    last_item: str | None = None
    has_more: str | None = None


class CursorModel(_Model):
    field: str = Field(min_length=1)
    param: str = Field(min_length=1)
    location: Literal["query", "body"] = "query"
    lookback: float = Field(default=0.0, ge=0)


class ForEachModel(_Model):
    source: str = Field(min_length=1)
    field: str = Field(min_length=1)


class PullModel(_Model):
    """An HTTP source (docs/harvest.md has every key)."""

    url: str = Field(pattern=r"^https?://")
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    #: sent with every request (an API's Accept, version or User-Agent header): they
    #: sit in the config file, so never a secret (that is `auth`'s, from the environment)
    headers: dict[str, str] = Field(default_factory=dict)
    auth: AuthModel | None = None
    method: Literal["GET", "POST"] = "GET"
    #: POST only: the JSON body of every request (the paginator's values set in it)
    body: dict[str, Any] | None = None
    items: str | None = None
    paginator: PaginatorModel = Field(default_factory=PaginatorModel)
    cursor: CursorModel | None = None
    rate_limit: float | None = Field(default=None, gt=0)
    concurrency: int = Field(default=1, ge=1, le=16)
    timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=10, ge=0)
    backoff_seconds: float = Field(default=0.5, ge=0)
    max_backoff_seconds: float = Field(default=60.0, ge=0)
    max_pages: int = Field(default=1_000_000, ge=1)
    for_each: ForEachModel | None = None


def _dotted(path: str | None) -> tuple[str, ...]:
    return tuple(split_path(path)) if path else ()


def pull_spec(model: PullModel) -> PullSpec:
    """The `pull:` section as the domain's value (auth keeps env var names, never secrets)."""
    pag = model.paginator
    _check_paginator(pag)
    auth = model.auth
    _check_headers(model.headers, auth)
    basic = auth is not None and auth.type is AuthType.BASIC
    if basic and auth is not None and not (auth.username or auth.username_env):
        raise ValueError("basic auth needs username or username_env")
    if auth is not None:
        _check_oauth(auth)
    body = _body(model)
    for_each = _for_each(model)
    return PullSpec(
        url=model.url,
        params=tuple((k, _param_text(v)) for k, v in model.params.items()),
        headers=tuple(model.headers.items()),
        auth=None if auth is None else AuthSpec(
            auth.type, auth.env, auth.name, auth.location, auth.username, auth.username_env,
            auth.token_url, auth.client_id, auth.client_id_env, auth.scope, auth.client_auth,
        ),
        method=model.method, body=body, items=_dotted(model.items) or None,
        paginator=PaginatorSpec(
            pag.type, _dotted(pag.path), pag.param, pag.limit, pag.limit_param,
            pag.offset_param, pag.page_param, pag.start, pag.location,
            _dotted(pag.last_item), _dotted(pag.has_more),
        ),
        cursor=None if model.cursor is None else CursorSpec(
            _dotted(model.cursor.field), model.cursor.param, model.cursor.location,
            model.cursor.lookback,
        ),
        rate_limit=model.rate_limit, concurrency=model.concurrency, timeout=model.timeout,
        max_retries=model.max_retries, backoff_seconds=model.backoff_seconds,
        max_backoff_seconds=model.max_backoff_seconds, max_pages=model.max_pages,
        for_each=for_each,
    )  # fmt: skip


def _check_paginator(pag: PaginatorModel) -> None:
    cursor = pag.type is PaginatorType.CURSOR
    if cursor and bool(pag.path) == bool(pag.last_item):
        raise ValueError(
            "paginator cursor needs path (where the next cursor is) or last_item (the "
            "field of the page's last item that is the next cursor), one of them"
        )
    if pag.type is PaginatorType.JSON_LINK and not pag.path:
        raise ValueError("paginator json_link needs path (where the next link is)")
    if pag.last_item and not cursor:
        raise ValueError("last_item is the cursor paginator's setting")
    if pag.has_more and pag.type is PaginatorType.NONE:
        raise ValueError("has_more needs a paginator (there is no next page to stop)")


def _for_each(model: PullModel) -> ForEach | None:
    """A child resource needs `{field}` in its URL (docs/harvest.md)."""
    if model.for_each is None:
        return None
    each = ForEach(model.for_each.source, model.for_each.field)
    if placeholder(each.field) not in model.url:
        raise ValueError(
            f"for_each: the url needs {placeholder(each.field)} where the parent's value goes"
        )
    return each


def _body(model: PullModel) -> str | None:
    """The POST body as JSON text; a body, or a value put in it, needs `method: POST`."""
    in_body = model.paginator.location == "body" or (
        model.cursor is not None and model.cursor.location == "body"
    )
    if model.method == "GET" and (model.body is not None or in_body):
        raise ValueError("pull.body and `location: body` need `method: POST` (a GET has no body)")
    pag = model.paginator
    for name, place in (
        (pag.param, pag.location), (pag.offset_param, pag.location),
        (pag.limit_param, pag.location), (pag.page_param, pag.location),
        *([(model.cursor.param, model.cursor.location)] if model.cursor is not None else []),
    ):  # fmt: skip
        if place == "body":
            split_path(name)  # a dotted path in the body: one that reads (ValueError)
    if model.body is None:
        return None
    try:
        return json.dumps(model.body, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:  # YAML's dates and the like
        raise ValueError(
            f"pull.body is not JSON ({exc}); quote dates and other such values"
        ) from None


def _check_oauth(auth: AuthModel) -> None:
    """oauth2 needs its token endpoint and client; the other types take neither."""
    if auth.type is AuthType.OAUTH2:
        if auth.token_url is None:
            raise ValueError("oauth2 auth needs token_url (the token endpoint)")
        if not (auth.client_id or auth.client_id_env):
            raise ValueError("oauth2 auth needs client_id or client_id_env")
    elif auth.token_url or auth.client_id or auth.client_id_env or auth.scope:
        raise ValueError(
            "token_url, client_id, client_id_env and scope are only oauth2 auth's settings"
        )


#: a header's name: RFC 9110's token characters
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _check_headers(headers: dict[str, str], auth: AuthModel | None) -> None:
    """Refuse a header that cannot be sent, or that would carry what `auth` sends."""
    taken = set()
    if auth is not None and auth.type is not AuthType.API_KEY:
        taken.add("authorization")
    elif auth is not None and auth.location == "header":
        taken.add(auth.name.lower())
    for name, value in headers.items():
        if not _TOKEN.match(name):
            raise ValueError(f"pull.headers: '{name}' is not a header name")
        if "\r" in value or "\n" in value:
            raise ValueError(f"pull.headers: {name}'s value holds a line break")
        if name.lower() in taken:
            raise ValueError(
                f"pull.headers: {name} is sent by auth (its secret comes from the "
                "environment); remove it from headers"
            )


def _param_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cron_problem(expression: str) -> str | None:
    """Why a cron expression is not valid (five fields: minute hour day month weekday)."""
    fields = expression.split()
    if len(fields) not in (5, 6):
        return f"'{expression}' is not a cron expression (5 fields: minute hour day month weekday)"
    try:
        from croniter import croniter  # type: ignore[import-untyped]
    except ImportError:
        return None  # checked when the worker schedules (the harvest extra brings croniter)
    if not croniter.is_valid(expression):
        return f"'{expression}' is not a valid cron expression"
    return None
