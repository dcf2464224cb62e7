"""What every /ui route shares: errors answered as HTML pages, the caller dependency,
and rendering a template into a response that is never cached."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingestry.domain.errors import IngestryError
from ingestry.entrypoints.api.errors import CORE_ERRORS
from ingestry.entrypoints.api.state import ApiState
from ingestry.entrypoints.api.ui.auth import LoginRequired, UiCaller, ui_caller
from ingestry.entrypoints.api.ui.pages import render
from ingestry.services.replay import NotRawSourceError

PAGE = 50  # rows per page everywhere
LIST_BYTES = 256  # bytes of each payload a list shows (the entry's page shows them all)


class UiRoute(APIRoute):
    """Errors of a /ui page answer as HTML: the login page for a missing key, else an
    error page with the status the API gives the same error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return login_page(request, exc.message, status=401)
            except IngestryError as exc:
                return error_page(request, status_of(exc), str(exc))
            except RequestValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
                )
                return error_page(request, 400, f"bad request: {problems}")
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail), exc.headers)

        return run


def status_of(exc: IngestryError) -> int:
    if isinstance(exc, NotRawSourceError):
        return 422
    return next((status for kind, status, _ in CORE_ERRORS if isinstance(exc, kind)), 500)


def ui_router() -> APIRouter:
    """A router for one area of pages: under /ui, errors as HTML, not in the OpenAPI."""
    return APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)


CallerDep = Annotated[UiCaller, Depends(ui_caller)]


def state_of(request: Request) -> ApiState:
    state: ApiState = request.app.state.ingestry
    return state


def page(
    request: Request, template: str, ui: UiCaller | None, http_status: int = 200, **ctx: Any
) -> HTMLResponse:
    html = render(template, request=request, ui=ui, **ctx)
    return HTMLResponse(html, status_code=http_status, headers={"Cache-Control": "no-store"})


def login_page(request: Request, message: str = "", *, status: int = 200) -> HTMLResponse:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = wanted if wanted.startswith("/ui") and not wanted.startswith("/ui/login") else "/ui"
    return page(request, "login.html", None, status, message=message, next=target)


def error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    response = page(request, "error.html", None, status, status=status, message=message)
    response.headers.update(headers or {})
    return response
