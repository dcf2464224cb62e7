"""Synthetic nested "orders" as JSON Lines, deterministic for a given N and seed.

Lines average about 800 bytes, shaped like `examples/data/samples/orders.jsonl` plus
the bulk real order payloads carry (addresses, titles, tags, notes). The nested parts
(customers, baskets, shipments) are built once into seeded pools; each order picks a
few of them and gets its own id, number, email and timestamp. That keeps a million
lines to a few seconds of CPU while every line stays a distinct entity.

    python bench/generate.py --n 100000 --seed 7   # prints the cached file's path
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson

T = TypeVar("T")
Rand = Callable[[], float]
Json = dict[str, Any]

OUT_DIR = Path(__file__).resolve().parent / "out"
CHUNK = 5_000  # lines serialised per write; keeps memory flat at any N
POOL = 4_096  # distinct customers, baskets and shipments to combine
EPOCH = datetime(2025, 1, 1)  # naive on purpose: isoformat() + "Z" is UTC, and fast

FIRST = ["Ana", "Farah", "Élodie", "Kenji", "Olu", "Marta", "Liam", "Priya", "Sven", "Zoë"]
LAST = ["Souza", "Khan", "Martin", "Tanaka", "Adeyemi", "Nowak", "Byrne", "Iyer", "Berg"]
CITIES = ["São Paulo", "Lagos", "Lyon", "Osaka", "Kraków", "Dublin", "Pune", "Bergen"]
COUNTRIES = ["BR", "NG", "FR", "JP", "PL", "IE", "IN", "NO", "DE", "US"]
CURRENCIES = ["BRL", "EUR", "JPY", "USD", "GBP", "NOK", "INR"]
STREETS = ["Rua das Flores", "Allen Avenue", "Rue de la République", "Chuo-dori", "Main St"]
GATEWAYS = ["stripe", "adyen", "paypal", "manual", "pix"]
METHODS = ["standard", "express", "pickup", "freight"]
CARRIERS = ["DHL", "UPS", "Correios", "Yamato", "PostNord", "An Post"]
ADJECTIVES = ["Organic", "Recycled", "Handmade", "Premium", "Compact", "Vintage", "Classic"]
NOUNS = ["Coffee Beans 1kg", "Linen Shirt", "Ceramic Mug", "Desk Lamp", "Wool Scarf"]
TAGS = ["vip", "wholesale", "gift", "repeat", "promo", "b2b", "priority", "eco", "fragile"]
WORDS = ["please", "leave", "the", "parcel", "with", "neighbour", "if", "nobody", "answers"]


@dataclass(frozen=True)
class Pools:
    """Pre-built nested parts; an order is a cheap combination of them."""

    people: list[tuple[str, str, Json]]  # (name, email local part, customer minus email)
    baskets: list[tuple[list[Json], str]]  # (line items, total price)
    shipments: list[Json]
    tags: list[list[str]]
    notes: list[str]


def cached_path(n: int, seed: int) -> Path:
    """Where the file for (n, seed) lives, so every run reuses the same bytes."""
    return OUT_DIR / f"orders-n{n}-s{seed}.jsonl"


def ensure(n: int, seed: int) -> Path:
    """Return the cached file for (n, seed), generating it once (atomically) if missing."""
    path = cached_path(n, seed)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{n}.tmp")
        write(tmp, n, seed)
        tmp.replace(path)
    return path


def write(path: Path, n: int, seed: int) -> None:
    """Serialise N orders in chunks with orjson (one C call per order, one write per chunk)."""
    rand = random.Random(seed).random
    with path.open("wb") as out:
        chunk: list[bytes] = []
        for order in orders(rand, n):
            chunk.append(orjson.dumps(order, option=orjson.OPT_APPEND_NEWLINE))
            if len(chunk) >= CHUNK:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))


def orders(rand: Rand, n: int) -> Iterator[Json]:
    """Yield N orders with sequential ids ("ORD-1" …)."""
    pools = build_pools(rand)
    for i in range(n):
        yield order(rand, i, pools)


def order(rand: Rand, i: int, pools: Pools) -> Json:
    """One order: its own identity and time, nested parts picked from the pools."""
    name, local, person = pick(rand, pools.people)
    items, total = pick(rand, pools.baskets)
    created = EPOCH + timedelta(seconds=i * 29 + int(rand() * 29))
    return {
        "id": f"ORD-{i + 1}",
        "type": "order",
        "order_number": f"#{100_000 + i}",
        "created_at": created.isoformat() + "Z",
        "total_price": total,
        "currency": pick(rand, CURRENCIES),
        "customer": {"email": f"{local}{i}@example.com", "name": name, **person},
        "line_items": items,
        "financial": {"paid": rand() < 0.8, "gateway": pick(rand, GATEWAYS)},
        "shipping": pick(rand, pools.shipments),
        "tags": pick(rand, pools.tags),
        "note": pick(rand, pools.notes),
    }


def build_pools(rand: Rand) -> Pools:
    """Build every pool from the same seeded stream, so output depends on the seed only."""
    return Pools(
        people=[person(rand) for _ in range(POOL)],
        baskets=[basket(rand) for _ in range(POOL)],
        shipments=[shipment(rand) for _ in range(POOL)],
        tags=[[pick(rand, TAGS) for _ in range(num(rand, 0, 5))] for _ in range(64)],
        notes=[" ".join(pick(rand, WORDS) for _ in range(num(rand, 0, 40))) for _ in range(256)],
    )


def person(rand: Rand) -> tuple[str, str, Json]:
    """A customer: display name, email prefix, and phone plus postal address."""
    first, last = pick(rand, FIRST), pick(rand, LAST)
    details = {
        "phone": f"+{num(rand, 10, 99)} {num(rand, 10**8, 10**9)}",
        "address": {
            "line1": f"{num(rand, 1, 999)} {pick(rand, STREETS)}",
            "city": pick(rand, CITIES),
            "zip": str(num(rand, 10_000, 99_999)),
            "country": pick(rand, COUNTRIES),
        },
    }
    return f"{first} {last}", f"{first.lower()}.{last.lower()}", details


def basket(rand: Rand) -> tuple[list[Json], str]:
    """One to four line items and their total as a decimal string."""
    items, total = [], 0
    for _ in range(num(rand, 1, 5)):
        price, quantity = num(rand, 199, 25_000), num(rand, 1, 6)
        total += price * quantity
        title = f"{pick(rand, ADJECTIVES)} {pick(rand, NOUNS)}"
        sku = f"SKU-{num(rand, 100, 1000)}"
        items.append({"sku": sku, "quantity": quantity, "price": cents(price), "title": title})
    return items, cents(total)


def shipment(rand: Rand) -> Json:
    """Shipping block: method, carrier, country, tracking number and price."""
    return {
        "method": pick(rand, METHODS),
        "carrier": pick(rand, CARRIERS),
        "country": pick(rand, COUNTRIES),
        "tracking": f"TRK{num(rand, 10**11, 10**12)}",
        "price": cents(num(rand, 0, 3_000)),
    }


def pick(rand: Rand, seq: Sequence[T]) -> T:
    """One element of seq; indexing by `random()` is ~3x cheaper than `Random.choice`."""
    return seq[int(rand() * len(seq))]


def num(rand: Rand, lo: int, hi: int) -> int:
    """An int in [lo, hi), cheaper than `Random.randrange`."""
    return lo + int(rand() * (hi - lo))


def cents(value: int) -> str:
    """Cents as a decimal string ("12.05"), the way shops send prices."""
    return f"{value // 100}.{value % 100:02d}"


def main() -> None:
    """CLI: generate (or reuse) the file and print its path."""
    parser = argparse.ArgumentParser(description="Generate synthetic orders (JSON Lines).")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(ensure(args.n, args.seed))


if __name__ == "__main__":
    main()
