"""The /ui pages: thin handlers over the same Store methods the API and CLI call.

Every handler reads at most one page (keyset cursors in the URL, so a page can be
shared and the back button works); no SQL here. Errors render as HTML pages with the
API's status for the same error (403 for a source outside the key's scope; routing.py).
One module per area of pages, each with its own router; `router` holds them all, in
this order (the order routes are matched in).
"""

from __future__ import annotations

from fastapi import APIRouter

from ingestry.entrypoints.api.ui.views import jobs, overview, quarantine, records, signin, sources

router = APIRouter()
for _area in (signin, overview, sources, quarantine, records, jobs):
    router.include_router(_area.router)
