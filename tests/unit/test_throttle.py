"""domain.throttle: a response's rate-limit headers, read as a careful client reads
them (GitHub's, GitLab's and the IETF draft's spellings)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from ingestry.domain.throttle import refused_for_rate, spent_for

NOW = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)
EPOCH = int(NOW.timestamp())


def test_githubs_reset_is_a_moment_in_unix_seconds() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(EPOCH + 42)}
    assert spent_for(headers, NOW) == 42.0


def test_the_upstreams_date_is_the_clock_a_moment_is_measured_from() -> None:
    """Our clock 100 s ahead of the upstream's would wait 100 s too little."""
    headers = {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(EPOCH + 42),
        "date": "Sat, 05 Dec 2026 11:59:30 GMT",  # 30 s before NOW
    }
    assert spent_for(headers, NOW) == 72.0
    assert spent_for({**headers, "date": "not a date"}, NOW) == 42.0


def test_a_small_reset_is_seconds_from_now() -> None:
    assert spent_for({"ratelimit-remaining": "0", "ratelimit-reset": "30"}, NOW) == 30.0
    assert spent_for({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1.5"}, NOW) == 1.5


def test_the_ietf_ratelimit_field_in_both_drafts_forms() -> None:
    assert spent_for({"ratelimit": '"default";r=0;t=30'}, NOW) == 30.0
    assert spent_for({"ratelimit": "limit=10, remaining=0, reset=7"}, NOW) == 7.0
    assert spent_for({"ratelimit": '"default";r=5;t=30'}, NOW) is None


def test_requests_left_or_half_said_is_no_wait() -> None:
    assert spent_for({"x-ratelimit-remaining": "99", "x-ratelimit-reset": "30"}, NOW) is None
    assert spent_for({"x-ratelimit-remaining": "0"}, NOW) is None  # no reset: no guess
    assert spent_for({"x-ratelimit-reset": "30"}, NOW) is None
    assert spent_for({}, NOW) is None
    assert spent_for({"x-ratelimit-remaining": "none", "x-ratelimit-reset": "3"}, NOW) is None
    assert spent_for({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "nan"}, NOW) is None


def test_a_reset_already_past_is_no_wait() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(EPOCH - 5)}
    assert spent_for(headers, NOW) == 0.0


def test_a_403_is_a_rate_refusal_only_when_it_says_so() -> None:
    assert refused_for_rate(403, {}, 12.0)  # none left (GitHub's primary limit)
    assert refused_for_rate(403, {"retry-after": "60"}, None)  # its secondary limit
    assert not refused_for_rate(403, {}, None)  # a denial
    assert not refused_for_rate(404, {}, 12.0)


@given(st.dictionaries(st.sampled_from(["ratelimit", "x-ratelimit-remaining",
                                        "x-ratelimit-reset", "ratelimit-reset", "date"]),
                       st.text(max_size=40)))  # fmt: skip
def test_any_headers_give_no_wait_or_one_not_negative(headers: dict[str, str]) -> None:
    wait = spent_for(headers, NOW)
    assert wait is None or wait >= 0.0
