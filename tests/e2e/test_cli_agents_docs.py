"""`sources docs --write FILE` and the data/README.md and scripts/ that `init` writes."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import run

OTHER = "# Agents\n\nHow to work here.\n\n## Build\n\n./dev test\n"


def test_docs_write_updates_its_section_in_place_and_is_idempotent(local_project: Path) -> None:
    agents = local_project / "AGENTS.md"
    agents.write_text(OTHER, encoding="utf-8")
    first = run("sources", "docs", "--write", "AGENTS.md", cwd=local_project)
    assert first.returncode == 0, first.stderr
    assert b"updated" in first.stdout
    written = agents.read_text(encoding="utf-8")
    assert written.startswith(OTHER) and "| customer_orders | RAW |" in written
    again = run("sources", "docs", "--write", "AGENTS.md", cwd=local_project)
    assert b"unchanged" in again.stdout and agents.read_text(encoding="utf-8") == written
    # a source added to the config replaces the table, and only the table
    agents.write_text(written + "\n## Notes\n\nkept\n", encoding="utf-8")
    config = local_project / "ingestry.yaml"
    config.write_text(
        config.read_text().replace("orders_simple:", "orders_simple_2:", 1), encoding="utf-8"
    )
    run("sources", "docs", "--write", "AGENTS.md", cwd=local_project)
    final = agents.read_text(encoding="utf-8")
    assert final.startswith(OTHER) and final.endswith("## Notes\n\nkept\n")
    assert "orders_simple_2" in final and "| orders_simple |" not in final
    assert final.count("ingestry:sources:start") == 1


def test_init_writes_data_readme_and_scripts(tmp_path: Path) -> None:
    assert run("init", "proj", cwd=tmp_path).returncode == 0
    readme = (tmp_path / "proj" / "data" / "README.md").read_text(encoding="utf-8")
    assert "`raw/`" in readme and "| customer_orders |" in readme
    assert (tmp_path / "proj" / "scripts" / "README.md").is_file()
    again = run("--config", "proj/ingestry.yaml", "sources", "docs", "--write",
                "proj/data/README.md", cwd=tmp_path)  # fmt: skip
    assert b"unchanged" in again.stdout
