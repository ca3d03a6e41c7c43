"""Both cores for the draw: work done in a forked child while this process goes on.

- `split_fill`: one output buffer filled by both processes, half each (the tickets).
- `Forked`: one computation in a child, its result read back (a draw's matching, while
  the parent stores the tasks).
- `sha256`: the SHA-256 to use in code a child may run.
- `in_background`: a long C call that releases the GIL (zlib, hashlib on a big buffer, a
  SQLite scan) on a thread of its own, while this one goes on.

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
The one exception to "no OpenSSL": a child forked while the process has no other thread
(`alone()`), where no lock can be held at the fork, hashes with hashlib (the commitments of
`dsr verify` and of a package).
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import pickle
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

try:  # the interpreter's own SHA-256: no OpenSSL state (see above)
    from _sha256 import sha256
except ImportError:  # an interpreter built without it
    sha256 = hashlib.sha256

log = logging.getLogger("dsr.cores")
T = TypeVar("T")

# Below this many items the fork and the wait cost more than the second core saves.
MIN_SPLIT = 200_000


def in_background(work: Callable[[], T], name: str = "dsr-background") -> Future:
    """`work()` on a thread of its own; the Future gives its result."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        return pool.submit(work)
    finally:
        pool.shutdown(wait=False)


def alone() -> bool:
    """Whether this process runs no other thread (the command line, not the app's server): a
    child forked now may use any library, OpenSSL's hashing included, since no other thread
    can hold a lock at the fork."""
    return threading.active_count() == 1


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
    """`fn(send)` computed in a forked child while the caller goes on.

    `fn` may `send(part)` parts of its work as they are done (a chunk of teams) and returns the
    rest (the final value). `parts()` yields the parts in order as they arrive; then `result()`
    returns the final value. Without `fork`, with one usable core or no `os.fork`, or when the
    child fails (dies, sends something unreadable, or runs past `timeout` seconds: it is killed),
    `fn` runs here instead and `parts()` goes on with the parts not yielded yet: `fn` is
    deterministic, so the caller sees the same parts and value either way. Everything travels
    back pickled through a pipe: keep it compact (tuples and bytes, not many small objects).
    `close()` (or leaving the `with` block) kills and reaps a child still running."""

    def __init__(self, fn: Callable[[Callable[[object], None]], T], timeout: float = 300.0, fork: bool = True) -> None:
        self.fn = fn
        self.pid: int | None = None
        self._deadline = time.monotonic() + timeout
        self._yielded = 0
        self._final: list[T] = []
        if not fork or usable_cores() < 2 or not hasattr(os, "fork"):
            return
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                os.close(r)
                code = _child(fn, w)
            finally:
                os._exit(code)
        os.close(w)
        self.pid, self._fd = pid, r

    def __enter__(self) -> "Forked[T]":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def parts(self) -> Iterator[object]:
        while self.pid is not None:
            message = self._read_message()
            if message is None:  # the child failed: do the work here (below)
                self.close()
                break
            final, obj = message
            if final:
                self._final.append(obj)
                os.close(self._fd)
                os.waitpid(self.pid, 0)
                self.pid = None
                return
            self._yielded += 1
            yield obj
        if self._final:
            return
        local: list[object] = []
        self._final.append(self.fn(local.append))
        for obj in local[self._yielded:]:
            self._yielded += 1
            yield obj

    def result(self) -> T:
        """The final value (parts not yet taken through `parts()` are dropped)."""
        for _ in self.parts():
            pass
        return self._final[0]

    def close(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            os.close(self._fd)
            self.pid = None

    def _read_message(self) -> tuple[bool, object] | None:
        head = self._read_exactly(8)
        if head is None:
            return None
        body = self._read_exactly(int.from_bytes(head, "little"))
        if body is None:
            return None
        try:
            return pickle.loads(body)
        except Exception:  # noqa: BLE001 - a torn message is a failed child
            return None

    def _read_exactly(self, n: int) -> bytearray | None:
        """n bytes from the child, or None on its end of file or past the deadline."""
        buf = bytearray()
        while len(buf) < n:
            left = self._deadline - time.monotonic()
            if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                log.warning("forked computation past its time limit: killed, computing it in this process")
                return None
            chunk = os.read(self._fd, min(n - len(buf), 1 << 20))
            if not chunk:
                log.warning("forked computation ended early: computing it in this process")
                return None
            buf += chunk
        return buf


def _child(fn: Callable, fd: int) -> int:
    """Run `fn` in the child, its messages written to `fd` by a thread of their own: a pipe holds
    64 KB, and the parent reads only when it is done with its own work, so writing from `fn`'s
    thread would stop the work at the first part."""
    import queue
    import threading

    out: queue.SimpleQueue = queue.SimpleQueue()
    failed: list[BaseException] = []

    def writer() -> None:
        try:
            while (data := out.get()) is not None:
                for piece in (len(data).to_bytes(8, "little"), data):
                    view = memoryview(piece)
                    while view:
                        view = view[os.write(fd, view):]
        except BaseException as exc:  # noqa: BLE001 - reported through the exit code
            failed.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    try:
        final = fn(lambda part: out.put(pickle.dumps((False, part), protocol=pickle.HIGHEST_PROTOCOL)))
        out.put(pickle.dumps((True, final), protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        out.put(None)
        t.join()
    return 1 if failed else 0
