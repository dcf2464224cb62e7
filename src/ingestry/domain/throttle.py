"""An upstream's rate-limit headers, read as a careful client reads them (issue 18
item 3; docs/harvest.md, "Rate-limit headers").

Most APIs say how many requests are left before they refuse (GitHub, GitLab, Twitter,
the IETF's RateLimit fields). A response that says none are left also says when the
limit resets; waiting until then costs nothing, while asking again at once is refused
(GitHub answers 403, not 429) and spends the run's retry budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

__all__ = ["refused_for_rate", "spent_for"]

#: headers with the requests left and the reset, lower case, the most common first
REMAINING = ("x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining")
RESET = ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset")
#: a reset at least this large is a moment in Unix seconds (GitHub's, GitLab's,
#: Twitter's); a smaller one is a number of seconds from now (the IETF draft's).
#: 10**9 seconds is 31 years, longer than any window an API resets
EPOCH_FROM = 1_000_000_000


def spent_for(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds until the rate limit resets when the response (lower-case `headers`)
    says no request is left; None when some are left or it does not say both.

    A moment is measured from the response's `Date` when it has one, so a clock that
    differs from the upstream's does not shorten or stretch the wait."""
    remaining, reset = _structured(headers.get("ratelimit"))
    if remaining is None:
        remaining = _number(_first(headers, REMAINING))
        reset = _number(_first(headers, RESET))
    if remaining is None or remaining > 0 or reset is None:
        return None
    if reset < EPOCH_FROM:
        return max(0.0, reset)
    return max(0.0, reset - _moment(headers.get("date"), now).timestamp())


def refused_for_rate(status: int, headers: Mapping[str, str], spent: float | None) -> bool:
    """Whether a 403 is a rate-limit refusal to retry (GitHub's primary limit says so
    with no requests left, its secondary limit with a Retry-After), not a denial."""
    return status == 403 and (spent is not None or bool(headers.get("retry-after")))


def _first(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            return value
    return None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _structured(field: str | None) -> tuple[float | None, float | None]:
    """(remaining, reset) of a `RateLimit` field: the draft's structured form
    (`"default";r=0;t=30`) or its older one (`limit=10, remaining=0, reset=30`)."""
    if not field:
        return None, None
    params: dict[str, str] = {}
    for part in field.replace(",", ";").split(";"):
        key, _, value = part.strip().partition("=")
        params.setdefault(key.strip().lower(), value.strip())
    remaining = _number(params.get("r", params.get("remaining")))
    return remaining, _number(params.get("t", params.get("reset")))


def _moment(date: str | None, now: datetime) -> datetime:
    if not date:
        return now
    from email.utils import parsedate_to_datetime  # rare: only when the limit is spent

    try:
        moment = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return now
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
