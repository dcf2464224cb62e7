"""The remote node a fork reads (httpx, imported only when a fork runs)."""

from __future__ import annotations

from ingestry.services.ports import RemoteNode


def build_remote_node(url: str, key: str) -> RemoteNode:
    from ingestry.adapters.federation import HttpRemoteNode

    return HttpRemoteNode(url, key)
