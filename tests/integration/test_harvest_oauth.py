"""`auth: {type: oauth2}`: an OAuth 2.0 client-credentials token (RFC 6749 4.4) from
the upstream's token endpoint, on both backends, against a real HTTP upstream: fetched
once, again when it expires or is refused, and never kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ingestry
from ingestry.domain.errors import ConfigError
from ingestry.domain.harvest import HarvestError
from ingestry.store import Store
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import as_json, records, source_yaml, write_config

SECRET = "s3cr3t-value"


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[Upstream]:
    monkeypatch.setenv("PARTNER_ID", "client-7")
    monkeypatch.setenv("PARTNER_SECRET", SECRET)
    with serve(Upstream(items=make_items(35), page_size=10, oauth=("client-7", SECRET))) as up:
        yield up


def open_oauth(tmp_path: Path, db: Database, up: Upstream, auth: str = "") -> Store:
    auth = auth or (
        f"{{type: oauth2, token_url: {up.url}/token, client_id_env: PARTNER_ID,"
        " env: PARTNER_SECRET, scope: read}"
    )
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    source = source_yaml(
        "api", up.url + "/link", "{type: link_header}", None, extra=f"auth: {auth}"
    )
    return ingestry.open(write_config(tmp_path, url, source))


def test_a_token_is_fetched_once_and_sent_with_every_page(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    with open_oauth(tmp_path, db, upstream) as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
        pages = store.harvest_pages("api")
    assert list(upstream.issued) == ["tok-1"]
    assert upstream.requests.count("POST /token") == 1
    gets = [h for h in upstream.headers if "authorization" in h]
    assert {h["authorization"] for h in gets} == {"Bearer tok-1"}
    assert summary.pages == 4 and summary.requests == 5  # the token's is a request too
    kept = repr([(p.url, p.headers, p.body) for p in pages]) + repr(summary.as_dict())
    assert SECRET not in kept and "tok-1" not in kept


def test_an_expiring_token_is_fetched_again_before_it_runs_out(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.token_ttl = 1.0  # renewed a tenth of its life before it ends
    upstream.delay = 0.35
    with open_oauth(tmp_path, db, upstream) as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert len(upstream.issued) >= 2
    # no page was refused and asked again: the pages' requests and the tokens'
    assert summary.pages == 4 and summary.requests == 4 + len(upstream.issued)


def test_a_refused_token_is_fetched_again_and_the_page_asked_again(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.fault("revoke", 2)
    with open_oauth(tmp_path, db, upstream) as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert list(upstream.issued) == ["tok-1", "tok-2"]
    assert summary.pages == 4 and summary.requests == 7  # page 2 twice, two tokens


def test_a_busy_token_endpoint_is_retried_within_the_budget(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.token_busy = 2
    with open_oauth(tmp_path, db, upstream) as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert summary.retries == 2 and summary.requests == 4 + 3  # 3 token requests
    assert list(upstream.issued) == ["tok-1"]


def test_a_busy_token_endpoints_retry_after_is_waited_for(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """Its 503 says Retry-After: 1; the run's backoff (0.01 s here) would ask again at
    once and be refused again."""
    upstream.token_busy, upstream.token_retry_after = 1, "1"
    with open_oauth(tmp_path, db, upstream) as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    first, second = upstream.token_times
    assert second - first > 0.9 and summary.retries == 1


def test_a_wrong_secret_stops_the_run_naming_the_variables_not_the_secret(
    tmp_path: Path, db: Database, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTNER_SECRET", "wrong-secret")
    with open_oauth(tmp_path, db, upstream) as store:
        with pytest.raises(HarvestError) as caught:
            store.harvest("api")
        assert records(store) == {}
    message = str(caught.value)
    assert f"{upstream.url}/token answered 401" in message
    assert "PARTNER_ID" in message and "PARTNER_SECRET" in message
    assert "wrong-secret" not in message


def test_a_client_id_in_the_config_and_the_secret_in_the_body(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """`client_auth: post` sends id and secret as form fields (client_secret_post),
    not in an Authorization header."""
    auth = (
        f"{{type: oauth2, token_url: {upstream.url}/token, client_id: client-7,"
        " env: PARTNER_SECRET, client_auth: post}"
    )
    with open_oauth(tmp_path, db, upstream, auth) as store:
        store.harvest("api")
        assert records(store) == as_json(upstream.items)
    ((header, form),) = upstream.token_requests
    assert header is None
    assert form == {
        "grant_type": "client_credentials", "client_id": "client-7", "client_secret": SECRET
    }  # fmt: skip


def test_the_default_client_auth_is_basic_with_the_scope_in_the_form(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    with open_oauth(tmp_path, db, upstream) as store:
        store.harvest("api")
    ((header, form),) = upstream.token_requests
    assert header is not None and header.startswith("Basic ")
    assert form == {"grant_type": "client_credentials", "scope": "read"}


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        ("{type: oauth2, env: S, client_id: c}", "token_url"),
        ("{type: oauth2, token_url: 'http://h/t', env: S}", "client_id"),
        ("{type: bearer, env: S, token_url: 'http://h/t'}", "only oauth2"),
    ],
)
def test_oauth2_settings_are_checked(
    tmp_path: Path, db: Database, upstream: Upstream, auth: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        open_oauth(tmp_path, db, upstream, auth)
