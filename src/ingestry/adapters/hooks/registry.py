"""Hook runners by name: the built-in one, and third-party runners registered under
the entry point group `ingestry.hook_runners` (a Kubernetes runner plugs in by being
installed, no change here). `hooks: {runner: NAME, options: {…}}` picks one."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from ingestry.adapters.hooks.local import LocalHookRunner
from ingestry.domain.errors import ConfigError
from ingestry.services.ports import HookRunner, HookRunnerFactory, RunnerContext

#: The entry point group third-party runners register under.
GROUP = "ingestry.hook_runners"


def _subprocess(context: RunnerContext) -> HookRunner:
    return LocalHookRunner(context.root)


#: Built in: hooks as local subprocesses (`local` is the same runner's other name).
BUILTIN: dict[str, HookRunnerFactory] = {"subprocess": _subprocess, "local": _subprocess}


def registered() -> dict[str, EntryPoint]:
    """Installed runners by name (importlib.metadata reads every distribution's
    entry_points.txt: called when a runner is built, never at import)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available() -> dict[str, str]:
    """Every runner name → where it comes from (`built-in` or the entry point's value)."""
    out = dict.fromkeys(BUILTIN, "built-in")
    out.update({name: ep.value for name, ep in registered().items() if name not in BUILTIN})
    return out


def build_runner(name: str, context: RunnerContext) -> HookRunner:
    """The runner `name` built for `context`; ConfigError says what is installed and
    what to do when it is not there or does not load."""
    if name in BUILTIN:
        return BUILTIN[name](context)
    found = registered().get(name)
    if found is None:
        known = ", ".join(sorted(available()))
        raise ConfigError(
            f"hooks.runner: no hook runner '{name}' (available: {known}); install the "
            f"package that registers it under the entry point group '{GROUP}', or use "
            "'subprocess'"
        )
    try:
        factory = found.load()
        runner: HookRunner = factory(context)
    except Exception as exc:
        raise ConfigError(
            f"hooks.runner: the hook runner '{name}' ({found.value}) failed to load: {exc!r}"
        ) from exc
    if not callable(getattr(runner, "run", None)):
        raise ConfigError(
            f"hooks.runner: '{name}' ({found.value}) built {type(runner).__name__}, which has "
            "no run(hook, work_dir, env, timeout) method"
        )
    return runner
