"""SQLite's outbox reads the changes feed: what the intake and the outbox's readers share.

Every record created or given a new version has one row in `record_changes`, written in
the transaction that wrote the record (adapters/sql/changes.py). On SQLite that row is
its event: a write no longer adds a second row to `record_events` (the writer's
instructions a narrow CSV row went from 75.8k to 66.1k, bench/README.md). The outbox
is `record_events` (events taken in: leased, retried, dead) plus every change after
`outbox_cursor` (migration 20261206_010000); a claim takes the next changes in first,
in its own transaction (`adapters/sqlite/outbox.py`). Readers that count or list
pending events add the changes not yet taken in, with the SQL below.

PostgreSQL keeps writing each event with its change (one COPY a batch): there a change
can commit after a later one (sequence values are taken before commit), so its feed
gives a change out only once every older transaction in the cluster has ended
(adapters/sql/changes.py). An outbox read that way would hold every event back behind
any long transaction, anyone's. SQLite's writers take turns, so its `seq` order is
commit order and the cursor is simply the last `seq` taken in.
"""

from __future__ import annotations

#: `record_changes` rows (alias `c`) after the cursor; no cursor row reads as 0
UNTAKEN = "c.seq > (SELECT coalesce(max(seq), 0) FROM outbox_cursor)"
UNTAKEN_COUNT = f"SELECT count(*) FROM record_changes c WHERE {UNTAKEN}"
FIRST_UNTAKEN = (
    f"SELECT c.convention, c.record_id FROM record_changes c WHERE {UNTAKEN} ORDER BY c.seq LIMIT 1"
)
