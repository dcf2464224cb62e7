"""The ErasureStorage fake: the same removals on the fake's dicts, one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ingestry.domain.conventions import Convention
from ingestry.domain.erasure import AuditDraft, ErasureAudit, ErasureCounts, srn_digest
from ingestry.domain.records import parse_srn

if TYPE_CHECKING:
    from tests.fakes.storage import MemoryStorage


def _hex(value: Any) -> str | None:
    return bytes(value).hex() if value is not None else None


class MemoryErasure:
    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage

    def erase_record(
        self, convention: Convention, srn: str, raw_sources: frozenset[str], audit: AuditDraft
    ) -> ErasureCounts | None:
        _, source_type, upstream, source_id = parse_srn(srn)
        identity = (source_type, upstream, source_id)
        with self.storage.db.transaction() as t:
            current = t.records.get(convention.name, {}).get(identity)
            if current is None:
                return None
            history = [h for h in t.history if h["srn"] == srn]
            rows = [*history, current]
            sources = sorted({r["data_source"] for r in rows if r["data_source"] is not None})
            raw = [
                r for r in t.raw.values()
                if r["source"] in raw_sources and r["source"] in sources
                and r["source_id"] == source_id
            ]  # fmt: skip
            raw_ids = {r["id"] for r in raw}
            receipts = [k for k, c in t.receipts.items() if c["raw_id"] in raw_ids]
            for key in receipts:
                del t.receipts[key]
            if source_type == "harvest":
                t.repeated.get(upstream, set()).discard(source_id)
            for ident in raw_ids:
                del t.raw[ident]
            features = [k for k in t.features if k[0] == srn]
            for fkey in features:
                del t.features[fkey]
            runs = [k for k, r in t.hook_runs.items() if r["srn"] == srn]
            for key in runs:
                del t.hook_runs[key]
            events = [k for k, e in t.events.items() if e["srn"] == srn]
            for key in events:
                del t.events[key]
            t.history = [h for h in t.history if h["srn"] != srn]
            t.deletions = {k: d for k, d in t.deletions.items() if k[0] != srn}
            del t.records[convention.name][identity]
            counts = ErasureCounts(
                records=1, versions=len(history), events=len(events), hook_runs=len(runs),
                features=len(features), raw_payloads=len(raw), receipts=len(receipts),
                data_sources=tuple(sources),
                content_hashes=tuple(h for h in (_hex(r["content_hash"]) for r in rows) if h),
                raw_sha256s=tuple(bytes(r["sha256"]).hex() for r in raw),
            )  # fmt: skip
            audit_id = t.next_id("erasure_audit")
            t.erasures[audit_id] = ErasureAudit(
                id=audit_id, at=datetime.fromisoformat(audit.at), actor=audit.actor,
                reason=audit.reason, convention=convention.name,
                data_source=",".join(sources) or None, srn_sha256=srn_digest(srn),
                content_hashes=list(counts.content_hashes),
                raw_sha256s=list(counts.raw_sha256s), counts=counts.counts(),
            )  # fmt: skip
            return ErasureCounts(**{**counts.__dict__, "audit_id": audit_id})

    def erasure_audits(self, srn_sha256: str | None, limit: int | None) -> list[ErasureAudit]:
        found = self.storage.db.tables.erasures
        rows: list[ErasureAudit] = [a for _, a in sorted(found.items(), reverse=True)]
        rows = [a for a in rows if srn_sha256 is None or a.srn_sha256 == srn_sha256]
        return rows[:limit] if limit is not None else rows
