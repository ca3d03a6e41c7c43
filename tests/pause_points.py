"""Hold a `dsr` command at a named point of its work, for the tests that kill it or race it.

`Child(args, at=[...])` runs `python -m tests.pause_points ... -- <dsr args>`. In that process the
named points below are hooked from the test side before the command runs (SQLAlchemy events, a
wrapper around the audit log's `record`, wrapped functions); nothing in the production code knows
about them. At a point the child reports it on a pipe and blocks until the test releases it
(`release`) or kills it (`kill`): a test waits for the event (`wait_paused`), never for a guessed
time, and knows where the kill landed. Each point fires once, the first time it is reached.
`jobs=True` also reports the APScheduler job events of a `dsr worker` (submitted, executed,
error, missed), each with the system-wide `time.monotonic()` of the event.

Every wait is bounded: past its timeout, or when the child ends first, the test fails with the
child's output.
"""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

POINTS = {
    "freeze.before_commit": "the freeze's transaction (draw row, frame archive, audit event) written, COMMIT not sent",
    "freeze.committed": "the freeze committed; the draw's own transaction not begun",
    "draw.tasks_written": "in the draw's transaction: the draw row claimed, its task rows inserted, nothing committed",
    "draw.before_commit": "the draw's transaction complete (tasks, teams, visits, certificate, audit event), COMMIT not sent",
    "draw.committed": "the draw committed",
    "claim.won": "a worker won the claim of a scheduled draw (committed) and has not begun the draw",
    "import.mid_commit": "SQLite: the import's COMMIT has written pages to the WAL but not its commit frame "
                         "(the process stops itself with SIGSTOP there instead of pausing)",
    "export.file_written": "the export wrote its first table file into its hidden folder",
    "export.before_rename": "the export's hidden folder is complete (manifest written), about to be renamed into place",
    "exchange.recorded": "`dsr exchange export`: the batch and its records committed, no file written",
    "exchange.written": "`dsr exchange export`: the batch folder renamed into place, its writing not yet recorded",
}


# --- the test's side ---------------------------------------------------------------------------


