"""Example hook of the `order` convention: item count and a risk flag, as features.

ingestry runs it once per published order version (`ingestry events dispatch`) in a
fresh work_dir: record.json is the record (columns and metadata), raw.bin the exact
bytes received when the source is raw. It writes features/risk.json; ingestry stores
it as the feature `risk` of that record version (`ingestry records features SRN`).
Standard library only. A non-zero exit, a timeout or a malformed features file is a
failed hook run (`ingestry hooks runs --failed`); the record itself is never affected.
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

HIGH_TOTAL = Decimal("500")
MANY_ITEMS = 10


def assess(record: dict) -> dict:
    metadata = record.get("metadata") or {}
    columns = record.get("columns") or {}
    items = metadata.get("line_items") or []
    count = sum(int(item.get("quantity") or 0) for item in items if isinstance(item, dict))
    try:
        total = Decimal(str(columns.get("total") or metadata.get("total_price") or "0"))
    except InvalidOperation:
        total = Decimal("0")
    paid = columns.get("paid")
    reasons = []
    if total >= HIGH_TOTAL and paid is not True:
        reasons.append(f"unpaid total {total} >= {HIGH_TOTAL}")
    if count >= MANY_ITEMS:
        reasons.append(f"{count} items >= {MANY_ITEMS}")
    if not columns.get("email"):
        reasons.append("no customer email")
    return {
        "item_count": count,
        "total": str(total),
        "risk": "high" if reasons else "low",
        "reasons": reasons,
    }


def main() -> int:
    work_dir = Path(os.environ["INGESTRY_WORK_DIR"])
    record = json.loads((work_dir / "record.json").read_text(encoding="utf-8"))
    features = assess(record)
    (work_dir / "features" / "risk.json").write_text(json.dumps(features), encoding="utf-8")
    print(f"{os.environ.get('INGESTRY_RECORD_SRN')}: risk {features['risk']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
