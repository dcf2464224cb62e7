"""The snapshot generator's text handling (no database): pg_dump's output made
schema-agnostic, data rows refused, the header read back."""

from __future__ import annotations

import pytest

from ingestry.adapters import schema_load, schema_snapshot
from ingestry.adapters.migrate import HEAD
from ingestry.adapters.schema_snapshot import SnapshotError, normalise_dump

DUMP = """\
--
-- PostgreSQL database dump
--

\\restrict abcDEF123

-- Dumped from database version 15.20

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;

--
-- Name: scratch_1; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA scratch_1;


CREATE FUNCTION scratch_1.touched() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
-- a comment in the body stays

SET LOCAL x = 1;
RETURN NEW;
END $$;


CREATE TABLE scratch_1.things (
    id bigint DEFAULT nextval('scratch_1.things_id_seq'::regclass) NOT NULL
);

CREATE TRIGGER t AFTER INSERT ON scratch_1.things FOR EACH ROW EXECUTE FUNCTION scratch_1.touched();

\\unrestrict abcDEF123
"""


def test_a_dump_loses_its_schema_settings_and_comments_but_not_function_bodies() -> None:
    assert normalise_dump(DUMP, "scratch_1") == (
        "CREATE FUNCTION touched() RETURNS trigger\n"
        "    LANGUAGE plpgsql\n"
        "    AS $$\n"
        "BEGIN\n"
        "-- a comment in the body stays\n"
        "\n"
        "SET LOCAL x = 1;\n"
        "RETURN NEW;\n"
        "END $$;\n"
        "\n"
        "CREATE TABLE things (\n"
        "    id bigint DEFAULT nextval('things_id_seq'::regclass) NOT NULL\n"
        ");\n"
        "\n"
        "CREATE TRIGGER t AFTER INSERT ON things FOR EACH ROW EXECUTE FUNCTION touched();"
    )


def test_a_schema_name_left_in_the_dump_fails() -> None:
    with pytest.raises(SnapshotError, match="scratch_1"):
        normalise_dump('CREATE TABLE "scratch_1".odd (x int);\n', "scratch_1")


def test_rows_other_than_the_stamp_and_the_node_id_fail_the_generation() -> None:
    schema_snapshot._check_empty({"alembic_version": 1, "node_identity": 1, "runs": 0})
    with pytest.raises(SnapshotError, match="left rows in convention_columns"):
        schema_snapshot._check_empty({"alembic_version": 1, "convention_columns": 2})


def test_the_header_is_read_back() -> None:
    text = schema_snapshot.render("sqlite", ["CREATE TABLE a (x);"])
    snapshot = schema_load.parse("sqlite", text)
    assert (snapshot.revision, snapshot.digest) == (HEAD, schema_load.migrations_digest())
    assert snapshot.ddl.endswith("\n\nCREATE TABLE a (x);\n")
    with pytest.raises(ValueError, match="not an ingestry schema snapshot"):
        schema_load.parse("sqlite", "CREATE TABLE a (x);\n")
