"""Run a record's hooks again on demand (`hooks rerun SRN [--hook H]`).

The same code path as the dispatcher's (`InsertRecordFeatures.run_hook`): a fresh
work_dir, the configured runner, the features stored against the record's current
version (upserted by name) and the run recorded in `hook_runs`, with no event
(`event_id` null). A hook that succeeded before runs again: that is the point.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingestry.domain.clock import Clock, utc_now
from ingestry.domain.conventions import Convention
from ingestry.domain.errors import HookNotFoundError, RecordNotFoundError
from ingestry.domain.events import features_dir
from ingestry.domain.features import HookOutcome
from ingestry.domain.records import convention_of
from ingestry.services.features import (
    FeatureService,
    HookTarget,
    InsertRecordFeatures,
    record_document,
)
from ingestry.services.ports import HookRunner, Storage

#: The `kind` a rerun's target carries (a delivered event's is its event type).
RERUN = "rerun"


class HookRerunService:
    """Runs one record's hooks (or one of them) now, recorded like the dispatcher's."""

    def __init__(
        self,
        storage: Storage,
        convention: Callable[[str], Convention],
        runner: HookRunner,
        features: FeatureService,
        work_root: Path,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.storage = storage
        self.convention = convention
        self.work_root = work_root
        self.handler = InsertRecordFeatures(storage, convention, runner, features, clock=clock)

    def rerun(self, srn: str, hook: str | None = None) -> list[HookOutcome]:
        """One outcome per hook run, in the convention's order. RecordNotFoundError for
        an unknown srn, HookNotFoundError for a hook the convention does not have."""
        try:
            name = convention_of(srn)
        except ValueError:
            raise RecordNotFoundError(f"no record {srn} (not a record srn)") from None
        convention = self.convention(name)
        record = self.storage.get_record(convention, srn)
        if record is None:
            raise RecordNotFoundError(f"no record {srn}")
        hooks = [h for h in convention.hooks if hook is None or h.name == hook]
        if hook is not None and not hooks:
            known = ", ".join(h.name for h in convention.hooks) or "none"
            raise HookNotFoundError(
                f"convention '{convention.name}' has no hook '{hook}' (its hooks: {known}); "
                f"name one of them, or leave out --hook to run them all"
            )
        target = HookTarget(
            None,
            RERUN,
            srn,
            convention.name,
            record.version,
            str(features_dir(self.work_root, srn, record.version)),
        )
        document = record_document(record)
        raw = self.handler.raw_of(record)
        return [self.handler.run_hook(target, h, document, raw) for h in hooks]
