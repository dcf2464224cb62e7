"""The `ingestry` command line: thin commands over `Store`.

Command modules in `ingestry.entrypoints.cli.commands` are discovered (each exports
`command`), and so are entry points in the group `ingestry.commands`: a new capability
adds its module without editing a central list. A built-in command is found by its
module's name (the command `ingest` lives in `commands/ingest.py`), so running one
imports that module alone; listing them (`--help`) imports every command module, which
keep their heavy imports inside the commands (see docs/architecture.md, start-up).
"""

from __future__ import annotations

import pkgutil
import sys
from importlib import import_module
from importlib.util import find_spec

import click

from ingestry.domain.errors import IngestryError
from ingestry.entrypoints.cli import commands
from ingestry.entrypoints.cli.context import CliContext

COMMAND_ENTRY_POINTS = "ingestry.commands"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class DiscoveredGroup(click.Group):
    """Adds discovered commands on first use: the one asked for, or all of them."""

    _loaded = False

    def _load_builtin(self, name: str) -> None:
        """The built-in command `name` alone (its module is `commands/<name>.py`)."""
        module_name = f"{commands.__name__}.{name}"
        if name in self.commands or not name.isidentifier() or find_spec(module_name) is None:
            return
        command = getattr(import_module(module_name), "command", None)
        if isinstance(command, click.Command) and command.name == name:
            self.add_command(command)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for info in pkgutil.iter_modules(commands.__path__):
            module = import_module(f"{commands.__name__}.{info.name}")
            command = getattr(module, "command", None)
            if isinstance(command, click.Command):
                self.add_command(command)
        from importlib.metadata import entry_points  # scans every installed package

        for ep in entry_points(group=COMMAND_ENTRY_POINTS):
            command = ep.load()
            if isinstance(command, click.Command) and command.name not in self.commands:
                self.add_command(command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_builtin(cmd_name)
        if cmd_name not in self.commands:
            self._load()
        return super().get_command(ctx, cmd_name)


@click.group(cls=DiscoveredGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: $INGESTRY_CONFIG or ./ingestry.yaml).",
)
@click.version_option(package_name="ingestry")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """ingestry: take data in from many sources, keep it safe, typed and traceable."""
    context = CliContext(config)
    ctx.obj = context
    ctx.call_on_close(context.close)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; an IngestryError is one line on stderr and exit status 1."""
    try:
        status = cli.main(args=argv, prog_name="ingestry", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_FAILURE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except IngestryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_OK)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else EXIT_OK)
