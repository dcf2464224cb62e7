"""The dlt comparison on PostgreSQL: a merge load keyed on `id` into dlt's postgres destination.

`write_disposition="merge"` with `primary_key="id"` is dlt's equivalent of ingestry's
idempotent upsert (dlt's default merge strategy, delete-insert: rows land in a staging
dataset, then replace the rows with the same key). Lines are parsed with orjson and
yielded as lists (one per BATCH). The pipeline state lives in WORKDIR: run the script
twice with the same WORKDIR and database and the second run is a merge load of data
dlt has seen (the bench's second dlt step). Telemetry is off.

FORMAT is dlt's loader file format for postgres: `insert_values` (dlt's default for
this destination: multi-row INSERT statements) or `csv` (COPY; dlt writes the CSV
from Python objects, no pyarrow needed).

    python bench/dlt_postgres.py ORDERS.jsonl POSTGRES_URL WORKDIR [FORMAT]
    # prints {"received": rows in the orders table, "seconds": pipeline.run() seconds}
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

import orjson

if TYPE_CHECKING:
    from dlt.common.typing import TLoaderFileFormat

BATCH = 10_000


def read_orders(path: Path) -> Iterator[list[dict[str, Any]]]:
    """Yield the file's orders in lists of BATCH dicts."""
    batch: list[dict[str, Any]] = []
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                batch.append(orjson.loads(line))
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def with_password(url: str) -> str:
    """dlt refuses credentials without a password; a server with trust (or peer, or
    .pgpass) authentication ignores one, so a URL without it gets a placeholder."""
    parts = urlsplit(url)
    if parts.password is not None or parts.username is None:
        return url
    netloc = f"{parts.username}:unused@{parts.netloc.split('@', 1)[1]}"
    return urlunsplit(parts._replace(netloc=netloc))


def run(path: Path, url: str, workdir: Path, file_format: str) -> tuple[int, float]:
    """Run one merge pipeline; return (rows in the top table, seconds of run())."""
    os.environ["RUNTIME__DLT_TELEMETRY"] = "false"
    workdir.mkdir(parents=True, exist_ok=True)
    import dlt  # imported late so the telemetry switch is seen; not timed, like a CLI import

    pipeline = dlt.pipeline(
        pipeline_name="bench_orders",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.postgres(credentials=with_password(url)),
        dataset_name="orders_data",
    )
    resource = dlt.resource(
        read_orders(path), name="orders", write_disposition="merge", primary_key="id"
    )
    start = time.perf_counter()
    pipeline.run(resource, loader_file_format=cast("TLoaderFileFormat", file_format))
    seconds = time.perf_counter() - start
    return loaded_rows(pipeline), seconds


def loaded_rows(pipeline: Any) -> int:
    """Count rows in the destination table, so a silent partial load (or a merge that
    duplicated rows) shows up."""
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM orders")
    return int(rows[0][0])


def main() -> None:
    """Print the loaded count and pipeline.run seconds as one JSON object."""
    source, url, workdir = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    file_format = sys.argv[4] if len(sys.argv) > 4 else "insert_values"
    count, seconds = run(source, url, workdir, file_format)
    sys.stdout.buffer.write(orjson.dumps({"received": count, "seconds": round(seconds, 3)}))


if __name__ == "__main__":
    main()
