"""HttpFetcher over httpx (the `harvest` extra): one pooled client per run.

A connection error, a timeout or a body cut short is a `FetchFailedError` (the service
retries it); every status, 5xx included, is a response for the service to judge.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ingestry.domain.errors import ConfigError
from ingestry.services.ports import FetchFailedError, HttpRequest, HttpResponse


@cache
def user_agent() -> str:
    """`ingestry/VERSION (+harvest)`, the version as installed."""
    try:
        return f"ingestry/{version('ingestry')} (+harvest)"
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "ingestry (+harvest)"


class HttpxFetcher:
    def __init__(self, *, max_connections: int = 4) -> None:
        try:
            import httpx
        except ImportError:
            raise ConfigError(
                "harvesting HTTP sources needs httpx: pip install 'ingestry[harvest]'"
            ) from None
        self._httpx: Any = httpx
        limits = httpx.Limits(max_connections=max_connections)
        # named, as a careful client is (a source's pull.headers may say otherwise)
        agent = {"User-Agent": user_agent()}
        self.client = httpx.Client(limits=limits, follow_redirects=True, headers=agent)

    def fetch(self, request: HttpRequest) -> HttpResponse:
        httpx = self._httpx
        params = (*request.params, *request.secret_params)
        try:
            if request.form is not None:
                response = self.client.post(
                    request.url, data=dict(request.form), headers=dict(request.headers),
                    timeout=request.timeout,
                )  # fmt: skip
            elif request.json is not None:
                headers = {**dict(request.headers), "Content-Type": "application/json"}
                response = self.client.post(
                    request.url, params=params or None, content=request.json,
                    headers=headers, timeout=request.timeout,
                )  # fmt: skip
            else:
                response = self.client.get(
                    request.url, params=params or None, headers=dict(request.headers),
                    timeout=request.timeout,
                )  # fmt: skip
        except httpx.HTTPError as exc:  # connect, read timeout, protocol (body cut short)
            raise FetchFailedError(f"{type(exc).__name__}: {exc}") from None
        public = response.url
        for name, _ in request.secret_params:
            public = public.copy_remove_param(name)
        headers = {k.lower(): v for k, v in response.headers.items()}
        return HttpResponse(response.status_code, headers, response.content, str(public))

    def close(self) -> None:
        self.client.close()
