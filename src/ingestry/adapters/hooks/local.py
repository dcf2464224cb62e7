"""The local HookRunner: a hook is a subprocess on this machine.

The command is split like a shell would (no shell runs), started in the config's
directory (relative paths in it resolve like every other path in the config) with the
hook's environment added to ours; a leading `python`/`python3` is the interpreter
ingestry runs under, so a hook finds the same Python on a machine without `python` on
PATH. Output goes to temporary files, not pipes: a chatty hook cannot fill a pipe and
block, and only the tails are kept. On timeout the whole process group is killed, so a
hook's own children do not outlive it.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from ingestry.domain.conventions import HookSpec
from ingestry.domain.features import HookResult

TAIL_BYTES = 4096
_PYTHONS = ("python", "python3")


def _tail(stream: IO[bytes]) -> str:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - TAIL_BYTES))
    text = stream.read().decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")  # storable as text on every backend


class LocalHookRunner:
    """Runs hooks as subprocesses with a timeout; `cwd` is the config's directory."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def command(self, hook: HookSpec) -> list[str]:
        argv = shlex.split(hook.run)
        if argv and argv[0] in _PYTHONS:
            argv[0] = sys.executable
        return argv

    def run(
        self, hook: HookSpec, work_dir: Path, env: Mapping[str, str], timeout: float
    ) -> HookResult:
        started = time.perf_counter()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                argv = self.command(hook)
                if not argv:
                    raise ValueError("empty command")
                process = subprocess.Popen(
                    argv,
                    cwd=self.cwd,
                    env={**os.environ, **env},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=os.name == "posix",
                )
            except (OSError, ValueError) as exc:
                return HookResult(
                    None, time.perf_counter() - started, error=f"cannot start {hook.run!r}: {exc}"
                )
            timed_out = False
            try:
                code: int | None = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill(process)
                process.wait()
                code = None
            duration = time.perf_counter() - started
            return HookResult(code, duration, _tail(out), _tail(err), timed_out)


def _kill(process: subprocess.Popen[bytes]) -> None:
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
            return
        except ProcessLookupError:
            return
    process.kill()
