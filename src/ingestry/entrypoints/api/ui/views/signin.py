"""Sign in with an API key (kept in an HttpOnly cookie) and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from ingestry.entrypoints.api.ui.auth import COOKIE, authenticate
from ingestry.entrypoints.api.ui.routing import (
    CallerDep,
    error_page,
    login_page,
    page,
    state_of,
    ui_router,
)

router = ui_router()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/ui") -> HTMLResponse:
    return page(request, "login.html", None, message="", next=next)


@router.post("/login")
async def login(
    request: Request,
    key: Annotated[str, Form(max_length=512)],
    next: Annotated[str, Form(max_length=2048)] = "/ui",
) -> Response:
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        # a sign-in posted from another site (login CSRF: being signed in as the
        # attacker's key); the form itself has no session to tie a token to yet
        return error_page(request, 403, f"sign-in from another site ({origin}) refused")
    caller = await authenticate(state_of(request), key.strip())
    if caller is None:
        return login_page(request, "that key is unknown or revoked", status=401)
    target = next if next.startswith("/ui") and not next.startswith("//") else "/ui"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        key.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


@router.post("/logout")
def logout(ui: CallerDep, csrf: Annotated[str, Form()] = "") -> Response:
    ui.check_csrf(csrf)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response
