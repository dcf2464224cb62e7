"""Who is looking at the dashboard: the API's keys, carried in a cookie or a header.

- The login form puts the key in the `ingestry_ui` cookie: HttpOnly (no script reads
  it), SameSite=Strict (no other site's page sends it), Path=/ui, Secure on HTTPS.
- Any /ui page also takes `X-API-Key` (or `Authorization: Bearer`), as the API does.
- Forms carry a CSRF token tied to the key in the cookie: HMAC-SHA256(key, "ui-csrf").
  A page of another site can neither read the cookie nor compute the token, the token
  survives a server restart, and several server processes agree on it without sharing
  a secret. Requests authenticated by header need no token (a browser never sends a
  custom header cross-site without the server's CORS consent, which we never give).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ingestry.entrypoints.api.errors import ApiError
from ingestry.entrypoints.api.security import Caller
from ingestry.entrypoints.api.state import ApiState

COOKIE = "ingestry_ui"


class LoginRequired(Exception):
    """No key, or a key that does not authenticate: answer with the login page."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UiCaller:
    caller: Caller
    token: str
    by_cookie: bool

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)

    def check_csrf(self, sent: str | None) -> None:
        """Refuse a cookie-authenticated form post without the matching token (403)."""
        if self.by_cookie and not (sent and hmac.compare_digest(sent, self.csrf)):
            raise ApiError(403, "the form's CSRF token is missing or wrong: reload the page")


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"ingestry-ui-csrf", hashlib.sha256).hexdigest()


def _header_token(request: Request) -> str | None:
    header = request.headers.get("x-api-key")
    if header:
        return header
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def authenticate(state: ApiState, token: str) -> Caller | None:
    key = state.keys.cached(token)
    if key is None:
        key = await run_in_threadpool(state.keys.authenticate, token)
    return None if key is None else Caller(key, state.settings)


async def ui_caller(request: Request) -> UiCaller:
    """The caller of a /ui page, or LoginRequired; rate-limited like the API."""
    state: ApiState = request.app.state.ingestry
    token = _header_token(request)
    by_cookie = token is None
    if token is None:
        token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired()
    caller = await authenticate(state, token)
    if caller is None:
        raise LoginRequired("that key is unknown or revoked: sign in with a current key")
    request.scope.setdefault("state", {})["api_key"] = caller.key.prefix
    wait = await run_in_threadpool(state.limiter.acquire, caller.key.prefix)
    if wait > 0:
        raise ApiError(
            429,
            f"rate limit of {state.settings.api.rate_limit:g} requests/s for this key exceeded",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return UiCaller(caller, token, by_cookie)
