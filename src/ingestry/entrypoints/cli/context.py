"""What every command shares: the config path and a lazily opened Store."""

from __future__ import annotations

from ingestry.config import Settings, load_settings
from ingestry.store import Store, open_store


class CliContext:
    def __init__(self, config: str | None) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._store: Store | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    def store(self, *, prepare: bool = True) -> Store:
        if self._store is None:
            self._store = open_store(self.settings(), prepare=prepare)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
