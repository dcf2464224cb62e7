"""A hypothesis state machine over a pulled source's life (docs/harvest.md, "Pages over
time"), on both backends, against the real test upstream, for every paginator, raw and
simple, and incremental (`cursor:`): any sequence of upstream changes (stamped, as an
API does), additions and removals, runs (some cut short by a page that is not JSON),
erasures and retention purges. After every run that ends, the records are exactly
what the model says (the upstream's items as last taken, less the erased ones not
taken again); a run after nothing changed changes nothing; an erased item's bytes are
in no kept page until a run takes it again. Sizes: INGESTRY_RELIABILITY_MACHINES runs
of up to 12 steps (CI: 15)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from ingestry.domain.clock import utc_now
from ingestry.domain.harvest import HarvestError
from ingestry.store import Store
from tests.backends import Database
from tests.harvest_upstream import Upstream, serve
from tests.integration.harvest_support import PAGINATORS, open_with, records, source_yaml
from tests.reliability.support import env_count

PAGE = 3
_counter = itertools.count(1)
_stamps = itertools.count(1)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(page_size=PAGE)) as up:
        yield up


def item(prefix: str, n: int, stamp: int, name: str = "a") -> dict[str, Any]:
    return {"id": f"{prefix}-{n}", "updated_at": moment(stamp), "name": name, "amount": n}


def moment(stamp: int) -> str:
    """A last-change time `stamp` seconds after 2026 began (later stamps sort later)."""
    return (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=stamp)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def columns(it: dict[str, Any]) -> dict[str, Any]:
    return {"name": it["name"], "amount": it["amount"], "changed_at": it["updated_at"]}


def page_size(kind: str) -> int:
    """Items a page: the offset paginator asks for 10 (`limit`), the others take the
    upstream's."""
    return 10 if kind == "offset" else PAGE


def asked(kind: str, count: int) -> int:
    """Pages a run asks for: an offset paginator stops at a short page, a page-number
    one at an empty page, the others when the page names no next one."""
    size = page_size(kind)
    if kind == "offset":
        return count // size + 1
    if kind == "pages":
        return -(-count // size) + 1
    return max(1, -(-count // size))


class PulledSource(RuleBasedStateMachine):
    store: ClassVar[Store]
    db: ClassVar[Database]
    up: ClassVar[Upstream]
    kind: ClassVar[str]
    #: `cursor: {field: updated_at, param: since}`: a run asks only for what changed
    incremental: ClassVar[bool]

    @initialize(count=st.integers(1, 8))
    def start(self, count: int) -> None:
        # ids of this example only: the store and its pages outlive the example; the
        # stamps go on from the example before's (the kept mark does too)
        self.prefix = f"x{next(_counter)}{uuid.uuid4().hex[:4]}"
        self.next = count + 1
        base = next(_stamps) * 1000
        self.stamps = itertools.count(base + count + 1)
        self.up.items = [item(self.prefix, n, base + n) for n in range(1, count + 1)]
        self.up.faults.clear()  # none left from the example before
        self.model: dict[str, dict[str, Any]] = {}
        self.changed = True  # since the last run that ended
        self.bad_page: int | None = None

    @rule(at=st.integers(0, 20), name=st.sampled_from(["a", "b", "c"]))
    def rename(self, at: int, name: str) -> None:
        if self.up.items:
            target = self.up.items[at % len(self.up.items)]
            if target["name"] != name:  # an API stamps what it changes
                target["name"], target["updated_at"] = name, moment(next(self.stamps))
                self.changed = True

    @rule()
    def add(self) -> None:
        self.up.items.append(item(self.prefix, self.next, next(self.stamps)))
        self.next += 1
        self.changed = True

    @rule(at=st.integers(0, 20))
    def remove(self, at: int) -> None:
        if self.up.items:
            self.up.items.pop(at % len(self.up.items))  # its record stays as last taken
            self.changed = True

    @rule(page=st.integers(1, 3))
    def break_a_page(self, page: int) -> None:
        self.bad_page = page if self.bad_page is None else min(self.bad_page, page)
        self.up.fault("badjson", page)

    @rule()
    def harvest(self) -> None:
        mark = self.store.harvest_cursor("api") if self.incremental else None
        served = sorted(self.up.items, key=lambda it: it["updated_at"])  # as it serves them
        served = [it for it in served if mark is None or it["updated_at"] > mark]
        size = page_size(self.kind)
        pages = [served[i : i + size] for i in range(0, len(served), size)]
        bad = self.bad_page
        self.bad_page = None
        if bad is not None and bad <= asked(self.kind, len(served)):
            with pytest.raises(HarvestError, match="not JSON"):
                self.store.harvest("api")
            for page in pages[: bad - 1]:  # the pages before it committed
                self.model.update({it["id"]: columns(it) for it in page})
            self.changed = True
            return
        self.up.faults.clear()  # a fault past the last page is never asked for
        summary = self.store.harvest("api")
        self.model.update({it["id"]: columns(it) for it in served})
        mine = {k: v for k, v in records(self.store, "api").items() if k.startswith(self.prefix)}
        assert mine == self.model
        if not self.changed:
            assert (summary.records_created, summary.records_updated) == (0, 0)
        self.changed = False

    @rule(at=st.integers(0, 20))
    def erase(self, at: int) -> None:
        if not self.model:
            return
        ident = sorted(self.model)[at % len(self.model)]
        report = self.store.erase(source="api", source_id=ident, reason="request")
        assert report.removed.records == 1
        self.model.pop(ident)
        spelled = f'"{ident}"'.encode()
        assert not [p.seq for p in self.store.harvest_pages("api") if spelled in p.body]
        self.changed = True

    @rule()
    def purge(self) -> None:
        old = (utc_now() - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S.%f")
        self.db.execute(f"UPDATE harvest_pages SET received_at = '{old}'")
        kept = self.db.count("harvest_pages")
        (report,) = self.store.retention_run(actor="machine")
        assert report.pages_purged == kept  # every page expired, and went
        assert self.store.harvest_page_list("api") == []


CASES = [
    *((kind, strategy, False) for kind in sorted(PAGINATORS) for strategy in ("simple", "raw")),
    *((kind, "simple", True) for kind in sorted(PAGINATORS)),
]


@pytest.mark.parametrize(("kind", "strategy", "incremental"), CASES)
def test_any_life_of_a_pulled_source_keeps_the_records_right(
    tmp_path: Path, db: Database, upstream: Upstream, kind: str, strategy: str, incremental: bool
) -> None:
    path, paginator, items = PAGINATORS[kind]
    extra = "cursor: {field: updated_at, param: since}" if incremental else ""
    source = source_yaml("api", upstream.url + path, paginator, items, strategy=strategy,
                         extra=extra)  # fmt: skip
    with open_with(tmp_path, db, source + "    retention_days: 30\n") as store:
        store.harvest_page_list("api")  # the schema made before a rule writes to it
        PulledSource.store, PulledSource.db, PulledSource.up = store, db, upstream
        PulledSource.kind, PulledSource.incremental = kind, incremental
        run_state_machine_as_test(
            PulledSource,
            settings=settings(
                max_examples=env_count("INGESTRY_RELIABILITY_MACHINES", 15),
                stateful_step_count=12,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
