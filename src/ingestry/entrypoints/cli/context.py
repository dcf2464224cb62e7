"""What every command shares: the config path and a lazily opened Store.

The config parser and the store are imported when a command first asks for them, so
`ingestry --help` (and every command's `--help`) never loads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingestry.config import Settings
    from ingestry.store import Store


class CliContext:
    def __init__(self, config: str | None) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._store: Store | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from ingestry.config import load_settings

            self._settings = load_settings(self.config)
        return self._settings

    def store(self, *, prepare: bool = True) -> Store:
        if self._store is None:
            from ingestry.store import open_store

            self._store = open_store(self.settings(), prepare=prepare)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
