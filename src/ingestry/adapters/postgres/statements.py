"""The fixed statements of the write path (record statements depend on the
convention: see `records`)."""

from __future__ import annotations

from ingestry.adapters.postgres.staging import Stage

QUARANTINE = Stage(
    "ingestry_stage_quarantine",
    (
        ("n", "int4"),
        ("source", 'text COLLATE "C"'),
        ("sha256", "bytea"),
        ("payload", "bytea"),
        ("line", "int4"),
        ("origin", "text"),
        ("reason", "text"),
        ("received_at", "text"),
    ),
)

#: Every write transaction starts with these. Batch statements join a staging table
#: (thousands of rows) to tables of any size; index probes per staged row keep a batch's
#: cost tied to the batch. Left to costs, the planner switches to hashing or merging the
#: whole table once it guesses the batch is big enough (it underrates index probes), so
#: a batch would cost more as the table grows. No write statement needs a hash or merge
#: join (joins between two staged sets go through a LATERAL index probe instead).
BEGIN = "BEGIN; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"

INSERT_HEADER = "INSERT INTO raw_headers (sha256, payload) VALUES (%s, %s) ON CONFLICT DO NOTHING"
# As for raw rows: ids in arrival order, locks in key order, the first duplicate wins.
INSERT_QUARANTINE = (
    "WITH d AS MATERIALIZED ("
    " SELECT x.*, nextval('quarantine_id_seq') AS id FROM ("
    "  SELECT y.* FROM ("
    "   SELECT DISTINCT ON (source, sha256) * FROM ingestry_stage_quarantine"
    "   ORDER BY source, sha256, n) y"
    "  ORDER BY y.n) x"
    ") INSERT INTO quarantine AS q (id, source, sha256, payload, line, origin, reason,"
    " received_at, status)"
    " SELECT id, source, sha256, payload, line, origin, reason, received_at::timestamptz,"
    " 'open' FROM d ORDER BY source, sha256"
    " ON CONFLICT (source, sha256) DO UPDATE SET reason = excluded.reason,"
    " line = excluded.line, origin = excluded.origin, received_at = excluded.received_at,"
    " status = 'open', resolved_at = NULL, resolution = NULL, payload = excluded.payload,"
    " resolved_by = NULL, header_sha256 = NULL WHERE q.status <> 'open'"
)
