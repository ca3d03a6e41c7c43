"""Fill one output buffer with both cores: the second half of the work in a forked child.

The draw's ticket hashing is one C call per entity under the GIL (hashlib releases the
GIL only for long inputs), so threads cannot share it; a second process can. Why a bare
fork and not a process pool:
- the child inherits its input (hundreds of MB at 10M entities) copy-on-write: nothing
  is pickled or sent, and no interpreter is started (a pool's start costs more than the
  hashing of 1M entities saves);
- its output goes straight into a shared anonymous mapping the parent created, which the
  parent then uses as the result.
It is safe in a threaded parent (the Streamlit server, the scheduled worker) because the
child only runs the `fill` it is given (C-level hashing over inherited memory, see
`draw._digests_into`) and leaves with `os._exit`: it never returns into the parent's code,
runs no exit handlers, and touches none of its locks, files or database connections. If the
child fails in any way, the parent fills that half itself: the result never depends on it.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable

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
