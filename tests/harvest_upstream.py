"""A real HTTP upstream for harvest tests and the benchmark: a threaded `http.server`
on 127.0.0.1 serving one list of items through every paginator, with faults on demand.

Paths (each page holds `size` items, `?size=` or `Upstream.page_size`):

- `/link?page=N`: the page as a JSON list, the next page in a `Link: <…>; rel="next"`
- `/jsonlink?page=N`: `{"data": {"items": […]}, "next": "/jsonlink?page=N+1" | null}`
- `/odata?$skip=O`: OData v4 (Microsoft Graph, Dynamics): `{"@odata.context": …,
  "value": […], "@odata.nextLink": "http://…/odata?$skip=O+size"}` (absent on the last)
- `/cursor?cursor=T`: `{"items": […], "next_cursor": T | null}`
- `/offset?offset=O&limit=L`: `{"items": […]}`
- `/pages?page=N` (from 1): the page as a JSON list, `[]` past the end
- `/after?starting_after=ID`: Stripe's lists, `{"data": […], "has_more": bool}`, the
  items after the one whose id is ID

`since=S` (every path) keeps the items whose `updated_at` is later than S, sorted by it
(an integer `updated_at` compares exactly with S as a number, text as text; integers
wider than 64 bits are served as such).
Every 200 carries an ETag (the body's sha256); `If-None-Match` with it answers 304.
`peak` is the most requests it answered at once; with `past_end` set, a page that
starts past the last item (`/offset`, `/pages`) answers that status instead.
Faults: `Upstream.fault(kind, page, times)`: `429` (Retry-After 1 s, or an HTTP-date
with `retry_date`), `503`, `500`, `slow` (sleeps `slow_seconds`), `truncate` (a body
cut short of its Content-Length), `badjson` (a 200 that is not JSON), `repeat` (the
next link or cursor points at the same page again), `skip` (it points two pages on),
`dupe` (the page repeats the last item of the page before it), `revoke` (every
OAuth token issued so far stops working, and the page answers 401).
A rate limit (`limit`): so many page requests a window, what is left said in GitHub's
headers, the IETF draft's `RateLimit` field or `RateLimit-Remaining`/`-Reset`, a request
past it refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson


def make_items(count: int, start: int = 1) -> list[dict[str, Any]]:
    return [
        {"id": f"it-{n}", "updated_at": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}Z",
         "name": f"item {n}", "amount": n * 3}
        for n in range(start, start + count)
    ]  # fmt: skip


@dataclass
class Upstream:
    items: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 10
    token: str | None = None  # when set, every request needs `Authorization: Bearer token`
    slow_seconds: float = 3.0
    delay: float = 0.0  # every page answers this much later (a long run to interrupt)
    frozen: bool = False  # the items never change: sort them once (the benchmark)
    ignore_since: bool = False  # a careless upstream: `since` selects nothing
    _sorted: list[dict[str, Any]] | None = None
    retry_date: bool = False
    faults: dict[tuple[str, int], int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    past_end: int | None = None  # the status of a page past the last item, else served
    inflight: int = 0
    peak: int = 0  # the most requests in hand at once
    #: (monotonic time, path) of every request as it came in, and of every 429 sent
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # of every request
    #: OAuth 2.0 client credentials (client id, secret): `POST /token` issues tokens
    #: good for `token_ttl` seconds, and every page then needs one of them
    oauth: tuple[str, str] | None = None
    token_ttl: float = 3600.0
    issued: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    token_busy: int = 0  # the token endpoint answers 503 this many times first
    token_retry_after: str | None = None  # the Retry-After of those 503s
    token_times: list[float] = field(default_factory=list)  # monotonic, each token request
    #: (Authorization header, form) of every token request
    token_requests: list[tuple[str | None, dict[str, str]]] = field(default_factory=list)
    throttled: list[tuple[float, str]] = field(default_factory=list)
    #: (requests, seconds): at most that many page requests a window; every answer
    #: says what is left in `limit_style`, and a request past it answers `limit_status`
    #: (GitHub's 403) with none left, noted in `refused`
    limit: tuple[int, float] | None = None
    limit_status: int = 403
    limit_style: str = "github"  # X-RateLimit-Reset in Unix seconds; "ietf", "delta", "none"
    window: tuple[float, int] = (0.0, 0)  # the window's end (wall clock), requests in it
    refused: list[tuple[float, str]] = field(default_factory=list)
    #: (Content-Type, JSON body) of every POST to a page
    bodies: list[tuple[str | None, Any]] = field(default_factory=list)
    #: `/children/{parent}?page=N`: each parent's own items (Link header paging); a
    #: parent not here answers 404
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, kind: str, page: int, times: int = 1) -> None:
        with self.lock:
            self.faults[(kind, page)] = times

    def _take(self, kind: str, page: int) -> bool:
        with self.lock:
            left = self.faults.get((kind, page), 0)
            if left <= 0:
                return False
            self.faults[(kind, page)] = left - 1
            return True

    def selected(self, since: str | None) -> list[dict[str, Any]]:
        if self.frozen and since is None:
            if self._sorted is None:
                self._sorted = sorted(self.items, key=_order)
            return self._sorted
        rows = sorted(self.items, key=_order)
        return [i for i in rows if since is None or _after(i["updated_at"], since)]


def _order(item: dict[str, Any]) -> tuple[bool, Any]:
    value = item["updated_at"]
    return isinstance(value, str), value


def _after(value: Any, since: str) -> bool:
    if isinstance(value, int):
        return Decimal(value) > Decimal(since)  # exactly, whatever the width
    return bool(value > since)


def _leaves(document: Any) -> Iterator[tuple[str, str]]:
    """(last name, value as query text) of every scalar in a JSON object."""
    if isinstance(document, dict):
        for name, value in document.items():
            if isinstance(value, dict):
                yield from _leaves(value)
            elif value is not None:
                yield name, str(value)


def _dumps(value: Any) -> bytes:
    """orjson, or the standard library for integers wider than 64 bits (orjson's limit)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()


def _handler(up: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        arrived = 0.0  # when this request came in (monotonic)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self, posted: dict[str, str] | None = None) -> None:
            with up.lock:
                up.requests.append(self.path)
                self.arrived = time.monotonic()
                up.arrivals.append((self.arrived, self.path))
                up.headers.append({k.lower(): v for k, v in self.headers.items()})
                up.inflight += 1
                up.peak = max(up.peak, up.inflight)
            try:
                self._get(posted or {})
            finally:
                with up.lock:
                    up.inflight -= 1

        def do_POST(self) -> None:
            """`/token`: a client-credentials grant (RFC 6749 4.4), the client's id and
            secret in HTTP Basic auth or as form fields. Any other path: the page as a GET
            answers it, its JSON body's leaves read as query parameters by their last
            name (`{"q": {"cursor": "3"}}` is `cursor=3`)."""
            length = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(length)
            if not self.path.startswith("/token"):
                document = json.loads(data)  # integers of any width
                with up.lock:
                    up.bodies.append((self.headers.get("Content-Type"), document))
                self.do_GET(dict(_leaves(document)))
                return
            form = {k: v[-1] for k, v in parse_qs(data.decode()).items()}
            with up.lock:
                up.requests.append("POST " + self.path)
            with up.lock:
                up.token_requests.append((self.headers.get("Authorization"), form))
                up.token_times.append(time.monotonic())
            basic = posted = False
            if up.oauth is not None:  # client_secret_basic or client_secret_post
                expected = "Basic " + base64.b64encode(":".join(up.oauth).encode()).decode()
                basic = self.headers.get("Authorization") == expected
                posted = (form.get("client_id"), form.get("client_secret")) == up.oauth
            if self.path != "/token" or not (basic or posted):
                self._send(401, b'{"error": "invalid_client"}')
                return
            with up.lock:
                busy, up.token_busy = up.token_busy > 0, max(0, up.token_busy - 1)
            if busy:
                after = {"Retry-After": up.token_retry_after} if up.token_retry_after else {}
                self._send(503, b'{"error": "temporarily_unavailable"}', after)
                return
            if form.get("grant_type") != "client_credentials":
                self._send(400, b'{"error": "unsupported_grant_type"}')
                return
            with up.lock:
                token = f"tok-{len(up.issued) + 1}"
                up.issued[token] = time.monotonic() + up.token_ttl
            body = {"access_token": token, "token_type": "Bearer", "expires_in": up.token_ttl}
            self._send(200, orjson.dumps(body), {"Content-Type": "application/json"})

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization") or ""
            if up.token is not None:
                return given == f"Bearer {up.token}"
            if up.oauth is not None:
                expiry = up.issued.get(given.removeprefix("Bearer "))
                return expiry is not None and time.monotonic() < expiry
            return True

        def _get(self, posted: dict[str, str]) -> None:
            if not self._authorized():
                self._send(401, b'{"error": "unauthorized"}')
                return
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()} | posted
            size = int(query.get("size", up.page_size))
            since = None if up.ignore_since else query.get("since")
            rows = up.selected(since)
            limited = self._limited()
            if limited is None:
                return
            kind = parts.path.strip("/")
            if kind.startswith("children/"):  # a parent's own list, or 404: no such parent
                listed = up.children.get(unquote(kind.removeprefix("children/")), [])
                rows = [i for i in listed if since is None or _after(i["updated_at"], since)]
                kind = "children" if unquote(kind[9:]) in up.children else "gone"
            body, headers, page = self._page(kind, query, rows, size)
            if body is None:
                self._send(404, b'{"error": "no such path"}')
                return
            if self._faulted(page, body):
                return
            per = int(query.get("limit", size)) if kind == "offset" else size
            if up.past_end is not None and page > 1 and (page - 1) * per >= len(rows):
                self._send(up.past_end, b'{"error": "no such page"}')
                return
            if up.delay:
                time.sleep(up.delay)
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", {"ETag": etag})
                return
            headers["ETag"] = etag
            headers.update(limited or {"X-RateLimit-Remaining": "99"})
            self._send(200, body, headers)

        def _limited(self) -> dict[str, str] | None:
            """The rate-limit headers of this request's answer ({} when the upstream has
            no limit), or None when it was refused (answered here)."""
            if up.limit is None:
                return {}
            per, seconds = up.limit
            now = time.time()
            with up.lock:
                end, used = up.window
                if now >= end:
                    end, used = now + seconds, 0
                refused = used >= per
                up.window = (end, used if refused else used + 1)
                left = per - up.window[1]
                if refused:
                    up.refused.append((self.arrived, self.path))  # as in arrivals
            if up.limit_style == "none":  # a limit the upstream does not tell
                headers = {}
            elif up.limit_style == "ietf":
                headers = {"RateLimit": f'"default";r={left};t={math.ceil(end - now)}'}
            elif up.limit_style == "delta":
                reset = str(math.ceil(end - now))
                headers = {"RateLimit-Remaining": str(left), "RateLimit-Reset": reset}
            else:
                headers = {
                    "X-RateLimit-Remaining": str(left),
                    "X-RateLimit-Reset": str(math.ceil(end)),
                }
            if refused:
                self._send(up.limit_status, b'{"message": "rate limit exceeded"}', headers)
                return None
            return headers

        def _page(
            self, kind: str, query: dict[str, str], rows: list[dict[str, Any]], size: int
        ) -> tuple[bytes | None, dict[str, str], int]:
            extra = "".join(f"&{k}={v}" for k, v in query.items() if k in ("since", "size"))
            if kind == "after":  # Stripe's lists: the items after the one named
                ids = [row["id"] for row in rows]
                named = query.get("starting_after")
                begin = ids.index(named) + 1 if named in ids else 0
                chunk = rows[begin : begin + size]
                listed = {"object": "list", "data": chunk, "has_more": begin + size < len(rows)}
                return _dumps(listed), {"Content-Type": "application/json"}, begin // size + 1
            if kind in ("link", "jsonlink", "pages", "children"):
                page = int(query.get("page", "1"))
            elif kind == "odata":
                page = int(query.get("$skip", "0")) // size + 1
            elif kind == "cursor":
                page = int(query.get("cursor", "1"))
            elif kind == "offset":
                page = int(query.get("offset", "0")) // int(query.get("limit", size)) + 1
                size = int(query.get("limit", size))
            else:
                return None, {}, 0
            chunk = rows[(page - 1) * size : page * size]
            if up._take("dupe", page) and page > 1:
                chunk = [rows[(page - 1) * size - 1], *chunk]
            more = page * size < len(rows)
            nxt = page if up._take("repeat", page) else page + 1
            if up._take("skip", page):
                nxt = page + 2  # a link that does not count up by one
            headers: dict[str, str] = {"Content-Type": "application/json"}
            if kind in ("link", "children"):
                if more:
                    at = urlsplit(self.path).path
                    headers["Link"] = f'<{up.url}{at}?page={nxt}{extra}>; rel="next"'
                return _dumps(chunk), headers, page
            if kind == "jsonlink":
                link = f"/jsonlink?page={nxt}{extra}" if more else None
                return _dumps({"data": {"items": chunk}, "next": link}), headers, page
            if kind == "odata":
                odata: dict[str, Any] = {"@odata.context": f"{up.url}/$metadata#items"}
                odata["value"] = chunk
                if more:
                    odata["@odata.nextLink"] = f"{up.url}/odata?$skip={(nxt - 1) * size}{extra}"
                return _dumps(odata), headers, page
            if kind == "cursor":
                token = str(nxt) if more else None
                return _dumps({"items": chunk, "next_cursor": token}), headers, page
            if kind == "offset":
                return _dumps({"items": chunk}), headers, page
            return _dumps(chunk), headers, page

        def _faulted(self, page: int, body: bytes) -> bool:
            if up._take("revoke", page):  # every token issued so far stops working
                with up.lock:
                    up.issued = dict.fromkeys(up.issued, 0.0)
                self._send(401, b'{"error": "invalid_token"}')
                return True
            if up._take("429", page):
                wait = formatdate(time.time() + 1, usegmt=True) if up.retry_date else "1"
                self._send(429, b'{"error": "slow down"}', {"Retry-After": wait})
                with up.lock:
                    up.throttled.append((time.monotonic(), self.path))
                return True
            if up._take("503", page):
                self._send(503, b"busy", {"Retry-After": "0"})
                return True
            if up._take("500", page):
                self._send(500, b"oops")
                return True
            if up._take("slow", page):
                time.sleep(up.slow_seconds)
                self._send(200, body)
                return True
            if up._take("truncate", page):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return True
            if up._take("badjson", page):
                self._send(200, body[: len(body) // 2], {"Content-Type": "application/json"})
                return True
            return False

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

    return Handler


@contextmanager
def serve(upstream: Upstream) -> Iterator[Upstream]:
    """Serve `upstream` on a free port of 127.0.0.1 until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream))
    server.daemon_threads = True
    upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.server_close()
