"""Hot-path rows as plain tuples against named values (issue 15 item 2): what a batch of
5,000 raw rows costs to build, send from a preparation worker and read back, per
100,000 rows. `.venv/bin/python bench/rows_bench.py [--rows 5000] [--repeat 7]`.

Tuples travel as `marshal`ed bytes (`adapters/parallel.py`); marshal refuses any other
type, so a NamedTuple or dataclass batch has to be pickled. Figures: bench/README.md
("Rows: tuples or named values") and docs/architecture.md ("Left of issue 15").
"""

from __future__ import annotations

import argparse
import hashlib
import marshal
import pickle
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass
from typing import Any, NamedTuple


class RawNamed(NamedTuple):
    source: str
    entity_type: str
    source_id: str
    sha256: bytes
    payload: bytes
    header_sha256: bytes | None
    received_at: str
    processed_at: str | None
    extractor_version: str | None
    error: str | None
    line: int | None
    origin: str | None


@dataclass(slots=True, frozen=True)
class RawSlots:
    source: str
    entity_type: str
    source_id: str
    sha256: bytes
    payload: bytes
    header_sha256: bytes | None
    received_at: str
    processed_at: str | None
    extractor_version: str | None
    error: str | None
    line: int | None
    origin: str | None


def fields(i: int, payload: bytes) -> tuple[Any, ...]:
    sha = hashlib.sha256(b"%d" % i).digest()
    at = "2026-12-03T00:00:00+00:00"
    return ("orders", "order", str(i), sha, payload, None, at, None, "v1", None, i, "in.jsonl")


def build_tuple(items: list[tuple[Any, ...]]) -> list[Any]:
    return [(*item,) for item in items]


def build_named(items: list[tuple[Any, ...]]) -> list[Any]:
    return [RawNamed(*item) for item in items]


def build_slots(items: list[tuple[Any, ...]]) -> list[Any]:
    return [RawSlots(*item) for item in items]


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    payload = b"x" * 830  # the benchmark's average line
    items = [fields(i, payload) for i in range(args.rows)]
    scale = 100_000 / args.rows
    kinds: list[tuple[str, Callable[[list[Any]], list[Any]], str]] = [
        ("tuple (today)", build_tuple, "marshal"),
        ("NamedTuple", build_named, "pickle"),
        ("dataclass(slots)", build_slots, "pickle"),
        ("dataclass(slots) sent as tuples", build_slots, "astuple+marshal"),
    ]
    print(f"per 100,000 rows ({args.rows:,}-row batches, best of {args.repeat}), seconds")
    print(f"{'rows':34} {'build':>7} {'send':>7} {'receive':>8} {'total':>7}")
    for name, build, how in kinds:
        parts = [x * scale for x in measure(items, build, how, args.repeat)]
        print(f"{name:34} {parts[0]:7.3f} {parts[1]:7.3f} {parts[2]:8.3f} {sum(parts):7.3f}")


def measure(
    items: list[tuple[Any, ...]], build: Callable[[list[Any]], list[Any]], how: str, repeat: int
) -> tuple[float, float, float]:
    """Seconds to build one batch, to send it (bytes) and to read it back."""
    t_build, rows = best(lambda: build(items), repeat)
    send: Callable[[], bytes]
    receive: Callable[[bytes], Any]
    if how == "marshal":
        send, receive = (lambda: marshal.dumps(rows)), marshal.loads
    elif how == "pickle":
        send, receive = (lambda: pickle.dumps(rows, protocol=5)), pickle.loads
    else:
        send = lambda: marshal.dumps([astuple(r) for r in rows])  # noqa: E731
        receive = lambda data: [RawSlots(*t) for t in marshal.loads(data)]  # noqa: E731
    t_send, data = best(send, repeat)
    t_recv, _ = best(lambda: receive(data), repeat)
    return t_build, t_send, t_recv


if __name__ == "__main__":
    main()
