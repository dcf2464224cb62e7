"""`python -m ingestry` is the CLI."""

from ingestry.entrypoints.cli import main

main()
