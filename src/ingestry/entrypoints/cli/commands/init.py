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
    click.echo(f"wrote {config} and {directory / 'data'}/{{{','.join(DATA_DIRS)}}}")
    click.echo(f"next: ingestry --config {config} sources list")
