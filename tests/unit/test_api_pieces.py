"""Pure pieces of the API and worker: token bucket, token parsing, metrics text,
body framing choice, cursors, If-Match."""

from __future__ import annotations

import pytest

from ingestry.domain.sources import DataSource, SourceFormat, StorageStrategy
from ingestry.entrypoints.api.errors import ApiError
from ingestry.entrypoints.api.metrics import new_metrics
from ingestry.entrypoints.api.routes.records import decode_cursor, encode_cursor, parse_if_match
from ingestry.services.bodies import BodyFormat, UnsupportedBodyError, body_format
from ingestry.services.idempotency import fingerprint
from ingestry.services.keys import split_token
from ingestry.services.ratelimit import take


def source(fmt: SourceFormat) -> DataSource:
    return DataSource(
        name="s",
        strategy=StorageStrategy.RAW,
        convention="c",
        rationale="r",
        format=fmt,
        id_paths=(("id",),),
    )


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket, waits = None, []
    for _ in range(4):
        bucket, wait = take(bucket, 100.0, rate=2.0, burst=3.0)
        waits.append(wait)
    assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] == pytest.approx(0.5)
    assert bucket is not None
    bucket, wait = take(bucket, 100.5, rate=2.0, burst=3.0)  # refilled one token
    assert wait == 0.0
    bucket, wait = take(bucket, 1000.0, rate=2.0, burst=3.0)
    assert wait == 0.0 and bucket.tokens == pytest.approx(2.0)  # capped at the burst


def test_split_token() -> None:
    assert split_token("ik_abc123_se_cr-et") == ("abc123", "se_cr-et")
    for bad in ("", "ik", "ik__x", "xx_abc_def", "ik_abc_"):
        assert split_token(bad) is None


def test_fingerprint_separates_fields() -> None:
    assert fingerprint("POST", "/a", b"bc") != fingerprint("POST", "/ab", b"c")
    assert fingerprint("post", "/a", b"x") == fingerprint("POST", "/a", b"x")


def test_metrics_text_format() -> None:
    metrics = new_metrics()
    metrics.inc("ingestry_ingested_rows_total", {"source": 'a"b'}, 3)
    metrics.observe_latency({"method": "GET", "route": "/x", "status": "200"}, 0.02)
    text = metrics.render([("ingestry_job_queue_depth", "Jobs waiting.", {}, 4)])
    assert 'ingestry_ingested_rows_total{source="a\\"b"} 3' in text
    assert "# TYPE ingestry_http_request_duration_seconds histogram" in text
    # prometheus-client writes `le` first and values as floats
    assert 'le="0.01",method="GET",route="/x",status="200"} 0.0' in text
    assert 'le="0.025",method="GET",route="/x",status="200"} 1.0' in text
    assert 'le="+Inf",method="GET",route="/x",status="200"} 1.0' in text
    assert "ingestry_job_queue_depth 4" in text and text.endswith("\n")


def test_body_format_follows_media_type_and_source() -> None:
    jsonl = source(SourceFormat.JSONL)
    assert body_format(None, jsonl) is BodyFormat.JSON
    assert body_format("application/json; charset=utf-8", jsonl) is BodyFormat.JSON
    assert body_format("application/x-ndjson", jsonl) is BodyFormat.JSONL
    assert body_format("text/csv", source(SourceFormat.CSV)) is BodyFormat.CSV
    with pytest.raises(UnsupportedBodyError):
        body_format("text/plain", jsonl)
    with pytest.raises(UnsupportedBodyError):
        body_format("application/json", source(SourceFormat.CSV))


def test_cursor_round_trip_and_if_match() -> None:
    srn = "srn:ingestry:record:order:harvest:customer_orders:a%2Fb"
    assert decode_cursor(encode_cursor(srn)) == srn
    with pytest.raises(ApiError):
        decode_cursor(encode_cursor("not an srn"))
    assert parse_if_match('"3"') == parse_if_match('W/"3"') == parse_if_match("3") == 3
    with pytest.raises(ApiError) as missing:
        parse_if_match(None)
    assert missing.value.status_code == 428
