"""parse_settings: a valid file resolves; every error names file, key, line and problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingestry.config import parse_settings
from ingestry.domain.conventions import ColumnSpec, ColumnType, HookSpec
from ingestry.domain.errors import ConfigError, UnknownConventionError, UnknownSourceError
from ingestry.domain.sources import SourceFormat, StorageStrategy

FILE = Path("x.yaml")

VALID = """\
database: sqlite:///data/ingestry.db
cache: memory
conventions:
  order:
    columns:
      order_number: {path: order_number, type: text}
      created_at:   {path: created_at, type: timestamp, required: true}
      total:        {path: total_price, type: decimal}
      email:        {path: customer.email, type: text, index: true}
      sku:          {path: line_items.0.sku}
    hooks:
      - {name: risk, run: "python examples/hooks/risk.py"}
sources:
  customer_orders:
    strategy: raw
    convention: order
    rationale: Customer-provided data, cannot re-fetch
    retention_days: 90
    format: jsonl
    id: id
    entity_type: type
  listings:
    strategy: simple
    convention: order
    rationale: Our own listings
    format: csv
    id: [shop, sku]
"""


def _error(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, FILE, env or {})
    message = str(info.value)
    assert "x.yaml" in message, message
    return message


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_valid_config_resolves() -> None:
    settings = parse_settings(VALID, FILE, {})
    assert settings.path == FILE.resolve()
    assert settings.cache_url == "memory"
    assert settings.env == "development"
    order = settings.convention("order")
    assert order.columns == (
        ColumnSpec("order_number", ("order_number",), ColumnType.TEXT),
        ColumnSpec("created_at", ("created_at",), ColumnType.TIMESTAMP, required=True),
        ColumnSpec("total", ("total_price",), ColumnType.DECIMAL),
        ColumnSpec("email", ("customer", "email"), ColumnType.TEXT, index=True),
        ColumnSpec("sku", ("line_items", "0", "sku"), ColumnType.TEXT),
    )
    assert order.hooks == (HookSpec("risk", "python examples/hooks/risk.py", 60.0),)
    raw = settings.source("customer_orders")
    assert raw.strategy is StorageStrategy.RAW
    assert raw.is_raw
    assert raw.format is SourceFormat.JSONL
    assert raw.retention_days == 90
    assert raw.id_paths == (("id",),)
    assert raw.entity_type_path == ("type",)
    assert raw.rationale == "Customer-provided data, cannot re-fetch"
    simple = settings.source("listings")
    assert simple.strategy is StorageStrategy.SIMPLE
    assert simple.format is SourceFormat.CSV
    assert simple.id_paths == (("shop",), ("sku",))
    assert simple.entity_type_path is None
    assert simple.retention_days is None


def test_defaults_for_optional_keys() -> None:
    text = """\
conventions:
  thing:
    columns:
      name: {}
sources:
  things:
    strategy: simple
    convention: thing
    rationale: public
