"""Guessing the next page where links and cursors count up (`?page=3`, then `?page=4`),
so a run with `concurrency` keeps requests in flight for them too (services.harvest_window,
docs/harvest.md "Requests in flight"). Pure; a guess only: the run still takes the page
its paginator names.
"""

from __future__ import annotations

import re

from ingestry.domain.harvest import PageRequest

__all__ = ["counted_on"]

_DIGITS = re.compile(r"(\d+)")


def counted_on(before: PageRequest, last: PageRequest) -> PageRequest | None:
    """The request after `last` when the run's requests count up: `before` and `last`
    are the same but for one number (in the URL or one parameter's value) that grew by
    a step, so the next one is that number grown by the step again (`?page=3`, then
    `?page=4`; `offset=200` after `offset=100`, then `offset=300`). None when they
    differ otherwise, or the number is written with leading zeros. A guess: the run
    still follows the links the upstream gives (services.harvest_window)."""
    if [k for k, _ in before.params] != [k for k, _ in last.params] or before.body != last.body:
        return None  # a body's values are never guessed
    old = [before.url, *(v for _, v in before.params)]
    new = [last.url, *(v for _, v in last.params)]
    changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    if len(changed) != 1:
        return None
    (i,) = changed
    grown = _grown(old[i], new[i])
    if grown is None:
        return None
    new[i] = grown
    names = [k for k, _ in last.params]
    return PageRequest(new[0], tuple(zip(names, new[1:], strict=True)), last.body)


def _grown(before: str, last: str) -> str | None:
    """`last` with its one number that differs from `before` grown by the same step."""
    a, b = _DIGITS.split(before), _DIGITS.split(last)  # odd places: the numbers
    if len(a) != len(b):
        return None
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(changed) != 1 or changed[0] % 2 == 0:
        return None
    (i,) = changed
    if any(len(n) > 1 and n.startswith("0") for n in (a[i], b[i])):
        return None  # a fixed width: the next one is not certain
    step = int(b[i]) - int(a[i])
    if step <= 0:
        return None
    b[i] = str(int(b[i]) + step)
    return "".join(b)
