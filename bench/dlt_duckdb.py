"""The dlt comparison: load the same orders into dlt's default duckdb destination.

A merge load keyed on `id` is the closest dlt equivalent of ingestry's idempotent
upsert. Lines are parsed with orjson and yielded as lists (one per BATCH) so dlt is not
slowed by per-item generator overhead. The pipeline state and the duckdb file live in
WORKDIR, so every run starts from nothing; telemetry is off.

FORMAT is dlt's loader file format. The bench passes `jsonl`, dlt's fastest option for
duckdb without pyarrow: the destination's default, `insert_values`, was ~15x slower
in the load step and peaked at 11 GB RSS for 100,000 orders (see bench/README.md), and
a comparison against a pathological setting would flatter ingestry.

    python bench/dlt_duckdb.py ORDERS.jsonl WORKDIR [FORMAT]   # prints {"received": N, ...}
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

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


def run(path: Path, workdir: Path, file_format: str) -> tuple[int, float]:
    """Run one merge pipeline; return (rows loaded into the top table, seconds of run())."""
    os.environ["RUNTIME__DLT_TELEMETRY"] = "false"
    import dlt  # imported late so the telemetry switch is seen; not timed, like a CLI import

    pipeline = dlt.pipeline(
        pipeline_name="bench_orders",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.duckdb(str(workdir / "dlt_orders.duckdb")),
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
    """Count rows in the destination table, so a silent partial load shows up."""
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM orders")
    return int(rows[0][0])


def main() -> None:
    """Print the loaded count and pipeline.run seconds as one JSON object."""
    source, workdir = Path(sys.argv[1]), Path(sys.argv[2])
    file_format = sys.argv[3] if len(sys.argv) > 3 else "jsonl"
    count, seconds = run(source, workdir, file_format)
    sys.stdout.buffer.write(orjson.dumps({"received": count, "seconds": round(seconds, 3)}))


if __name__ == "__main__":
    main()
