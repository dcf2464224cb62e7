"""A Bloom filter over 64-bit id hashes, in numpy: which of a batch's ids a run may
have seen before, so `services.repeats` binary-searches its sorted levels only for
those (a few in a thousand) instead of for every id of every batch.

Why: past 200,000 ids a run checked each batch's 5,000 hashes against every level
with `searchsorted`, ~20 cache misses an id: 0.38 s of the writer's thread a 1M-row
ingest (bench/README.md, "What a 1M narrow CSV ingest spends"). Three bits an id in a
bit array of 16 bits an id answer "not seen" for all but ~0.5% of new ids, at 2 bytes
an id (the levels hold 8). The array doubles (rebuilt from the levels) once it holds
fewer than 8 bits an id, where ~3% of new ids would still be searched.

Only a filter: "maybe" is settled by the levels, so what the run finds is what it
found without it (a unit test compares the two).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

#: Multipliers of three multiplicative hashes (odd, well mixed): a bit position is the
#: top bits of (hash * multiplier) mod 2^64.
_MIXERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
#: Bits an id when the array is (re)built, and the fewest before it doubles.
_BITS_PER_ID, _FEWEST_BITS_PER_ID = 16, 8
_MIN_BITS = 1 << 20


class HashFilter:
    """Bloom filter of int64 hashes; `add` them, ask which `may_hold` them."""

    def __init__(self, expected: int) -> None:
        self._reset(expected)

    def _reset(self, expected: int) -> None:
        """An empty array for `expected` hashes (16 bits each, a power of two)."""
        import numpy as np

        self._log_bits = max(_MIN_BITS, expected * _BITS_PER_ID).bit_length()
        self._bits: NDArray[np.uint8] = np.zeros(1 << (self._log_bits - 3), dtype=np.uint8)
        self._count = 0

    def _positions(self, hashes: NDArray[np.int64]) -> list[NDArray[np.uint64]]:
        import numpy as np

        keys = hashes.view(np.uint64)
        shift = np.uint64(64 - self._log_bits)
        return [(keys * np.uint64(m)) >> shift for m in _MIXERS]

    def add(self, hashes: NDArray[np.int64], everything: Iterable[NDArray[np.int64]]) -> None:
        """Add `hashes`; when the array grows too full, rebuild it twice as big from
        `everything` (every hash added so far, `hashes` among them)."""
        import numpy as np

        self._count += len(hashes)
        if self._count * _FEWEST_BITS_PER_ID > (1 << self._log_bits):
            self._reset(self._count)
            for part in everything:
                self.add(part, ())
            return
        for at in self._positions(hashes):
            np.bitwise_or.at(
                self._bits, at >> np.uint64(3), np.left_shift(1, at & np.uint64(7)).astype(np.uint8)
            )

    def may_hold(self, hashes: NDArray[np.int64]) -> NDArray[np.bool_]:
        """For each hash: False when it was never added; True when it may have been."""
        import numpy as np

        maybe = np.ones(len(hashes), dtype=bool)
        for at in self._positions(hashes):
            maybe &= (
                (self._bits[at >> np.uint64(3)] >> (at & np.uint64(7)).astype(np.uint8)) & 1
            ).astype(bool)
        return maybe
