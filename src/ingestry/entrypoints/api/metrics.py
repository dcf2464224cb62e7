"""The API's metrics: see `ingestry.entrypoints.metrics` (prometheus-client)."""

from __future__ import annotations

from ingestry.entrypoints.metrics import LATENCY_BUCKETS, Gauge, Metrics, new_metrics

__all__ = ["LATENCY_BUCKETS", "Gauge", "Metrics", "new_metrics"]
