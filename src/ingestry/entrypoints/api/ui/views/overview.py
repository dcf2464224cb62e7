"""The overview: every source the key may use, its last run and volume plot, and the
whole-store counts (cached, see counts.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import HTMLResponse

from ingestry.entrypoints.api.state import ApiState
from ingestry.entrypoints.api.ui.counts import Counts, CountsCache
from ingestry.entrypoints.api.ui.plots import legend_html, plot_every, plot_since, volume_plot
from ingestry.entrypoints.api.ui.routing import CallerDep, page, state_of, ui_router

router = ui_router()


@router.get("", response_class=HTMLResponse)
def overview(request: Request, ui: CallerDep, every: str | None = None) -> HTMLResponse:
    state = state_of(request)
    chosen = plot_every(every)
    sources = sorted(ui.caller.sources(), key=lambda s: s.name)
    names = [s.name for s in sources]
    counts = counts_of(request).get(lambda: _count(state))
    jobs_now = state.jobs.counts()  # a small indexed table: read live, not cached
    with state.pool.borrow() as store:
        last = {name: next(iter(store.runs(name, None, 1)), None) for name in names}
        since = plot_since(chosen).isoformat()
        buckets = store.stats_over_time(chosen, names, since) if names else []
    plots = []
    for source in sources:
        mine = [b for b in buckets if b.source == source.name]
        plots.append(
            (source.name, volume_plot(f"ingest volume of {source.name} per {chosen}", mine, chosen))
        )
    return page(
        request,
        "overview.html",
        ui,
        sources=sources,
        counts=counts,
        last=last,
        plots=plots,
        legend=legend_html(),
        every=chosen,
        jobs_now=jobs_now,
    )


def counts_of(request: Request) -> CountsCache:
    cache: CountsCache = request.app.state.ui_counts
    return cache


def _count(state: ApiState) -> Counts:
    """Whole-store counts for the overview (see counts.py for why they are cached)."""
    start = time.perf_counter()
    with state.pool.borrow() as store:
        stats = store.stats()
        extractors = {s.source: s for s in store.extractor_status()}
    queue = state.pool.primary.control.browse.queue_state(10)
    return Counts(datetime.now(UTC), stats, extractors, queue, time.perf_counter() - start)
