"""`ingestry sources list|docs|classify|migrate`"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ingestry.domain.conventions import join_path
from ingestry.domain.sources import (
    CLASSIFY_QUESTIONS,
    ClassifyAnswers,
    DataSource,
    classify,
    sources_section,
    sources_table,
    with_sources_section,
)
from ingestry.entrypoints.cli.context import CliContext
from ingestry.entrypoints.cli.output import echo_json, table


@click.group("sources")
def command() -> None:
    """The source registry: what comes in, and how it is kept."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_sources(ctx: CliContext, as_json: bool) -> None:
    """List registered data sources."""
    sources = sorted(ctx.settings().sources.values(), key=lambda s: s.name)
    if as_json:
        for s in sources:
            echo_json(
                {
                    "name": s.name,
                    "strategy": s.strategy.value,
                    "convention": s.convention,
                    "format": s.format.value,
                    "id": [join_path(p) for p in s.id_paths],
                    "entity_type": join_path(s.entity_type_path) if s.entity_type_path else None,
                    "retention_days": s.retention_days,
                    "extractor": s.extractor,
                    "rationale": s.rationale,
                }
            )
        return
    table(
        "Data sources",
        ["source", "strategy", "convention", "format", "id", "retention", "rationale"],
        [
            [
                s.name,
                s.strategy.value,
                s.convention,
                s.format.value,
                "|".join(join_path(p) for p in s.id_paths),
                _retention(s.retention_days, s.is_raw or s.pull is not None),
                s.rationale,
            ]
            for s in sources
        ],
    )


def _retention(days: int | None, raw: bool) -> str:
    if not raw:
        return "-"
    return f"{days}d" if days else "forever"


