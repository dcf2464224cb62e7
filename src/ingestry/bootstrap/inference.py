"""Schema inference for `sources infer`: the file adapter samples, `extract` guesses,
the config adapter writes the proposal."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ingestry.domain.conventions import IDENTIFIER
from ingestry.domain.errors import ConfigError, InputError

if TYPE_CHECKING:
    from ingestry.adapters.sampling import Sample
    from ingestry.extract.proposal import Proposal


def infer_file(
    path: Path,
    name: str | None = None,
    *,
    first: int = 1000,
    reservoir: int = 1000,
    relative_to: Path | None = None,
) -> tuple[Proposal, Sample]:
    """The proposal for FILE (sampled by the adapter, guessed by `extract.inference`);
    `relative_to`: the config's folder, which its `files:` is relative to."""
    from ingestry.adapters.sampling import sample_file
    from ingestry.extract.inference import column_name, infer
    from ingestry.extract.proposal import propose

    shown = None
    if relative_to is not None:
        shown = os.path.relpath(path.resolve(), relative_to.resolve())
    sample = sample_file(path, first, reservoir, shown)
    if not sample.rows:
        raise InputError(f"{path}: no rows to infer from")
    stem = Path(sample.facts.file).name.split(".")[0]
    chosen = name or column_name(stem, set())
    if not IDENTIFIER.match(chosen):
        raise ConfigError(f"--name '{chosen}' must match {IDENTIFIER.pattern}")
    guess = infer(sample.rows, text_cells=sample.text_cells, delimiter=sample.delimiter)
    return propose(chosen, sample.facts, guess), sample


def write_proposal(settings_path: Path, proposal: Proposal, env: Mapping[str, str]) -> None:
    """Merge the proposal into the config file, its comments kept (`add_entries`);
    the result must load as a config, else nothing is written."""
    from ingestry.adapters.config_file import ConfigEditError, add_entries
    from ingestry.config import parse_settings

    try:
        add_entries(
            settings_path,
            {"conventions": proposal.convention, "sources": proposal.source},
            check=lambda text: parse_settings(text, settings_path, env),
        )
    except ConfigEditError as exc:
        raise ConfigError(str(exc)) from None
