"""Both cores for the draw: work done in a forked child while this process goes on.

- `split_fill`: one output buffer filled by both processes, half each (the tickets).
- `Forked`: one computation in a child, its result read back (a draw's matching, while
  the parent stores the tasks).
- `sha256`: the SHA-256 to use in code a child may run.

The draw's ticket hashing is one C call per entity under the GIL (hashlib releases the
GIL only for long inputs), so threads cannot share it; a second process can. Why a bare
fork and not a process pool:
- the child inherits its input (hundreds of MB at 10M entities) copy-on-write: nothing
  is pickled or sent, and no interpreter is started (a pool's start costs more than the
  hashing of 1M entities saves);
- its output goes straight into a shared anonymous mapping the parent created, which the
  parent then uses as the result.
It is safe in a threaded parent (the Streamlit server, the scheduled worker) because a
child only runs the pure computation it is given (hashing, numpy, the matcher: no I/O, no
locks, no OpenSSL, whose global state another thread may hold at the fork, hence `sha256`)
and leaves with `os._exit`: it never returns into the parent's code, runs no exit handlers,
and touches none of its files or database connections. If a child fails in any way (killed,
out of memory, too slow), the parent does that work itself: a result never depends on it.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import Generic, TypeVar

try:  # the interpreter's own SHA-256: no OpenSSL state (see above)
    from _sha256 import sha256
except ImportError:  # an interpreter built without it
    sha256 = hashlib.sha256

log = logging.getLogger("dsr.cores")
T = TypeVar("T")

# Below this many items the fork and the wait cost more than the second core saves.
MIN_SPLIT = 200_000


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def split_fill(n: int, width: int, fill: Callable[[memoryview, int, int], None],
               min_split: int | None = None) -> bytearray | mmap.mmap:
    """A buffer of `n * width` bytes where `fill(out, start, stop)` wrote items start..stop-1
    (each `width` bytes at `out[start * width:]`). Items n//2.. are filled by a forked child
    when there are at least `min_split` (default `MIN_SPLIT`) items, two usable cores and `os.fork`."""
    if n < max(MIN_SPLIT if min_split is None else min_split, 2) or usable_cores() < 2 or not hasattr(os, "fork"):
        out = bytearray(n * width)
        fill(memoryview(out), 0, n)
        return out
    buf = mmap.mmap(-1, n * width)  # MAP_SHARED | MAP_ANONYMOUS: the child's writes are seen here
    mid = n // 2
    pid = os.fork()
    if pid == 0:  # the child: fill the second half, then leave without unwinding
        code = 1
        try:
            view = memoryview(buf)
            fill(view, mid, n)
            view.release()
            code = 0
        finally:
            os._exit(code)
    view = memoryview(buf)
    try:
        fill(view, 0, mid)
    finally:
        _, status = os.waitpid(pid, 0)
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        fill(view, mid, n)  # the child failed (killed, out of memory): do its half here
    view.release()
    return buf


class Forked(Generic[T]):
    """`fn()` computed in a forked child while the caller goes on; `result()` returns it.

    Without `fork`, with one usable core or no `os.fork`, or when the child fails (dies, returns nothing
    readable, or takes longer than `timeout` seconds: then it is killed), `result()` computes
    `fn()` here instead, so the value is the same either way. `fn`'s result travels back
    pickled through a pipe: keep it compact (tuples and bytes, not many small objects).
    `close()` (or leaving the `with` block) reaps a child whose result was never asked for."""

    def __init__(self, fn: Callable[[], T], timeout: float = 300.0, fork: bool = True) -> None:
        self.fn, self.timeout = fn, timeout
        self.pid: int | None = None
        if not fork or usable_cores() < 2 or not hasattr(os, "fork"):
            return
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                os.close(r)
                data = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
                view = memoryview(data)
                while view:
                    view = view[os.write(w, view):]
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self.pid, self._fd = pid, r

    def __enter__(self) -> "Forked[T]":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def result(self) -> T:
        if self.pid is None:
            return self.fn()
        data = self._read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if data is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            return pickle.loads(data)
        log.warning("forked computation failed (status %s): computing it in this process", status)
        return self.fn()

    def close(self) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            os.close(self._fd)
            self.pid = None

    def _read(self) -> bytes | None:
        """All the child wrote, or None if it timed out (it is killed then)."""
        deadline = time.monotonic() + self.timeout
        parts: list[bytes] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                    os.kill(self.pid, signal.SIGKILL)
                    log.warning("forked computation took over %.0f s: killed", self.timeout)
                    return None
                chunk = os.read(self._fd, 1 << 20)
                if not chunk:
                    return b"".join(parts)
                parts.append(chunk)
        finally:
            os.close(self._fd)
