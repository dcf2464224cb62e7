"""`ingestry hooks rerun|runners` from the real CLI (with a runner registered by an
installed distribution's entry point), and `POST /v1/records/{srn}/hooks/rerun`."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.apiclient import api_client, auth, create_key
from tests.e2e.cli import run
from tests.integration.test_hook_rerun import install_runner_distribution
from tests.lifecycle import order, with_hooks


def _published(project: Path) -> str:
    (project / "one.jsonl").write_bytes(orjson.dumps(order("H-1")) + b"\n")
    ingested = run("ingest", "customer_orders", "one.jsonl", cwd=project)
    assert ingested.returncode == 0, ingested.stderr
    return "srn:ingestry:record:order:harvest:customer_orders:H-1"


def test_rerun_with_an_entry_point_runner(local_project: Path, tmp_path: Path) -> None:
    config = with_hooks(local_project / "ingestry.yaml", [("ok", "ok.py", 30)])
    with config.open("a", encoding="utf-8") as out:
        out.write("hooks: {runner: echo, options: {tag: cli}}\n")
    site = install_runner_distribution(tmp_path / "site")
    env = {"PYTHONPATH": str(site)}
    listed = run("hooks", "runners", "--json", cwd=local_project, env=env)
    assert listed.returncode == 0, listed.stderr
    assert orjson.loads(listed.stdout)["echo"] == "echo_runner:EchoRunner"
    srn = _published(local_project)
    rerun = run("hooks", "rerun", srn, "--json", cwd=local_project, env=env)
    assert rerun.returncode == 0, rerun.stderr
    [outcome] = [orjson.loads(line) for line in rerun.stdout.splitlines()]
    assert (outcome["hook"], outcome["status"], outcome["features"]) == ("ok", "succeeded", 1)
    features = run("records", "features", srn, "--json", cwd=local_project, env=env)
    [feature] = [orjson.loads(line) for line in features.stdout.splitlines()]
    assert feature["value"]["tag"] == "cli" and feature["value"]["event"] == "rerun"
    unknown = run("hooks", "rerun", srn, "--hook", "nope", cwd=local_project, env=env)
    assert unknown.returncode == 1 and b"has no hook 'nope'" in unknown.stderr
    missing = run("hooks", "rerun", srn, cwd=local_project)  # the runner is not installed
    assert missing.returncode == 1 and b"no hook runner 'echo'" in missing.stderr
    assert b"Traceback" not in missing.stderr


def test_api_rerun(local_project: Path) -> None:
    config = with_hooks(
        local_project / "ingestry.yaml", [("ok", "ok.py", 30), ("fail", "fail.py", 30)]
    )
    srn = _published(local_project)
    key = create_key(config, "ops", [], admin=True)
    with api_client(config) as client:
        done = client.post(f"/v1/records/{srn}/hooks/rerun", params={"hook": "fail"},
                           headers=auth(key))  # fmt: skip
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["srn"] == srn
        assert [(r["hook"], r["status"], r["exit_code"]) for r in body["runs"]] == [
            ("fail", "failed", 3)
        ]
        unknown = client.post(f"/v1/records/{srn}/hooks/rerun", params={"hook": "x"},
                              headers=auth(key))  # fmt: skip
        assert unknown.status_code == 404 and "has no hook 'x'" in unknown.text
