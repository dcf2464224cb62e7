"""ASGI middleware: request context (id, access log, latency, last-resort 500) and the
body size limit (refused from Content-Length, or while streaming, before it is whole)."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingestry.entrypoints.api.errors import PROBLEM_JSON, ApiError, problem
from ingestry.entrypoints.api.metrics import Metrics
from ingestry.entrypoints.logs import request_id

log = logging.getLogger("ingestry.api")

#: The status logged for a request whose client disconnected before it was answered.
CLIENT_CLOSED = 499

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: Request ids made here: a random per-process prefix and a counter (unique, cheap).
_PREFIX = secrets.token_hex(8)
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_PREFIX}{next(_COUNTER):016x}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_error(send: Send, status: int, code: str, message: str, rid: str) -> None:
    detail = {"code": code, "message": message, "request_id": rid}
    body = orjson.dumps(problem(status, message, detail))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContext:
    """X-Request-ID in (when well-formed) or made up, out on every response, and in
    every log line of the request; one access log line and a latency observation."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _SAFE_ID.match(given) else new_request_id()
        token = request_id.set(rid)
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # the client went away mid-body: nothing to answer, not our failure (499 is
            # nginx's "client closed request", for the access log and the metrics)
            state["status"] = CLIENT_CLOSED
            log.info("client disconnected before sending the whole body")
        except Exception:
            log.exception("unhandled error")
            if not state["started"]:
                await _send_error(send_with_id, 500, "internal_error", "internal error", rid)
        finally:
            self._record(scope, state["status"], time.perf_counter() - started)
            request_id.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        labels = {"method": scope["method"], "route": path, "status": str(status)}
        self.metrics.observe_latency(labels, seconds)
        self.metrics.inc("ingestry_http_requests_total", labels)
        self.metrics.sync_cache()
        log.info(
            "request",
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "route": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "api_key": scope.get("state", {}).get("api_key"),
            },
        )


class BodyTooLargeError(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than the limit of {limit} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        rid = request_id.get() or ""
        if declared is not None:
            if not declared.isdigit():
                await _send_error(send, 400, "bad_request", "invalid Content-Length", rid)
                return
            if int(declared) > self.limit:
                message = f"request body is larger than the limit of {self.limit} bytes"
                await _send_error(send, 413, "payload_too_large", message, rid)
                return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLargeError(self.limit)
            return message

        await self.app(scope, counting_receive, send)
