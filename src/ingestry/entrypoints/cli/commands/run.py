"""`ingestry run [SOURCE…]`: ingest every source's configured `files`."""

from __future__ import annotations

import glob
import os
import sys

import click

from ingestry.domain.errors import InputError
from ingestry.entrypoints.cli.commands.ingest import (
    CONTRACT_KEYS,
    describe,
    duplicates_warning,
    warn_if_nothing_passed,
)
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json
from ingestry.entrypoints.cli.progress import ingest_progress


@click.command("run")
@click.argument("sources", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON summary per source (JSON Lines).")
@click.option("--strict", is_flag=True, help="Any bad row rolls that source's run back (exit 1).")
@click.pass_obj
def command(ctx: CliContext, sources: tuple[str, ...], as_json: bool, strict: bool) -> None:
    """The main job: ingest the files each source declares under `files:`."""
    store = ctx.store()
    chosen = [store.source(n) for n in sources] or sorted(
        (s for s in store.settings.sources.values() if s.files), key=lambda s: s.name
    )
    for source in chosen:
        found = {p for pattern in source.files for p in glob.glob(pattern, recursive=True)}  # noqa: PTH207
        paths = sorted(_short(p) for p in found)
        if not paths:
            raise InputError(
                f"{source.name}: no file matches "
                f"{', '.join(source.files) or '(no `files:` configured)'}"
            )
        with ingest_progress(tuple(paths), enabled=sys.stderr.isatty()) as progress:
            summary = store.ingest_files(source.name, paths, strict=strict, progress=progress)
        if as_json:
            echo_json({k: summary.as_dict()[k] for k in CONTRACT_KEYS})
        else:
            click.echo(describe(summary))
            if summary.duplicate_ids:
                click.echo(duplicates_warning(summary), err=True)
        warn_if_nothing_passed(summary)


def _short(path: str) -> str:
    """Record origins relative to the working directory when they are under it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
