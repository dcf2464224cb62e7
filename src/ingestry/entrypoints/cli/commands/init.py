"""`ingestry init DIR`"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import click

DATA_DIRS = ("raw", "processed", "external", "cache", "samples")
GITIGNORE = """# Data is not versioned, except small samples used by tests.
raw/
processed/
external/
cache/
*.db
*.db-wal
*.db-shm
*.db-schema.lock
"""


DATA_README = """# data/

What each folder holds (ingestry's layout; only `samples/` is versioned):

- `raw/` — files as they were downloaded or received, never edited
- `processed/` — what ingestry and your scripts derive (exports land here)
- `external/` — reference data from third parties (lookups, code lists)
- `cache/` — anything that can be deleted and rebuilt
- `samples/` — small files the tests and examples use

The scripts that download and process these files live in `../scripts/`. The section
below lists the registered sources; `ingestry sources docs --write data/README.md`
keeps it in step with `ingestry.yaml` (and `--write AGENTS.md` does the same there).

"""
SCRIPTS_README = """# scripts/

Download and processing scripts for the data sources: one script per source or step,
named after the source (`fetch_<source>.py`, `process_<source>.py`), writing into
`../data/raw/` (downloads, untouched) or `../data/processed/` (derived). Ingest what they
fetch with `ingestry ingest <source> data/raw/<file>` or list the files under the
source's `files:` and run `ingestry run`.
"""


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path())
@click.option("--force", is_flag=True, help="Overwrite an existing ingestry.yaml.")
def command(directory: Path, force: bool) -> None:
    """Write a commented starter ingestry.yaml and the data/ folders into DIRECTORY."""
    config = directory / "ingestry.yaml"
    if config.exists() and not force:
        raise click.ClickException(f"{config} exists (use --force to overwrite)")
    directory.mkdir(parents=True, exist_ok=True)
    template = files("ingestry").joinpath("templates/ingestry.yaml").read_text(encoding="utf-8")
    config.write_text(template, encoding="utf-8")
    for name in DATA_DIRS:
        (directory / "data" / name).mkdir(parents=True, exist_ok=True)
    ignore = directory / "data" / ".gitignore"
    if not ignore.exists():
        ignore.write_text(GITIGNORE, encoding="utf-8")
    _readmes(directory, config)
    click.echo(f"wrote {config} and {directory / 'data'}/{{{','.join(DATA_DIRS)}}}")
    click.echo(f"wrote {directory / 'data' / 'README.md'} and {directory / 'scripts'}/")
    click.echo(f"next: ingestry --config {config} sources list")


def _readmes(directory: Path, config: Path) -> None:
    """data/README.md (the layout and the sources of the new config) and scripts/;
    files that exist are kept (a re-init never overwrites notes someone wrote)."""
    from ingestry.config import load_settings
    from ingestry.entrypoints.cli.commands.sources import write_sources_section

    data_readme = directory / "data" / "README.md"
    if not data_readme.exists():
        data_readme.write_text(DATA_README, encoding="utf-8")
        write_sources_section(data_readme, list(load_settings(config).sources.values()))
    scripts = directory / "scripts"
    scripts.mkdir(exist_ok=True)
    if not (scripts / "README.md").exists():
        (scripts / "README.md").write_text(SCRIPTS_README, encoding="utf-8")
