"""In-memory fakes of the ports, for contract suites and service unit tests.

Why here and not `src/ingestry/adapters/memory/`: a fake is a test double, not a
backend a user could pick. A real backend is a registry entry with a URL scheme, a
control-plane engine (jobs, API keys, idempotency keys), migrations and durability;
none of that is what these are for. They are the ports' behaviour, written as plainly
as it can be (dicts and lists, a deep copy per transaction), so that:

- the contract suites (`tests/contract/`) run on SQLite, PostgreSQL and the fake: a
  behaviour both databases show and the fake does not (or the reverse) is a gap in the
  contract, found without reading SQL;
- services are unit-tested on them (`tests/unit/test_services_on_fakes.py`) without a
  database file or server: the use case's logic, not the storage's.
"""

from tests.fakes.control import MemoryControl
from tests.fakes.storage import MemoryStorage

__all__ = ["MemoryControl", "MemoryStorage"]
