"""An OAuth 2.0 access token by the client-credentials grant (RFC 6749 4.4), for
`auth: {type: oauth2}` (docs/harvest.md).

Enterprise APIs rarely take a long-lived key: a client asks the token endpoint for a
token that lives an hour or so, so a bearer token put in the environment by hand runs
out under a scheduled harvest. The token is asked for at the run's first request,
again a tenth of its life (at most 60 s) before `expires_in` runs out, and again when
the upstream refuses it (401) before its time: the page is then asked for once more
with the new one. A token endpoint that cannot be reached or answers 429 or 5xx is
retried as a page is, within the run's retry budget (after its Retry-After, if
any); one that refuses the client stops the run. The run's threads share one token
(one of them asks, under a lock). Neither the client's secret nor a token is stored,
logged or put in an error: an error names the endpoint and the environment variables.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from ingestry.domain.harvest import AuthSpec, HarvestError, basic_auth, env_secret
from ingestry.extract.jsonio import JSONError, loads
from ingestry.services.ports.harvest import FetchFailedError, HttpFetcher, HttpRequest

__all__ = ["ClientCredentials"]

#: renew this share of a token's life before it ends, at most `_MARGIN_CAP` seconds
_MARGIN = 0.1
_MARGIN_CAP = 60.0


class ClientCredentials:
    """The run's access token (see the module docstring)."""

    def __init__(
        self,
        source: str,
        auth: AuthSpec,
        env: Mapping[str, str],
        fetcher: HttpFetcher,
        timeout: float,
        counted: Callable[[], None] = lambda: None,
    ) -> None:
        assert auth.token_url is not None
        self.source = source
        self.auth = auth
        self.url = auth.token_url
        self.fetcher = fetcher
        self.timeout = timeout
        self.counted = counted  # each token request is one of the run's requests
        self._client_id = auth.client_id or env_secret(source, env, str(auth.client_id_env))
        self._secret_value = env_secret(source, env, auth.env)
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def header(self) -> tuple[str, str]:
        """The `Authorization` header of a request, the token asked for first if the
        run has none or it is about to run out."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._token = self._ask()
            return ("Authorization", f"Bearer {self._token}")

    def refused(self, header: tuple[str, str]) -> None:
        """The upstream answered 401 to `header`: the next `header()` asks for a new
        token (unless another thread already did)."""
        with self._lock:
            if self._token is not None and header[1] == f"Bearer {self._token}":
                self._token = None

    def _ask(self) -> str:
        auth = self.auth
        form = [("grant_type", "client_credentials")]
        if auth.scope:
            form.append(("scope", auth.scope))
        headers = [("Accept", "application/json")]
        if auth.client_auth == "post":
            form += [("client_id", self._client_id), ("client_secret", self._secret_value)]
        else:
            headers.append(basic_auth(self._client_id, self._secret_value))
        request = HttpRequest(
            self.url, headers=tuple(headers), timeout=self.timeout, form=tuple(form)
        )
        self.counted()
        try:
            response = self.fetcher.fetch(request)
        except FetchFailedError as exc:  # retried by the client, within the run's budget
            raise FetchFailedError(f"the token endpoint {self.url}: {exc}") from None
        status = response.status
        if status in (429, 503) or status >= 500:  # the same, after its Retry-After
            raise FetchFailedError(
                f"the token endpoint {self.url} answered {status}",
                response.headers.get("retry-after") if status in (429, 503) else None,
            )
        if status != 200:
            raise self._error(f"answered {status}")
        try:
            document = loads(response.body)
        except JSONError:
            raise self._error("answered with something that is not JSON") from None
        token = document.get("access_token") if isinstance(document, dict) else None
        if not isinstance(token, str) or not token:
            raise self._error("answered without an access_token")
        lifetime = document.get("expires_in")
        if isinstance(lifetime, int | float) and not isinstance(lifetime, bool):
            margin = min(_MARGIN_CAP, lifetime * _MARGIN)
            self._renew_at = time.monotonic() + max(0.0, lifetime - margin)
        else:  # no lifetime given: kept until the upstream refuses it
            self._renew_at = float("inf")
        return token

    def _error(self, what: str) -> HarvestError:
        auth = self.auth
        client = auth.client_id_env or "client_id"
        return HarvestError(
            f"harvest of {self.source} stopped: the token endpoint {self.url} {what}; "
            f"check the client ({client}) and its secret ({auth.env}), and the source's "
            "pull.auth settings"
        )