class Child:
    """A `dsr` subprocess with pause points; a context manager (leaving it kills a running child)."""

    def __init__(self, args: list[str], *, at: tuple[str, ...] | list[str] = (), jobs: bool = False,
                 env: dict | None = None, cwd: Path = ROOT) -> None:
        unknown = set(at) - POINTS.keys()
        assert not unknown, f"unknown pause points {sorted(unknown)}"
        report_r, report_w = os.pipe()
        hold_r, hold_w = os.pipe()
        e = dict(os.environ if env is None else env)
        e["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [e.get("PYTHONPATH", "")] if p])
        e["PYTHONUNBUFFERED"] = "1"
        self._stdout, self._stderr = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        cmd = [sys.executable, "-m", "tests.pause_points", "--report", str(report_w), "--hold", str(hold_r),
               "--at", ",".join(at), *(["--jobs"] if jobs else []), "--", *args]
        try:
            self.proc = subprocess.Popen(cmd, cwd=cwd, env=e, stdout=self._stdout, stderr=self._stderr,
                                         pass_fds=(report_w, hold_r))
        finally:
            os.close(report_w)
            os.close(hold_r)
        self.args = args
        self._report, self._hold = report_r, hold_w
        self._buf = b""
        self._eof = False
        self.messages: list[dict] = []  # reported, not yet taken by a wait

    # reading the reports

    def _read_some(self) -> None:
        chunk = os.read(self._report, 65536)
        if not chunk:
            self._eof = True
            return
        self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        self.messages.extend(json.loads(x) for x in lines if x)

    def _take(self, pred: Callable[[dict], bool]) -> dict | None:
        for i, m in enumerate(self.messages):
            if pred(m):
                return self.messages.pop(i)
        return None

    def wait_for(self, pred: Callable[[dict], bool], timeout: float, what: str) -> dict:
        """The first report satisfying `pred` (taken from `messages`)."""
        return wait_any([self], pred, timeout, what)[1]

    def wait_paused(self, point: str, timeout: float = 120) -> dict:
        """Wait until the child holds at `point`; it must be the first point it reached."""
        m = self.wait_for(lambda m: "paused" in m or "stopped" in m, timeout, f"pause point {point}")
        got = m.get("paused") or m.get("stopped")
        assert got == point, f"the child reached {got!r} first, not {point!r}"
        return m

    def wait_stopped(self, point: str, timeout: float = 120) -> dict:
        """Wait until the child has stopped itself (SIGSTOP) at `point`."""
        m = self.wait_for(lambda m: "paused" in m or "stopped" in m, timeout, f"stop point {point}")
        assert m.get("stopped") == point, f"the child reached {m}, not a stop at {point!r}"
        deadline = time.monotonic() + 30
        while True:  # the SIGSTOP follows the report at once
            pid, status = os.waitpid(self.proc.pid, os.WUNTRACED | os.WNOHANG)
            if pid:
                assert os.WIFSTOPPED(status), f"the child ended instead of stopping (status {status}):\n{self.output()}"
                return m
            assert time.monotonic() < deadline, "the child reported its stop but did not stop"
            time.sleep(0.001)

    # acting on it

    def release(self) -> None:
        """Let the child go on from the point it holds at."""
        os.write(self._hold, b"g")

    def kill(self) -> None:
        """SIGKILL (kill -9), and check that the signal is what ended it."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        assert self.proc.returncode == -signal.SIGKILL, f"exit {self.proc.returncode}, not killed"

    def wait(self, timeout: float = 300) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.args} did not finish in {timeout} s:\n{self.output()}") from None

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM (a worker's normal stop); SIGKILL if it does not end in `timeout` s."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(30)

    def stdout(self) -> str:
        self._stdout.seek(0)
        return self._stdout.read().decode("utf-8", "replace")

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def output(self) -> str:
        return self.stdout() + self.stderr()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        for fd in (self._report, self._hold):
            try:
                os.close(fd)
            except OSError:
                pass
        self._stdout.close()
        self._stderr.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def wait_any(children: list[Child], pred: Callable[[dict], bool], timeout: float, what: str) -> tuple[Child, dict]:
    """The first child (and its report) to report something satisfying `pred`."""
    deadline = time.monotonic() + timeout
    while True:
        for c in children:
            m = c._take(pred)
            if m is not None:
                return c, m
        live = [c for c in children if not c._eof]
        if not live:
            raise AssertionError(f"the child(ren) ended before {what}:\n"
                                 + "\n".join(f"{c.args}: exit {c.proc.wait(30)}\n{c.output()}" for c in children))
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n"
                                 + "\n".join(f"{c.args}:\n{c.output()}" for c in children))
        ready, _, _ = select.select([c._report for c in live], [], [], left)
        for c in live:
            if c._report in ready:
                c._read_some()


# --- SQLite's WAL file (https://www.sqlite.org/fileformat.html#walformat) ---------------------


def wal_frames(path: Path | str) -> tuple[int, bytes, list[bool]]:
    """(page size, the header's salts, one commit flag per frame of the log's current
    generation, in order). A frame is a commit frame when its "database size after commit" is set."""
    with open(path, "rb") as f:
        head = f.read(32)
        if len(head) < 32:
            return 0, b"", []
        page_size = struct.unpack(">I", head[8:12])[0]
        salts = head[16:24]
        flags = []
        while True:
            fh = f.read(24)
            if len(fh) < 24 or fh[8:16] != salts:
                break
            if len(f.read(page_size)) < page_size:  # being written
                break
            flags.append(struct.unpack(">I", fh[4:8])[0] != 0)
    return page_size, salts, flags


def uncommitted_frames(path: Path | str) -> int:
    """Frames written after the log's last commit frame (a commit under way)."""
    _, _, flags = wal_frames(path)
    last = max((i for i, c in enumerate(flags) if c), default=-1)
    return len(flags) - 1 - last


# --- the child's side --------------------------------------------------------------------------

_report_fd = _hold_fd = -1
_armed: set[str] = set()
_lock = threading.Lock()


def _send(msg: dict) -> None:
    os.write(_report_fd, (json.dumps(msg, ensure_ascii=False) + "\n").encode())  # one write: whole lines


def _reached(point: str) -> bool:
    with _lock:
        if point not in _armed:
            return False
        _armed.discard(point)
        return True


def _pause(point: str) -> None:
    if not _reached(point):
        return
    _send({"paused": point})
    if os.read(_hold_fd, 1) == b"":  # the test is gone: do not carry on unobserved
        os._exit(70)


def _replace(owner, name: str, new) -> None:
    """Set `owner.name` to `new`, and rebind every loaded module's own reference to the old object."""
    old = getattr(owner, name)
    for m in list(sys.modules.values()):
        d = getattr(m, "__dict__", None)
        if isinstance(d, dict):
            for k, v in list(d.items()):
                if v is old:
                    d[k] = new
    setattr(owner, name, new)


def _after(owner, name: str, point: str, when: Callable[..., bool] = lambda out, *a, **k: True) -> None:
    orig = getattr(owner, name)

    def wrapper(*a, **k):
        out = orig(*a, **k)
        if when(out, *a, **k):
            _pause(point)
        return out

    _replace(owner, name, wrapper)


def _before(owner, name: str, point: str) -> None:
    orig = getattr(owner, name)

    def wrapper(*a, **k):
        _pause(point)
        return orig(*a, **k)

    _replace(owner, name, wrapper)


# The transactions known by the audit event they write: before their COMMIT, and after it.
_AUDITED = {"draw.freeze": "freeze", "draw.execute": "draw"}
_tx_conns: dict[int, tuple[object, str]] = {}
_tx_sessions: dict[int, tuple[object, str]] = {}


def _hook_audited_transactions() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from scheduler.audit import service as audit

    orig = audit.record

    def record(s, actor, action, *a, **k):
        out = orig(s, actor, action, *a, **k)
        name = _AUDITED.get(action) or ("import" if action.startswith("import.") else None)
        if name:
            conn = s.connection()
            _tx_conns[id(conn)] = (conn, name)
            _tx_sessions[id(s)] = (s, name)
        return out

    _replace(audit, "record", record)

    @event.listens_for(Engine, "commit")
    def before_commit(conn) -> None:
        _, name = _tx_conns.pop(id(conn), (None, None))
        if name == "import":
            _stop_mid_commit(conn)
        elif name:
            _pause(f"{name}.before_commit")

    @event.listens_for(Engine, "rollback")
    def rolled_back(conn) -> None:
        _tx_conns.pop(id(conn), None)

    @event.listens_for(Session, "after_commit")
    def committed(s) -> None:
        _, name = _tx_sessions.pop(id(s), (None, None))
        if name:
            _pause(f"{name}.committed")

    @event.listens_for(Session, "after_rollback")
    def session_rolled_back(s) -> None:
        _tx_sessions.pop(id(s), None)


def _stop_mid_commit(conn) -> None:
    """Called just before the import's COMMIT: a thread waits (inotify) for the COMMIT's writes to
    the WAL and stops the whole process (SIGSTOP) once the first new frame is complete."""
    if "import.mid_commit" not in _armed:
        return
    import ctypes

    wal = f"{conn.engine.url.database}-wal"
    _, salts, flags = wal_frames(wal)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_CLOEXEC)
    if fd < 0 or libc.inotify_add_watch(fd, wal.encode(), 0x00000002) < 0:  # IN_MODIFY
        raise OSError(ctypes.get_errno(), f"inotify on {wal}")

    def new_frame() -> bool:
        with open(wal, "rb") as f:
            head = f.read(32)
            if len(head) < 32:
                return False
            ps = struct.unpack(">I", head[8:12])[0]
            n = len(flags) if head[16:24] == salts else 0  # a restarted log begins again at frame 0
            f.seek(32 + n * (ps + 24))
            fh = f.read(24)
            return len(fh) == 24 and fh[8:16] == head[16:24] and len(f.read(ps)) == ps

    def watch() -> None:
        while True:
            os.read(fd, 4096)
            if new_frame() and _reached("import.mid_commit"):
                _send({"stopped": "import.mid_commit", "frames_before": len(flags)})
                os.kill(os.getpid(), signal.SIGSTOP)
                return

    threading.Thread(target=watch, name="pause-points-wal", daemon=True).start()


