"""init, sources list/docs/classify, db commands (db commands on every backend)."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.e2e.cli import run


def test_init_writes_config_and_data_dirs(tmp_path: Path) -> None:
    result = run("init", "proj", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("raw", "processed", "external", "cache", "samples"):
        assert (tmp_path / "proj" / "data" / name).is_dir()
    text = (tmp_path / "proj" / "ingestry.yaml").read_text()
    assert text.count("#") > 10  # commented
    listed = run("--config", "proj/ingestry.yaml", "sources", "list", "--json", cwd=tmp_path)
    assert orjson.loads(listed.stdout)["name"] == "customer_orders"
    again = run("init", "proj", cwd=tmp_path)
    assert again.returncode == 1 and b"exists" in again.stderr


def test_sources_list_and_docs(local_project: Path) -> None:
    project = local_project
    listed = [
        orjson.loads(ln) for ln in run("sources", "list", "--json", cwd=project).stdout.splitlines()
    ]
    by_name = {s["name"]: s for s in listed}
    assert by_name["customer_orders"]["strategy"] == "raw"
    assert by_name["customer_orders"]["retention_days"] == 90
    assert by_name["exchange_rates"]["id"] == ["date", "base", "quote"]
    docs = run("sources", "docs", cwd=project).stdout.decode()
    assert "| Source | Strategy | Rationale |" in docs
    assert "| customer_orders | RAW | Customer-provided data, cannot re-fetch |" in docs
    assert "| exchange_rates | SIMPLE |" in docs


def test_classify_by_flags(tmp_path: Path) -> None:
    simple = run("sources", "classify", "--refetchable", "--json", cwd=tmp_path)
    assert orjson.loads(simple.stdout)["strategy"] == "simple"
    raw = run("sources", "classify", "--not-refetchable", "--rate-limited", "--json", cwd=tmp_path)
    answer = orjson.loads(raw.stdout)
    assert answer["strategy"] == "raw" and "Rate-limited" in answer["rationale"]
    unsure = run("sources", "classify", "--no-input", cwd=tmp_path)
    assert b"strategy: raw" in unsure.stdout


def test_classify_interactive_prompts(tmp_path: Path) -> None:
    # stdin is not a TTY here, so prompts are off; answers come only from flags
    result = run("sources", "classify", "--not-refetchable", "--customer-provided", cwd=tmp_path)
    assert b"strategy: raw" in result.stdout and b"Customer-provided" in result.stdout


def test_db_commands(project: Path) -> None:
    current = run("db", "current", cwd=project)
    assert b"current: empty" in current.stdout
    up = run("db", "upgrade", cwd=project)
    assert up.returncode == 0, up.stderr
    assert b"current: 2026" in run("db", "current", cwd=project).stdout
    down = run("db", "downgrade", "base", cwd=project)
    assert down.returncode == 0, down.stderr
    assert b"current: empty" in run("db", "current", cwd=project).stdout
