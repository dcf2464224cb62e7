"""Run one benchmark step as a child process and record its wall time, CPU and peak RSS.

Every step runs in its own process so imports, interpreter start and memory are
measured the way a user meets them, and one step's heap cannot inflate another's.
`os.wait4` gives the rusage of exactly that child (RUSAGE_CHILDREN would report the
largest child so far, hiding a smaller later one). Its `ru_maxrss` is the largest single
process in the child's tree, though, and ingestry may fork workers that hold memory at
the same time, so a sampler also sums RSS over the whole tree every 0.2 s (an upper
bound: pages shared after fork are counted once per process).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import psutil

if TYPE_CHECKING:
    from pgdb import BackendCpu

SAMPLE_SECONDS = 0.2  # tree RSS sampling period; ~0.5% of a core on a 2-core box


class StepError(RuntimeError):
    """A benchmark child exited non-zero or printed something that is not JSON."""


@dataclass(frozen=True)
class Measurement:
    """One timed step; `inner_seconds` is the step's own timer (no start-up, no import)."""

    key: str
    label: str
    records: int
    wall_seconds: float
    inner_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    peak_tree_rss_mb: float
    other_cpu_cores: float = 0.0  # CPU other processes used meanwhile, in cores
    server_cpu_seconds: float | None = None  # PostgreSQL backends serving the step
    summary: dict[str, Any] = field(default_factory=dict)
    all_wall_seconds: tuple[float, ...] = ()  # every round's wall time when repeated
    all_other_cpu_cores: tuple[float, ...] = ()  # and the CPU others used in each round

    @classmethod
    def of(cls, key: str, label: str, child: ChildRun, *, inner_seconds: float) -> Measurement:
        """A step's measurement from its finished child; records = what it received."""
        return cls(
            key=key,
            label=label,
            records=int(child.output["received"]),
            wall_seconds=child.wall_seconds,
            inner_seconds=inner_seconds,
            cpu_seconds=child.cpu_seconds,
            peak_rss_mb=child.peak_rss_mb,
            peak_tree_rss_mb=child.peak_tree_rss_mb,
            other_cpu_cores=child.other_cpu_cores,
            server_cpu_seconds=child.server_cpu_seconds,
            summary=child.output,
        )

    @property
    def rate(self) -> float:
        """Records per second of wall time: what a user waiting on the command sees."""
        return self.records / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def inner_rate(self) -> float:
        """Records per second of the step's own timer, start-up excluded."""
        return self.records / self.inner_seconds if self.inner_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view, rates included."""
        return {
            "label": self.label,
            "records": self.records,
            "wall_seconds": round(self.wall_seconds, 3),
            "inner_seconds": round(self.inner_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "records_per_second": round(self.rate, 1),
            "inner_records_per_second": round(self.inner_rate, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "peak_tree_rss_mb": round(self.peak_tree_rss_mb, 1),
            "other_cpu_cores": round(self.other_cpu_cores, 2),
            "server_cpu_seconds": self.server_cpu_seconds,
            "all_wall_seconds": [round(s, 3) for s in self.all_wall_seconds],
            "all_other_cpu_cores": [round(c, 2) for c in self.all_other_cpu_cores],
            "summary": self.summary,
        }


@dataclass(frozen=True)
class ChildRun:
    """What a finished child left behind."""

    output: dict[str, Any]
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    peak_tree_rss_mb: float
    other_cpu_cores: float
    server_cpu_seconds: float | None = None


def busy_seconds() -> float:
    """CPU seconds all processes on the machine have run (guest time is inside user)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


class TreeRss(threading.Thread):
    """Samples the summed RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, self.sample())

    def sample(self) -> int:
        """Bytes resident across the tree now; processes that vanish mid-read count 0."""
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total


def run_child(
    argv: list[str], workdir: Path, env: dict[str, str], server: BackendCpu | None = None
) -> ChildRun:
    """Run argv in workdir, wait for it with wait4, parse its stdout as one JSON object.

    `server` samples the PostgreSQL backends of the step's database: their CPU is the
    step's too, not competing load."""
    out_path, err_path = workdir / "stdout.json", workdir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        busy_before, start = busy_seconds(), time.perf_counter()
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=out, stderr=err)
        sampler = TreeRss(proc.pid)
        sampler.start()
        if server is not None:
            server.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        busy = busy_seconds() - busy_before
        sampler.done.set()
        sampler.join()
        server_cpu = server.stop() if server is not None else None
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise StepError(f"{argv[:4]}… exited {proc.returncode}:\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime
    return ChildRun(
        output=parse_output(out_path),
        wall_seconds=wall,
        cpu_seconds=cpu,
        # a figure taken while something else competed for the cores is not comparable
        other_cpu_cores=max(0.0, busy - cpu - (server_cpu or 0.0)) / wall if wall else 0.0,
        server_cpu_seconds=server_cpu,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
        # a child too short to be sampled still has its own peak
        peak_tree_rss_mb=max(sampler.peak / 2**20, usage.ru_maxrss / 1024),
    )


def parse_output(path: Path) -> dict[str, Any]:
    """The child's stdout as a JSON object, or a StepError that shows what it printed."""
    text = path.read_bytes()
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise StepError(f"not JSON: {text[:500]!r}") from error
    if not isinstance(value, dict):
        raise StepError(f"expected a JSON object, got: {text[:500]!r}")
    return value


def fastest(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` calls, in seconds: outside work only ever adds time."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