def _report_jobs() -> None:
    from apscheduler import events as ev
    from apscheduler.schedulers.base import BaseScheduler

    kinds = {ev.EVENT_JOB_SUBMITTED: "submitted", ev.EVENT_JOB_EXECUTED: "executed",
             ev.EVENT_JOB_ERROR: "error", ev.EVENT_JOB_MISSED: "missed"}

    def on_event(e) -> None:
        msg = {"job": kinds[e.code], "id": e.job_id, "t": time.monotonic()}
        if getattr(e, "exception", None) is not None:
            msg["error"] = repr(e.exception)
        _send(msg)

    orig = BaseScheduler.start

    def start(self, *a, **k):
        self.add_listener(on_event, sum(kinds))
        return orig(self, *a, **k)

    BaseScheduler.start = start


def _install(points: set[str], jobs: bool) -> None:
    if points & {"freeze.before_commit", "freeze.committed", "draw.before_commit", "draw.committed", "import.mid_commit"}:
        _hook_audited_transactions()
    if "draw.tasks_written" in points:
        import db.bulk

        _after(db.bulk, "insert_rows", "draw.tasks_written", lambda out, conn, table, *a, **k: table == "task")
    if "claim.won" in points:
        from scheduler.draw import runs

        _after(runs, "claim", "claim.won", lambda out, *a, **k: out.won)
    if "export.file_written" in points:
        from scheduler.exchange import tables

        _after(tables, "write_csv", "export.file_written")
    if "export.before_rename" in points:
        _before(Path, "rename", "export.before_rename")
    if "exchange.recorded" in points:
        from scheduler.docking import outbound

        _after(outbound, "record_batch", "exchange.recorded", lambda out, *a, **k: out is not None)
    if "exchange.written" in points:
        from scheduler.docking import manifest

        _after(manifest, "write_batch", "exchange.written")
    if jobs:
        _report_jobs()


def main(argv: list[str]) -> None:
    global _report_fd, _hold_fd
    i = argv.index("--")
    opts, rest = argv[:i], argv[i + 1:]
    _report_fd = int(opts[opts.index("--report") + 1])
    _hold_fd = int(opts[opts.index("--hold") + 1])
    points = {p for p in opts[opts.index("--at") + 1].split(",") if p}
    _armed.update(points)
    _install(points, "--jobs" in opts)
    sys.argv = ["dsr", *rest]
    from scheduler.cli import main as dsr

    dsr()


if __name__ == "__main__":
    main(sys.argv[1:])
