"""Prometheus metrics on prometheus-client, shared by the API and the worker.

Counters and histograms live in the process that counts (an API worker, a job
worker). With several processes, set PROMETHEUS_MULTIPROC_DIR (`ingestry serve
--workers N` sets one up): every process writes its values to files there and
`/metrics` sums them (prometheus-client's multiprocess mode), so a scrape that lands
on any API process sees the whole machine's counts, the job workers' included when
they share the directory. Whole-store figures (job queue, quarantine, outbox, backup
age) are read from the database at scrape time and reported as they are, once.

prometheus-client comes with the `api` extra; the worker counts only when it is
installed (`worker_metrics`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics import MetricWrapperBase

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Ingests and replays take longer than requests: up to an hour.
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: (name, help, labels) of every counter; the name is exposed as `<name>` with its
#: `_total` (prometheus-client adds the suffix to a counter named without it).
COUNTERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ingestry_ingested_rows_total", "Payloads received, per source.", ("source",)),
    ("ingestry_rows_stored_total", "Raw payloads newly stored, per source.", ("source",)),
    ("ingestry_quarantined_total", "Payloads quarantined, per source.", ("source",)),
    (
        "ingestry_records_written_total",
        "Records created or updated, per source and outcome.",
        ("source", "outcome"),
    ),
    ("ingestry_http_requests_total", "HTTP requests served.", ("method", "route", "status")),
    (
        "ingestry_job_lease_takeovers_total",
        "Jobs taken over from a worker that stopped renewing its lease, per kind.",
        ("kind",),
    ),
    ("ingestry_harvest_pages_total", "Pages taken by harvest runs, per source.", ("source",)),
    (
        "ingestry_harvest_requests_total",
        "HTTP requests of harvest runs (retries and pages asked for ahead included).",
        ("source",),
    ),
    (
        "ingestry_harvest_retries_total",
        "Harvest requests repeated after a 429, a 5xx or a connection error.",
        ("source",),
    ),
    ("ingestry_harvest_bytes_total", "Bytes of the pages harvests took.", ("source",)),
    ("ingestry_cache_hits_total", "Record reads answered by the cache.", ("cache",)),
    ("ingestry_cache_misses_total", "Record reads the cache sent to the database.", ("cache",)),
    ("ingestry_cache_invalidations_total", "Cache entries invalidated.", ("cache",)),
)
HISTOGRAMS: tuple[tuple[str, str, tuple[str, ...], tuple[float, ...]], ...] = (
    (
        "ingestry_http_request_duration_seconds",
        "HTTP request latency in seconds.",
        ("method", "route", "status"),
        LATENCY_BUCKETS,
    ),
    (
        "ingestry_ingest_seconds",
        "Ingest duration in seconds, per source.",
        ("source",),
        RUN_BUCKETS,
    ),
    (
        "ingestry_replay_seconds",
        "Replay duration in seconds, per source.",
        ("source",),
        RUN_BUCKETS,
    ),
    (
        "ingestry_harvest_seconds",
        "Harvest run duration in seconds, per source.",
        ("source",),
        RUN_BUCKETS,
    ),
)

#: A whole-store figure read at scrape time: (name, help, labels, value).
Gauge = tuple[str, str, Mapping[str, str], float]
#: A cache's counters, `(kind, hits, misses, invalidations)` since the process started
#: (see `Metrics.cache_stats`).
CacheStats = Callable[[], tuple[str, int, int, int]]
CACHE_COUNTERS = (
    "ingestry_cache_hits_total",
    "ingestry_cache_misses_total",
    "ingestry_cache_invalidations_total",
)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class Metrics:
    """The process's counters and histograms, and the `/metrics` text."""

    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Histogram,
            disable_created_metrics,
        )

        # no `_created` series: timestamps nobody graphs
        disable_created_metrics()  # type: ignore[no-untyped-call]
        # a registry per instance: several apps in one process (tests) never clash
        self.registry: CollectorRegistry = CollectorRegistry(auto_describe=True)
        self._series: dict[str, MetricWrapperBase] = {}
        for name, text, labels in COUNTERS:
            self._series[name] = Counter(name, text, labels, registry=self.registry)
        for name, text, labels, buckets in HISTOGRAMS:
            self._series[name] = Histogram(
                name, text, labels, buckets=buckets, registry=self.registry
            )
        #: The hook for the record cache's own counters (`RecordCache.stats()`): a
        #: function returning `(kind, hits, misses, invalidations)`; `sync_cache` adds
        #: what they grew by.
        self.cache_stats: CacheStats | None = None
        self._cache_seen = (0, 0, 0)
        self._cache_lock = threading.Lock()

    def inc(self, name: str, labels: Mapping[str, str], value: float = 1.0) -> None:
        self._series[name].labels(**labels).inc(value)  # type: ignore[attr-defined]

    def observe(self, name: str, labels: Mapping[str, str], seconds: float) -> None:
        self._series[name].labels(**labels).observe(seconds)  # type: ignore[attr-defined]

    def observe_latency(self, labels: Mapping[str, str], seconds: float) -> None:
        self.observe("ingestry_http_request_duration_seconds", labels, seconds)

    def count_ingest(self, summary: Mapping[str, Any]) -> None:
        """The counters of one ingest's summary (`IngestSummary.as_dict()`)."""
        labels = {"source": str(summary["source"])}
        self.inc("ingestry_ingested_rows_total", labels, summary.get("received", 0))
        self.inc("ingestry_rows_stored_total", labels, summary.get("raw_stored", 0))
        self.inc("ingestry_quarantined_total", labels, summary.get("quarantined", 0))
        for outcome in ("created", "updated"):
            value = summary.get(f"records_{outcome}", 0)
            self.inc("ingestry_records_written_total", {**labels, "outcome": outcome}, value)

    def count_harvest(self, summary: Mapping[str, Any]) -> None:
        """The harvest counts of one run's summary (`HarvestSummary.as_dict()`), beside
        its ingest counts (`count_ingest`)."""
        labels = {"source": str(summary["source"])}
        for count in ("pages", "requests", "retries", "bytes"):
            self.inc(f"ingestry_harvest_{count}_total", labels, summary.get(count, 0))

    def sync_cache(self) -> None:
        """Add what the cache's counters grew by since the last sync to the Prometheus
        counters (after every request and at scrape), so in multiprocess mode they are
        in this process's files and summed like every other counter."""
        if self.cache_stats is None:
            return
        kind, *now = self.cache_stats()
        with self._cache_lock:
            seen, self._cache_seen = self._cache_seen, (now[0], now[1], now[2])
        for name, value, before in zip(CACHE_COUNTERS, now, seen, strict=True):
            if value > before:
                self.inc(name, {"cache": kind}, value - before)

    def render(self, gauges: Iterable[Gauge] = ()) -> str:
        """The exposition text: this process's (or, in multiprocess mode, every
        process's) series, then `gauges` and the cache's counters."""
        from prometheus_client import CollectorRegistry, generate_latest

        self.sync_cache()
        if multiprocess():
            from prometheus_client.multiprocess import MultiProcessCollector

            counted = CollectorRegistry()
            MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
        else:
            counted = self.registry
        scraped = CollectorRegistry()
        scraped.register(_ScrapeCollector(list(gauges)))
        return (generate_latest(counted) + generate_latest(scraped)).decode()


class _ScrapeCollector:
    """Gauges read at scrape time, as metric families."""

    def __init__(self, gauges: list[Gauge]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        families: dict[str, GaugeMetricFamily] = {}
        for name, text, labels, value in self.gauges:
            family = families.get(name)
            if family is None:
                family = families[name] = GaugeMetricFamily(name, text, labels=sorted(labels))
            family.add_metric([labels[k] for k in sorted(labels)], value)
        yield from families.values()


def new_metrics() -> Metrics:
    return Metrics()


def worker_metrics() -> Metrics | None:
    """The worker's metrics, or None when prometheus-client is not installed."""
    try:
        return Metrics()
    except ImportError:
        return None


def reset_multiprocess_dir(directory: str) -> None:
    """Start a serve with an empty PROMETHEUS_MULTIPROC_DIR (the client's rule: files
    of processes from an earlier run would be summed in)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    for file in root.glob("*.db"):
        file.unlink()
