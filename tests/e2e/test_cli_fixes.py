"""Small things a new user hits first (issue 13, item 10), through the real CLI on every
backend: one broken extractor, bad options, duplicate key names, user data printed as
markup, identifiers cut in tables."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson

from tests.e2e.cli import run

BROKEN = """\
  broken:
    strategy: raw
    convention: order
    rationale: Partner feed with its own extractor
    extractor: no_such_module.sub:unwrap
"""


def lines(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def test_one_unimportable_extractor_fails_only_its_own_source(project: Path) -> None:
    config = project / "ingestry.yaml"
    config.write_text(config.read_text() + BROKEN)
    ok = run("ingest", "customer_orders", "data/samples/orders.jsonl", "--json", cwd=project)
    assert ok.returncode == 0, ok.stderr
    assert run("stats", "--json", cwd=project).returncode == 0
    assert run("records", "list", "--convention", "order", "--json", cwd=project).returncode == 0
    broken = run("ingest", "broken", "data/samples/orders.jsonl", cwd=project)
    assert broken.returncode == 1
    message = broken.stderr.decode()
    assert message.count("\n") == 1 and "Traceback" not in message
    assert "sources.broken.extractor: 'no_such_module.sub:unwrap' cannot be imported" in message
    assert "No module named 'no_such_module'" in message
    assert "looked for 'unwrap' in module 'no_such_module.sub' on the Python path" in message
    status = run("status", "--json", cwd=project)
    assert status.returncode == 1
    by_source = {row["source"]: row for row in lines(status)}
    assert "cannot be imported" in str(by_source["broken"]["error"])
    fine = by_source["customer_orders"]
    assert fine["records"] == 43 and not fine["error"]


def test_records_list_after_something_that_is_no_srn_is_a_clear_error(project: Path) -> None:
    run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
    for after in ("x", "srn:ingestry:record:order", "srn:ingestry:record:exchange_rate:a:b"):
        result = run("records", "list", "--convention", "order", "--after", after, cwd=project)
        assert result.returncode == 2, result.stderr
        message = result.stderr.decode()
        assert "Traceback" not in message
        assert f"Invalid value for '--after': {after!r} is not the srn of an 'order' record" in (
            message
        )
    first = lines(run("records", "list", "--convention", "order", "--limit", "2", "--json",
                      cwd=project))  # fmt: skip
    after = str(first[0]["srn"])
    rest = run("records", "list", "--convention", "order", "--after", after, "--json", cwd=project)
    assert rest.returncode == 0 and lines(rest)[0]["srn"] == first[1]["srn"]


def test_keys_create_refuses_a_duplicate_name_and_revoke_never_hits_two(project: Path) -> None:
    first = run("keys", "create", "--name", "shop", "--sources", "customer_orders", "--json",
                cwd=project)  # fmt: skip
    assert first.returncode == 0, first.stderr
    prefix = orjson.loads(first.stdout)["prefix"]
    again = run("keys", "create", "--name", "shop", "--sources", "customer_orders", cwd=project)
    assert again.returncode == 1 and again.stdout == b""
    assert again.stderr.decode().strip() == (
        f"error: an active API key is named 'shop' already (prefix {prefix}): revoke it "
        f"first (`ingestry keys revoke {prefix}`) or choose another name"
    )
    assert run("keys", "revoke", "shop", cwd=project).stdout == b"revoked 1 key\n"
    rotated = run("keys", "create", "--name", "shop", "--admin", cwd=project)  # name free again
    assert rotated.returncode == 0, rotated.stderr
    listed = lines(run("keys", "list", "--json", cwd=project))
    assert [(k["name"], k["revoked_at"] is not None) for k in listed] == [
        ("shop", True), ("shop", False)]  # fmt: skip


def test_text_output_prints_user_data_as_it_is_and_never_cuts_an_identifier(
    project: Path,
) -> None:
    ident = ":car: [bold]ORD[/bold] " + "x" * 80
    line = orjson.dumps({"id": ident, "type": "order", "created_at": "2026-01-01T00:00:00Z",
                         "order_number": "[red]#1[/red] :thumbs_up:"})  # fmt: skip
    result = run("ingest", "customer_orders", "-", cwd=project, stdin=line + b"\n")
    assert result.returncode == 0, result.stderr
    (record,) = lines(run("records", "list", "--convention", "order", "--json", cwd=project))
    srn = str(record["srn"])
    listed = run("records", "list", "--convention", "order", cwd=project).stdout.decode()
    assert srn in listed and f"harvest:{ident}" in listed  # a pipe: whole, one line each
    assert "order_number=[red]#1[/red] :thumbs_up:" in listed
    history = run("records", "history", srn, cwd=project).stdout.decode()
    assert srn in history  # the table's title
    raw = run("raw", "show", "customer_orders", ident, cwd=project).stdout.decode()
    assert ident in raw and "🚗" not in raw


def test_a_missing_extra_names_the_command_that_installs_it_from_a_checkout(
    local_project: Path, tmp_path: Path
) -> None:
    fakes = tmp_path / "fakes"
    for module in ("uvicorn", "psycopg"):
        (fakes / module).mkdir(parents=True)
        (fakes / module / "__init__.py").write_text(f"raise ImportError('no {module} here')\n")
    env = {"PYTHONPATH": str(fakes)}
    serve = run("serve", "--port", "0", cwd=local_project, env=env)
    assert serve.returncode == 1
    assert "pip install 'ingestry[api]' (from a checkout: pip install -e '.[api]')" in (
        serve.stderr.decode()
    )
    env["INGESTRY_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    ingest = run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=local_project,
                 env=env)  # fmt: skip
    assert ingest.returncode == 1
    assert "(from a checkout: pip install -e '.[postgres]')" in ingest.stderr.decode()