@command.command("docs")
@click.option(
    "--write",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Update the marked Data Sources section of this file in place (AGENTS.md, "
    "data/README.md); the rest of the file is kept.",
)
@click.pass_obj
def docs(ctx: CliContext, target: Path | None) -> None:
    """Print the Data Sources markdown table (for AGENTS.md / README), or keep it up to
    date in a file with --write."""
    sources = list(ctx.settings().sources.values())
    if target is None:
        click.echo("## Data Sources\n")
        click.echo(sources_table(sources), nl=False)
        return
    changed = write_sources_section(target, sources)
    state = "updated" if changed else "unchanged"
    click.echo(f"{target}: {state} (Data Sources section, {len(sources)} sources)")


def write_sources_section(target: Path, sources: list[DataSource]) -> bool:
    """Write the section into `target` atomically; False when it was already current."""
    before = target.read_text(encoding="utf-8") if target.exists() else ""
    try:
        after = with_sources_section(before, sources_section(sources))
    except ValueError as exc:
        raise click.ClickException(f"{target}: {exc}") from None
    if after == before:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.ingestry-tmp")
    partial.write_text(after, encoding="utf-8")
    partial.replace(target)
    return True


def _answer(flag: bool | None, question: str, interactive: bool) -> bool | None:
    if flag is not None or not interactive:
        return flag
    choice = click.prompt(
        f"{question} [yes/no/unsure]", type=click.Choice(["yes", "no", "unsure"]), default="unsure"
    )
    return {"yes": True, "no": False, "unsure": None}[choice]


@command.command("classify")
@click.option(
    "--refetchable/--not-refetchable", default=None, help="Can you re-fetch this data at any time?"
)
@click.option("--customer-provided/--not-customer-provided", default=None)
@click.option("--rate-limited/--not-rate-limited", default=None)
@click.option("--audit/--no-audit", default=None, help="Audit or compliance requirement?")
@click.option("--unstable-schema/--stable-schema", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--no-input",
    is_flag=True,
    help="Never prompt; unanswered questions count as no (re-fetch: unsure).",
)
def classify_source(
    refetchable: bool | None,
    customer_provided: bool | None,
    rate_limited: bool | None,
    audit: bool | None,
    unstable_schema: bool | None,
    as_json: bool,
    no_input: bool,
) -> None:
    """Walk the decision tree and propose a storage strategy with its rationale."""
    interactive = not no_input and sys.stdin.isatty()
    questions = dict(CLASSIFY_QUESTIONS)
    refetch = _answer(refetchable, questions["refetchable"], interactive)
    # The tree only asks the other four when the data cannot (surely) be re-fetched;
    # flags given on the command line always count.
    ask_rest = interactive and refetch is not True
    given = {
        "customer_provided": customer_provided,
        "rate_limited": rate_limited,
        "audit": audit,
        "unstable_schema": unstable_schema,
    }
    rest = {key: bool(_answer(value, questions[key], ask_rest)) for key, value in given.items()}
    answers = ClassifyAnswers(
        refetchable=refetch,
        customer_provided=rest["customer_provided"],
        rate_limited=rest["rate_limited"],
        audit=rest["audit"],
        unstable_schema=rest["unstable_schema"],
    )
    result = classify(answers)
    if as_json:
        echo_json({"strategy": result.strategy.value, "rationale": result.rationale})
    else:
        click.echo(f"strategy: {result.strategy.value}")
        click.echo(f"rationale: {result.rationale}")


@command.command("migrate")
@click.argument("name")
@click.option("--to", "to", type=click.Choice(["raw", "simple"]), required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def migrate(ctx: CliContext, name: str, to: str, as_json: bool) -> None:
    """Make a simple source raw: its records become synthesized raw rows (one way)."""
    from ingestry.services.migrate import StrategyMigrationError

    summary = ctx.store().migrate_source(name, to)
    if not summary.config_written and not summary.raw_synthesized:
        raise StrategyMigrationError(
            f"{name}: nothing was done (no new raw rows, and the config file could not be "
            f"changed safely); set {summary.config_change}"
        )
    if as_json:
        echo_json(summary.as_dict())
        return
    click.echo(
        f"{name}: {summary.records} records, {summary.raw_synthesized} raw rows synthesized "
        f"at {summary.migrated_at}"
        + (f" ({summary.failed} do not extract with the current config)" if summary.failed else "")
    )
    if summary.config_written:
        click.echo(f"config updated: {summary.config_change}")
    else:
        click.echo(f"the config file could not be changed safely; set {summary.config_change}")


@command.command("infer")
@click.argument("file")
@click.option("--name", help="The source's and convention's name (default: from the file).")
@click.option("--write", is_flag=True, help="Merge it into the config, keeping its comments.")
@click.option(
    "--rows", default=1000, show_default=True, help="First rows sampled (as many more at random)."
)
@click.option(
    "--header", "headers", multiple=True, metavar="'NAME: VALUE'",
    help="A URL's request header (not a secret: it is written in the proposal).",
)  # fmt: skip
@click.option(
    "--bearer-env", metavar="VAR", help="A URL's bearer token, from this environment variable."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def infer(
    ctx: CliContext,
    file: str,
    name: str | None,
    write: bool,
    rows: int,
    headers: tuple[str, ...],
    bearer_env: str | None,
    as_json: bool,
) -> None:
    """Propose a convention and a source that ingest FILE (CSV, JSON Lines, JSON,
    Parquet, Excel; compressed or not), each column with how sure the guess is; or that
    pull an HTTP API from its first page (FILE an http(s) URL: the items, their
    columns and the paginator the page points at)."""
    from ingestry.bootstrap import infer_file, infer_pull, write_proposal
    from ingestry.config import config_path

    target = config_path(ctx.config, os.environ)
    if file.startswith(("http://", "https://")):
        pairs = tuple(_header(text) for text in headers)
        proposal, sample = infer_pull(
            file, name, headers=pairs, bearer_env=bearer_env, env=os.environ
        )
    else:
        if headers or bearer_env:
            raise click.UsageError("--header and --bearer-env are for a URL")
        # written: `files:` relative to the config's folder, as the config reads it
        folder = target.parent if write else None
        proposal, sample = infer_file(
            Path(file), name, first=rows, reservoir=rows, relative_to=folder
        )
    if write:
        write_proposal(target, proposal, os.environ)
    if as_json:
        facts = sample.facts
        echo_json(
            {
                "yaml": proposal.text,
                **proposal.data,
                "rows_sampled": len(sample.rows),
                "rows_total": facts.rows_total,
                "written": str(config_path(ctx.config, os.environ)) if write else None,
            }
        )
        return
    click.echo(proposal.text, nl=False)
    if write:
        click.echo(f"# written to {config_path(ctx.config, os.environ)}", err=True)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(f"'{text}' is not 'NAME: VALUE'", param_hint="--header")
    return name.strip(), value.strip()
