"""`hooks rerun` and hook runners (issue 21 item 4), on every backend: reruns are
recorded like the dispatcher's runs, `--hook` picks one, and a runner registered by a
distribution's entry point (`ingestry.hook_runners`, found by importlib.metadata on
sys.path, nothing patched) runs the hooks when `hooks: {runner: …}` names it."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import ingestry
from ingestry import DepositionSource
from ingestry.domain.errors import ConfigError, HookNotFoundError, RecordNotFoundError
from ingestry.store import Store
from tests.lifecycle import with_hooks

META = {"created_at": "2026-11-01T10:00:00Z", "total_price": "3.00"}

RUNNER_MODULE = '''
"""A hook runner for tests: writes what it was asked to run as a feature, in-process."""
import json

from ingestry.domain.features import HookResult


class EchoRunner:
    def __init__(self, context):
        self.tag = context.options.get("tag")
        self.root = str(context.root)

    def run(self, hook, work_dir, env, timeout):
        feature = {"runner": "echo", "tag": self.tag, "hook": hook.name,
                   "event": env["INGESTRY_EVENT"], "root": self.root}
        (work_dir / "features" / "echo.json").write_text(json.dumps(feature))
        return HookResult(0, 0.0)


def broken(context):
    raise RuntimeError("cannot reach the cluster")
'''


def install_runner_distribution(site: Path) -> Path:
    """A distribution `echo-runner` in `site`: its module and a dist-info directory whose
    entry_points.txt registers two runners (what `pip install` would leave behind)."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "echo_runner.py").write_text(RUNNER_MODULE, encoding="utf-8")
    info = site / "echo_runner-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: echo-runner\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[ingestry.hook_runners]\necho = echo_runner:EchoRunner\nbroken = echo_runner:broken\n",
        encoding="utf-8",
    )
    importlib.invalidate_caches()
    return site


@pytest.fixture
def runner_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = install_runner_distribution(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    yield site


@pytest.fixture
def hooked(config_path: Path) -> Iterator[Store]:
    with_hooks(config_path, [("ok", "ok.py", 30), ("fail", "fail.py", 30)])
    with ingestry.open(config_path) as store:
        yield store


def test_rerun_runs_every_hook_again_and_records_it(hooked: Store) -> None:
    srn = hooked.publish_record("order", DepositionSource("R-1"), META).srn
    assert hooked.dispatcher().run_once().delivered == 1
    [before] = hooked.features(srn)
    assert before.value["event"] == "RecordPublished"
    outcomes = hooked.rerun_hooks(srn)
    assert [(o.hook, o.status, o.exit_code, o.version) for o in outcomes] == [
        ("ok", "succeeded", 0, 1),
        ("fail", "failed", 3, 1),
    ]
    assert outcomes[0].features == 1 and outcomes[1].reason == "exited with status 3"
    [after] = hooked.features(srn)  # the same (version, hook, name): replaced
    assert after.value["event"] == "rerun"
    runs = [(r.hook, r.event_id is None) for r in hooked.hook_runs()]
    assert runs == [("ok", False), ("fail", False), ("ok", True), ("fail", True)]


def test_rerun_one_hook_and_refuse_unknown_ones(hooked: Store) -> None:
    srn = hooked.publish_record("order", DepositionSource("R-2"), META).srn
    [outcome] = hooked.rerun_hooks(srn, "ok")
    assert (outcome.hook, outcome.status) == ("ok", "succeeded")
    assert [r.hook for r in hooked.hook_runs()] == ["ok"]
    with pytest.raises(HookNotFoundError, match="its hooks: ok, fail"):
        hooked.rerun_hooks(srn, "nope")
    with pytest.raises(RecordNotFoundError):
        hooked.rerun_hooks(srn.replace("R-2", "R-404"))


def test_an_entry_point_runner_runs_the_hooks(config_path: Path, runner_site: Path) -> None:
    with_hooks(config_path, [("ok", "ok.py", 30)])
    with config_path.open("a", encoding="utf-8") as config:
        config.write("hooks:\n  runner: echo\n  options: {tag: t1}\n")
    with ingestry.open(config_path) as store:
        assert store.hook_runners()["echo"] == "echo_runner:EchoRunner"
        srn = store.publish_record("order", DepositionSource("E-1"), META).srn
        assert store.dispatcher().run_once().delivered == 1  # the dispatcher's runner too
        [published] = store.features(srn)
        assert published.value["event"] == "RecordPublished"
        [outcome] = store.rerun_hooks(srn)
        assert (outcome.status, outcome.features) == ("succeeded", 1)
        [feature] = store.features(srn)
    assert feature.name == "echo"
    assert feature.value == {
        "runner": "echo",
        "tag": "t1",
        "hook": "ok",
        "event": "rerun",
        "root": str(config_path.parent),
    }


@pytest.mark.parametrize(
    ("runner", "message"),
    [
        ("k8s", "no hook runner 'k8s' (available: broken, echo, local, subprocess)"),
        ("broken", "cannot reach the cluster"),
    ],
)
def test_a_missing_or_broken_runner_is_a_config_error(
    config_path: Path, runner_site: Path, runner: str, message: str
) -> None:
    with_hooks(config_path, [("ok", "ok.py", 30)])
    with config_path.open("a", encoding="utf-8") as config:
        config.write(f"hooks: {{runner: {runner}}}\n")
    with ingestry.open(config_path) as store:
        srn = store.publish_record("order", DepositionSource("E-2"), META).srn
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            store.rerun_hooks(srn)
