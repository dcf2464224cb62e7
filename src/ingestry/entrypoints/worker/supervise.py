"""Keep a worker loop running: restart it with backoff when it crashes, give up loudly.

A loop that dies used to leave the worker process running without it (or stopping with
exit 0), which a supervisor (systemd, Kubernetes) takes for success and never restarts.
Now a crashed loop is opened again after a growing pause (a locked SQLite file, a
database restart or a network blip pass); after `max_restarts` crashes in a row with
no healthy stretch between them, the worker stops every loop and exits non-zero, so
the supervisor restarts the process and the operator sees why in the log.
INGESTRY_WORKER_MAX_RESTARTS and INGESTRY_WORKER_RESTART_BACKOFF (seconds) override.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ingestry.domain.errors import ConfigError

log = logging.getLogger("ingestry.worker")

#: A loop that ran this long before crashing was healthy: its crash count starts over.
HEALTHY_SECONDS = 60.0


@dataclass(frozen=True)
class RestartPolicy:
    max_restarts: int = 5
    backoff: float = 1.0  # the first pause; it doubles, up to `max_backoff`
    max_backoff: float = 30.0

    def pause(self, crashes: int) -> float:
        return float(min(self.max_backoff, self.backoff * 2 ** (crashes - 1)))


def restart_policy(env: Mapping[str, str] | None = None) -> RestartPolicy:
    env = os.environ if env is None else env
    default = RestartPolicy()
    raw_max = env.get("INGESTRY_WORKER_MAX_RESTARTS", "").strip()
    raw_backoff = env.get("INGESTRY_WORKER_RESTART_BACKOFF", "").strip()
    try:
        restarts = int(raw_max) if raw_max else default.max_restarts
        backoff = float(raw_backoff) if raw_backoff else default.backoff
    except ValueError:
        restarts, backoff = -1, -1.0
    if restarts < 0 or not backoff >= 0:
        raise ConfigError(
            "INGESTRY_WORKER_MAX_RESTARTS must be a whole number from 0 and "
            f"INGESTRY_WORKER_RESTART_BACKOFF seconds from 0, not '{raw_max}', '{raw_backoff}'"
        )
    return RestartPolicy(restarts, backoff)


class LoopFailure:
    """The loops that gave up (read by the worker to choose its exit status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failed: list[str] = []

    def add(self, message: str) -> None:
        with self._lock:
            self.failed.append(message)


def supervise(
    name: str,
    body: Callable[[], None],
    stop: threading.Event,
    policy: RestartPolicy,
    failures: LoopFailure,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run `body` until it returns or `stop` is set, restarting it after a crash."""
    crashes = 0
    while not stop.is_set():
        started = clock()
        try:
            body()
            return
        except Exception as exc:
            if clock() - started >= HEALTHY_SECONDS:
                crashes = 0
            crashes += 1
            if crashes > policy.max_restarts:
                message = (
                    f"worker loop {name} crashed {crashes} times in a row, giving up: "
                    f"{type(exc).__name__}: {exc}"
                )
                log.exception(message)
                failures.add(message)
                stop.set()
                return
            pause = policy.pause(crashes)
            log.exception(
                "worker loop %s crashed (restart %d of %d in %.1fs)",
                name, crashes, policy.max_restarts, pause,
            )  # fmt: skip
            if stop.wait(pause):
                return
