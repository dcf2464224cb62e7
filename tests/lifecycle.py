"""Helpers for record-lifecycle tests: hook scripts and configs that use them.

`with_hooks(config_path, hooks, events=…)` rewrites a test project's config so the
`order` convention runs the given hooks (and sets `events:` options); the scripts in
HOOK_SCRIPTS are written to `<project>/hooks/`. Hooks run with the project directory
as their working directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

ORDER_LAST_COLUMN = "      paid:         {path: financial.paid, type: boolean}\n"

HOOK_SCRIPTS: dict[str, str] = {
    # features/summary.json: what the hook saw (work_dir contents and environment)
    "ok.py": """
import json, os, pathlib
work = pathlib.Path(os.environ["INGESTRY_WORK_DIR"])
record = json.loads((work / "record.json").read_text())
raw = work / "raw.bin"
summary = {
    "srn": os.environ["INGESTRY_RECORD_SRN"],
    "version": int(os.environ["INGESTRY_RECORD_VERSION"]),
    "event": os.environ["INGESTRY_EVENT"],
    "record_version": record["version"],
    "metadata_keys": sorted(record["metadata"]),
    "columns": record["columns"],
    "raw": raw.read_text() if raw.exists() else None,
    "features_empty": not any((work / "features").iterdir()),
}
(work / "features" / "summary.json").write_text(json.dumps(summary))
(work / "features" / "notes.txt").write_text("ignored: not .json")
""",
    "fail.py": """
import sys
print("about to fail", flush=True)
print("boom: the hook failed on purpose", file=sys.stderr)
sys.exit(3)
""",
    "hang.py": """
import time
time.sleep(60)
""",
    "garbage.py": """
import os, pathlib
work = pathlib.Path(os.environ["INGESTRY_WORK_DIR"])
(work / "features" / "bad.json").write_text("{this is not json")
print("garbage written")
""",
    # appends "srn pid dispatcher-pid" to log.txt; blocks while `block` names this srn
    "slow.py": """
import json, os, pathlib, time
srn = os.environ["INGESTRY_RECORD_SRN"]
with open("log.txt", "a") as log:
    log.write(f"{srn} {os.getpid()} {os.getppid()}\\n")
block = pathlib.Path("block")
if block.exists() and block.read_text().strip() == srn:
    time.sleep(120)
time.sleep(0.02)
work = pathlib.Path(os.environ["INGESTRY_WORK_DIR"])
(work / "features" / "seen.json").write_text(json.dumps({"srn": srn}))
""",
}


def hook_line(name: str, script: str, timeout: float = 30) -> str:
    return f'      - {{name: {name}, run: "python hooks/{script}", timeout: {timeout:g}}}\n'


def with_hooks(
    config_path: Path,
    hooks: list[tuple[str, str, float]],
    *,
    events: Mapping[str, Any] | None = None,
    cache: str | None = None,
) -> Path:
    """Give the `order` convention these (name, script, timeout) hooks."""
    root = config_path.parent
    (root / "hooks").mkdir(exist_ok=True)
    for name, body in HOOK_SCRIPTS.items():
        (root / "hooks" / name).write_text(body.lstrip(), encoding="utf-8")
    text = config_path.read_text(encoding="utf-8")
    block = "    hooks:\n" + "".join(hook_line(*h) for h in hooks) if hooks else ""
    assert ORDER_LAST_COLUMN in text
    text = text.replace(ORDER_LAST_COLUMN, ORDER_LAST_COLUMN + block, 1)
    if events:
        text += "events:\n" + "".join(f"  {k}: {v}\n" for k, v in events.items())
    if cache:
        text = f"cache: {cache}\n" + text
    config_path.write_text(text, encoding="utf-8")
    return config_path


def order(order_id: str, **fields: Any) -> dict[str, Any]:
    """An order payload with what the test config's `order` convention requires."""
    return {"id": order_id, "created_at": "2026-11-01T10:00:00Z", **fields}