"""
    settings = parse_settings(text, FILE, {})
    source = settings.source("things")
    assert source.format is SourceFormat.JSONL
    assert source.id_paths == (("id",),)
    assert settings.convention("thing").columns == (ColumnSpec("name", ("name",), ColumnType.TEXT),)
    assert settings.database_url == f"sqlite:///{(Path.cwd() / 'data/ingestry.db').resolve()}"


def test_empty_file_is_an_empty_config() -> None:
    settings = parse_settings("", FILE, {})
    assert dict(settings.sources) == {}
    assert dict(settings.conventions) == {}


def test_unknown_source_and_convention_lookups() -> None:
    settings = parse_settings(VALID, FILE, {})
    with pytest.raises(UnknownSourceError, match="customer_orders, listings"):
        settings.source("nope")
    with pytest.raises(UnknownConventionError, match="declared: order"):
        settings.convention("nope")


def test_relative_sqlite_resolves_against_the_config_directory() -> None:
    settings = parse_settings(VALID, Path("/srv/shop/ingestry.yaml"), {})
    expected = Path("/srv/shop").resolve() / "data" / "ingestry.db"
    assert settings.database_url == f"sqlite:///{expected}"


def test_files_resolve_against_the_config_directory() -> None:
    text = VALID.replace("    id: id\n", "    id: id\n    files: [in/a.jsonl, /abs/b.jsonl]\n")
    settings = parse_settings(text, Path("/srv/shop/ingestry.yaml"), {})
    base = Path("/srv/shop").resolve()
    assert settings.source("customer_orders").files == (str(base / "in/a.jsonl"), "/abs/b.jsonl")


@pytest.mark.parametrize("url", ["sqlite:////var/db/i.db", "sqlite:///:memory:"])
def test_absolute_and_memory_sqlite_are_kept(url: str) -> None:
    text = VALID.replace("sqlite:///data/ingestry.db", f"'{url}'")
    assert parse_settings(text, Path("/srv/shop/ingestry.yaml"), {}).database_url == url


def test_postgres_url_is_kept() -> None:
    text = VALID.replace("sqlite:///data/ingestry.db", "postgresql://u@db/ingestry")
    assert parse_settings(text, FILE, {}).database_url == "postgresql://u@db/ingestry"


def test_environment_overrides_database_and_cache() -> None:
    env = {
        "INGESTRY_DATABASE_URL": "postgresql://user@host/db",
        "INGESTRY_CACHE_URL": "redis://127.0.0.1:6379/0",
    }
    settings = parse_settings(VALID, FILE, env)
    assert settings.database_url == "postgresql://user@host/db"
    assert settings.cache_url == "redis://127.0.0.1:6379/0"


def test_environment_relative_sqlite_resolves_against_working_directory() -> None:
    settings = parse_settings(
        VALID, Path("/srv/shop/ingestry.yaml"), {"INGESTRY_DATABASE_URL": "sqlite:///rel.db"}
    )
    assert settings.database_url == f"sqlite:///{(Path.cwd() / 'rel.db').resolve()}"


def test_empty_environment_values_do_not_override() -> None:
    settings = parse_settings(VALID, FILE, {"INGESTRY_CACHE_URL": ""})
    assert settings.cache_url == "memory"


def test_ingestry_env_production_and_invalid() -> None:
    assert parse_settings(VALID, FILE, {"INGESTRY_ENV": "production"}).env == "production"
    with pytest.raises(ConfigError, match="INGESTRY_ENV"):
        parse_settings(VALID, FILE, {"INGESTRY_ENV": "staging"})


# --- errors: file, dotted key, line, problem ---


def test_unknown_key() -> None:
    text = VALID.replace("    format: jsonl\n", "    format: jsonl\n    colour: red\n")
    message = _error(text)
    line = _line_of(text, "colour:")
    assert f"sources.customer_orders.colour (line {line}): unknown key" in message


def test_unknown_top_level_key() -> None:
    text = VALID + "extras: 1\n"
    assert f"extras (line {_line_of(text, 'extras:')}): unknown key" in _error(text)


def test_bad_strategy() -> None:
    text = VALID.replace("strategy: raw", "strategy: cooked")
    message = _error(text)
    assert f"sources.customer_orders.strategy (line {_line_of(text, 'cooked')})" in message
    assert "'raw' or 'simple'" in message


def test_bad_format() -> None:
    text = VALID.replace("format: jsonl", "format: xml")
    message = _error(text)
    assert f"sources.customer_orders.format (line {_line_of(text, 'xml')})" in message


def test_bad_column_type() -> None:
    text = VALID.replace("type: decimal", "type: money")
    message = _error(text)
    line = _line_of(text, "money")
    assert f"conventions.order.columns.total.type (line {line})" in message
    assert "'decimal'" in message


def test_unknown_convention() -> None:
    text = VALID.replace(
        "convention: order\n    rationale: Our", "convention: product\n    rationale: Our"
    )
    message = _error(text)
    line = _line_of(text, "convention: product")
    assert f"sources.listings.convention (line {line})" in message
    assert "unknown convention 'product'" in message
    assert "declared: order" in message


@pytest.mark.parametrize("name", ["version", "srn", "metadata", "source_id", "published_at"])
def test_reserved_column_name(name: str) -> None:
    text = VALID.replace("      total:", f"      {name}:")
    message = _error(text)
    assert "conventions.order.columns" in message
    assert f"'{name}' is reserved" in message
    assert re.search(r"\(line \d+\)", message)


def test_reserved_column_error_names_the_column_key_and_its_line() -> None:
    text = VALID.replace("      total:", "      version:")
    message = _error(text)
    assert f"conventions.order.columns.version (line {_line_of(text, 'version:')})" in message


def test_invalid_column_name() -> None:
    message = _error(VALID.replace("      total:", "      Total:"))
    assert "column name 'Total' must match" in message


def test_retention_on_simple_source() -> None:
    text = VALID.replace("format: csv", "format: csv\n    retention_days: 7")
    message = _error(text)
    line = _line_of(text, "retention_days: 7")
    assert f"sources.listings.retention_days (line {line})" in message
    assert "only raw sources" in message


@pytest.mark.parametrize("days", ["0", "-5", "soon"])
def test_bad_retention_days(days: str) -> None:
    text = VALID.replace("retention_days: 90", f"retention_days: {days}")
    message = _error(text)
    assert (
        f"sources.customer_orders.retention_days (line {_line_of(text, 'retention_days')})"
        in message
    )


def test_empty_rationale() -> None:
    text = VALID.replace("rationale: Our own listings", "rationale: ''")
    assert "sources.listings.rationale" in _error(text)


def test_empty_id_list() -> None:
    text = VALID.replace("id: [shop, sku]", "id: []")
    message = _error(text)
    assert (
        f"sources.listings.id (line {_line_of(text, 'id: []')}): needs at least one path" in message
    )


def test_bad_column_path() -> None:
    text = VALID.replace("path: customer.email", "path: customer..email")
    message = _error(text)
    assert "conventions.order.columns.email.path" in message
    assert "empty segment" in message


def test_invalid_source_name() -> None:
    text = VALID.replace("  listings:", "  Listings:")
    assert "sources.Listings" in _error(text)


def test_unsupported_database_url() -> None:
    text = VALID.replace("sqlite:///data/ingestry.db", "mysql://h/db")
    message = _error(text)
    assert "database (line 1): unsupported database URL 'mysql://h/db'" in message


def test_unsupported_database_url_from_env() -> None:
    assert "unsupported database URL" in _error(VALID, {"INGESTRY_DATABASE_URL": "oracle://x"})


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("database: sqlite:///x.db\ncache: [memory\nsources: {}\n", 3),
        ("a: b\n  c: d\n", 2),
        ("conventions:\n  order:\n    columns: {x: {path: a}\n", 4),
    ],
)
def test_invalid_yaml_names_line(text: str, line: int) -> None:
    message = _error(text)
    assert "invalid YAML" in message
    assert f"(line {line}, column" in message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    assert "top level must be a mapping" in _error(text)


def test_several_problems_are_all_reported() -> None:
    text = VALID.replace("strategy: raw", "strategy: cooked").replace("format: csv", "format: xml")
    message = _error(text)
    assert "sources.customer_orders.strategy" in message
    assert "sources.listings.format" in message


def test_duplicate_key_is_an_error_with_its_line() -> None:
    text = VALID.replace("sources:\n", "sources:\n  dup: 1\n  dup: 2\n", 1)
    message = _error(text)
    assert "duplicate key 'dup'" in message
    assert f"line {text.splitlines().index('  dup: 2') + 1}" in message


def test_counts_from_the_environment_are_whole_numbers_or_named_errors() -> None:
    from ingestry.bootstrap import build_parallel, write_lanes

    assert write_lanes({}, default=2) == 2
    assert write_lanes({"INGESTRY_WRITE_LANES": " 3 "}, default=2) == 3
    for bad in ("0", "-1", "two"):
        with pytest.raises(ConfigError, match="INGESTRY_WRITE_LANES must be a whole number"):
            write_lanes({"INGESTRY_WRITE_LANES": bad}, default=2)
    assert build_parallel({"INGESTRY_WORKERS": "0"}) is None
    with pytest.raises(ConfigError, match="INGESTRY_WORKERS must be a whole number from 0"):
        build_parallel({"INGESTRY_WORKERS": "many"})
