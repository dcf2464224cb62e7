"""The /ui dashboard (issue 20): server-rendered pages over the same Store methods the
API calls, with the API's keys and scopes (docs/dashboard.md)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the pages and their static files (CSS, a little JavaScript) on `app`."""
    from ingestry.entrypoints.api.ui.counts import CountsCache
    from ingestry.entrypoints.api.ui.pages import environment
    from ingestry.entrypoints.api.ui.views import router

    env = environment()
    for name in env.list_templates():  # compiled at start, not by the first visitor
        env.get_template(name)
    app.state.ui_counts = CountsCache()
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
