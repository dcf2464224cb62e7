"""Forking worker processes that use SQLite, beside threads that may be inside it.

A forked child has only the thread that forked; a lock another thread held at that
instant stays held in the child for ever. SQLite has process-wide mutexes: the main
one (taken to open a database) and the allocator's (taken by every `sqlite3_malloc`
while memory statistics are on, the default). A worker forked while the storage's
checkpointer, a job's lease heartbeat or any thread of the host program was inside
SQLite hung on its first `sqlite3.connect` (reproduced: a thread holding either
mutex at the fork, the child never returns from opening `:memory:`). The preparation
workers of an HTTP pull open in-memory databases (`images`), so every fork of this
process holds both mutexes across the fork: taken just before it (the main one first,
as SQLite nests them: the allocator's is innermost), released just after, in the
parent and in the child, whose forking thread owns them.

SQLite's mutex API is reached through ctypes, in the library Python's `_sqlite3` is
linked with (its own symbols if it carries SQLite inside). Where it cannot be reached
`install` returns False and the storage makes no images (nothing in a worker then
uses SQLite). Python gives no hook for this: `os.register_at_fork` runs our code at
the right moments, and only SQLite can lock its own mutexes."""

from __future__ import annotations

import ctypes
import os
import threading

#: sqlite3.h: SQLITE_MUTEX_STATIC_MAIN, SQLITE_MUTEX_STATIC_MEM
_STATIC_MAIN = 2
_STATIC_MEM = 3

_lock = threading.Lock()
_installed: bool | None = None


def install() -> bool:
    """Hold SQLite's main and allocator mutexes across every fork of this process,
    once; False when they cannot be reached (see the module docstring)."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = _register()
        return _installed


def _register() -> bool:
    import _sqlite3

    try:
        lib = ctypes.CDLL(_sqlite3.__file__)  # its dependencies' symbols resolve too
        alloc, enter, leave = (
            lib.sqlite3_mutex_alloc,
            lib.sqlite3_mutex_enter,
            lib.sqlite3_mutex_leave,
        )
    except (OSError, AttributeError):
        return False
    alloc.restype, alloc.argtypes = ctypes.c_void_p, [ctypes.c_int]
    enter.restype, enter.argtypes = None, [ctypes.c_void_p]
    leave.restype, leave.argtypes = None, [ctypes.c_void_p]
    mutexes = (alloc(_STATIC_MAIN), alloc(_STATIC_MEM))  # NULL in a build without them

    def before() -> None:
        for mutex in mutexes:
            enter(mutex)

    def after() -> None:
        for mutex in reversed(mutexes):
            leave(mutex)

    os.register_at_fork(before=before, after_in_parent=after, after_in_child=after)
    return True
