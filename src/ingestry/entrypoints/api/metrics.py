"""Prometheus metrics, rendered in the text exposition format (no client library).

Counters and the latency histogram live in this process (Prometheus sums processes);
job queue depth and open quarantine are read from the database at scrape time, so
every API process reports the same, whole-store figures.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels, extra: Labels = ()) -> str:
    pairs = (*labels, *extra)
    if not pairs:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = {}
        self._help: dict[str, tuple[str, str]] = {}
        self._hist: dict[Labels, list[float]] = {}  # bucket counts..., sum, count

    def describe(self, name: str, kind: str, text: str) -> None:
        self._help[name] = (kind, text)

    def inc(self, name: str, labels: Mapping[str, str], value: float = 1.0) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters.setdefault(name, {})
            series[key] = series.get(key, 0.0) + value

    def observe_latency(self, labels: Mapping[str, str], seconds: float) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            row = self._hist.get(key)
            if row is None:
                row = self._hist[key] = [0.0] * (len(LATENCY_BUCKETS) + 2)
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += seconds
            row[-1] += 1

    def render(self, gauges: Iterable[tuple[str, str, Mapping[str, str], float]] = ()) -> str:
        """The exposition text; `gauges` are (name, help, labels, value) read at scrape."""
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._counters.items()):
                kind, text = self._help.get(name, ("counter", name))
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                for labels, value in sorted(series.items()):
                    lines.append(f"{name}{_labels(labels)} {_number(value)}")
            hist = "ingestry_http_request_duration_seconds"
            lines += [
                f"# HELP {hist} HTTP request latency in seconds.",
                f"# TYPE {hist} histogram",
            ]
            for labels, row in sorted(self._hist.items()):
                for i, bound in enumerate(LATENCY_BUCKETS):
                    le = (("le", _number(bound)),)
                    lines.append(f"{hist}_bucket{_labels(labels, le)} {_number(row[i])}")
                inf = (("le", "+Inf"),)
                lines.append(f"{hist}_bucket{_labels(labels, inf)} {_number(row[-1])}")
                lines.append(f"{hist}_sum{_labels(labels)} {row[-2]!r}")
                lines.append(f"{hist}_count{_labels(labels)} {_number(row[-1])}")
        seen: set[str] = set()
        for name, text, gauge_labels, value in gauges:
            if name not in seen:
                seen.add(name)
                lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
            key = tuple(sorted(gauge_labels.items()))
            lines.append(f"{name}{_labels(key)} {_number(value)}")
        return "\n".join(lines) + "\n"


def new_metrics() -> Metrics:
    metrics = Metrics()
    metrics.describe(
        "ingestry_ingested_rows_total", "counter", "Payloads received over the API, per source."
    )
    metrics.describe(
        "ingestry_records_written_total",
        "counter",
        "Records created or updated by API ingests, per source and outcome.",
    )
    metrics.describe(
        "ingestry_quarantined_total", "counter", "Payloads quarantined by API ingests, per source."
    )
    metrics.describe("ingestry_http_requests_total", "counter", "HTTP requests served.")
    return metrics
