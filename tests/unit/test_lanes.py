"""OrderedLanes: batches side by side, commits in submission order, a failure rolls
back what follows it, and batches that share a key never run side by side."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from ingestry.services.lanes import OrderedLanes


class Journal:
    """What fake sessions did, in order: ("begin"|"commit"|"rollback", lane, batch)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, int, int | None]] = []
        self.busy: dict[int, int] = {}  # lane -> batch holding it
        self.overlaps: list[tuple[int, int]] = []  # lanes used twice at once

    def add(self, what: str, lane: int, batch: int | None) -> None:
        with self.lock:
            self.events.append((what, lane, batch))

    def of(self, what: str) -> list[int | None]:
        return [b for w, _, b in self.events if w == what]


class Session:
    def __init__(self, lane: int) -> None:
        self.lane = lane
        self.batch: int | None = None


def lanes_over(journal: Journal) -> Callable[[int], AbstractContextManager[Session]]:
    """Fake lane sessions: each records its commit or rollback in the journal."""

    @contextmanager
    def open_lane(lane: int) -> Iterator[Session]:
        with journal.lock:
            if lane in journal.busy:
                journal.overlaps.append((lane, journal.busy[lane]))
            journal.busy[lane] = -1
        session = Session(lane)
        try:
            yield session
        except BaseException:
            journal.add("rollback", lane, session.batch)
            raise
        else:
            journal.add("commit", lane, session.batch)
        finally:
            with journal.lock:
                journal.busy.pop(lane, None)

    return open_lane


def _ignore(result: int) -> None:
    pass


def write(
    journal: Journal, batch: int, delay: float = 0.0, fail: bool = False
) -> Callable[[Session], int]:
    def run(session: Session) -> int:
        session.batch = batch
        journal.add("begin", session.lane, batch)
        time.sleep(delay)
        if fail:
            raise RuntimeError(f"batch {batch} failed")
        return batch

    return run


def test_commits_follow_submission_order_even_when_later_batches_finish_first() -> None:
    journal = Journal()
    open_lane = lanes_over(journal)
    done: list[int] = []
    with OrderedLanes(open_lane, 3, done.append) as lanes:
        for n in range(9):
            # every third batch is slow: the two after it are done writing first
            lanes.submit(frozenset({n}), write(journal, n, 0.05 if n % 3 == 0 else 0.0))
    assert journal.of("commit") == list(range(9))
    assert done == list(range(9))
    assert journal.overlaps == []


def test_batches_run_side_by_side() -> None:
    journal = Journal()
    open_lane = lanes_over(journal)
    second_began = threading.Event()

    def first(session: Session) -> int:
        session.batch = 0
        journal.add("begin", session.lane, 0)
        second_began.wait(5)  # only returns early if batch 1 runs beside this one
        return 0

    def second(session: Session) -> int:
        session.batch = 1
        journal.add("begin", session.lane, 1)
        second_began.set()
        return 1

    with OrderedLanes(open_lane, 2, _ignore) as lanes:
        lanes.submit(frozenset({"a"}), first)
        lanes.submit(frozenset({"b"}), second)
    assert second_began.is_set()
    # batch 1 began before batch 0 committed
    assert journal.events.index(("begin", 1, 1)) < journal.events.index(("commit", 0, 0))


def test_a_batch_sharing_a_key_waits_for_the_one_in_flight() -> None:
    journal = Journal()
    open_lane = lanes_over(journal)
    with OrderedLanes(open_lane, 2, _ignore) as lanes:
        lanes.submit(frozenset({"a", "b"}), write(journal, 0, 0.1))
        lanes.submit(frozenset({"b", "c"}), write(journal, 1, 0.0))
    assert journal.events.index(("commit", 0, 0)) < journal.events.index(("begin", 1, 1))


def test_unknown_keys_run_alone() -> None:
    journal = Journal()
    open_lane = lanes_over(journal)
    with OrderedLanes(open_lane, 2, _ignore) as lanes:
        lanes.submit(frozenset({"a"}), write(journal, 0, 0.1))
        lanes.submit(None, write(journal, 1, 0.1))
        lanes.submit(frozenset({"z"}), write(journal, 2, 0.0))
    events = journal.events
    assert events.index(("commit", 0, 0)) < events.index(("begin", 1, 1))
    assert events.index(("commit", 1, 1)) < events.index(("begin", 0, 2))


def test_a_failed_batch_rolls_back_the_batches_after_it() -> None:
    journal = Journal()
    open_lane = lanes_over(journal)
    done: list[int] = []
    with (
        pytest.raises(RuntimeError, match="batch 1 failed"),
        OrderedLanes(open_lane, 3, done.append) as lanes,
    ):
        lanes.submit(frozenset({0}), write(journal, 0))
        lanes.submit(frozenset({1}), write(journal, 1, 0.05, fail=True))
        lanes.submit(frozenset({2}), write(journal, 2))  # done writing before 1 fails
        for n in range(3, 6):
            lanes.submit(frozenset({n}), write(journal, n))
    assert done == [0]
    assert journal.of("commit") == [0]
    assert 1 in journal.of("rollback")
    assert 2 in journal.of("rollback")


def test_leaving_by_an_exception_lets_the_batches_in_flight_commit() -> None:
    """A stop asked for between batches (or a failing input) ends the run as batch
    after batch would: what was handed over commits, in order, and is reported."""
    journal = Journal()
    open_lane = lanes_over(journal)
    done: list[int] = []
    with pytest.raises(KeyboardInterrupt), OrderedLanes(open_lane, 2, done.append) as lanes:
        lanes.submit(frozenset({0}), write(journal, 0, 0.05))
        lanes.submit(frozenset({1}), write(journal, 1))
        raise KeyboardInterrupt
    assert journal.of("commit") == [0, 1]
    assert done == [0, 1]


def test_one_lane_is_batch_after_batch() -> None:
    journal = Journal()
    open_lane = lanes_over(journal)
    with OrderedLanes(open_lane, 1, _ignore) as lanes:
        for n in range(4):
            lanes.submit(frozenset({n}), write(journal, n, 0.01))
    kinds = [w for w, _, _ in journal.events]
    assert kinds == ["begin", "commit"] * 4


def test_no_lanes_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one lane"):
        OrderedLanes(lanes_over(Journal()), 0, _ignore)
