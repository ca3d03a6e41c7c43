"""Long work the app runs for a user — an import, a draw, a public export — in a thread owned by
the server process, not by the script run that started it.

The script run that clicks 开始导入 only starts the work and returns; the user may go to another
page (the run is stopped, the thread is not) and come back. Each piece of work has a progress
record (`Job`: fraction, a line of text, then the result or the error in Chinese) that the pages
read: the page that started it polls it with a fragment (`progress`), and 首页 lists the user's
work under 进行中的工作 (`panel`).

One piece of work per `key` at a time: a second click, or a second tab, that asks for work whose
key is running gets the running job back instead of a second one (`start` returns it with
started=False). The services keep their own guarantees on top of this one (a draw is
all-or-nothing and refused a second time for the same plan and period, even from another server
process): their refusal is the job's error, shown as it is.

The records live in this process's memory: a restart of the server forgets them (the work itself
is in one transaction each, so a restart mid-way leaves nothing half-written).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import streamlit as st

from scheduler.errors import DsrError

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED = "running", "done", "failed"
KEEP_PER_OWNER = 10  # finished jobs kept per account (the newest)
POLL_SECONDS = 1.0
UTC = dt.timezone.utc


@dataclass
class Job:
    id: int
    key: str
    owner: str  # the account's username
    title: str  # what the work is, in Chinese ("导入检查对象：企业.csv")
    page: str  # the page that shows its result (ui/pages/…)
    started: dt.datetime
    db: str = ""  # the database it works on (a process serves one; tests switch between several)
    meta: dict = field(default_factory=dict)
    state: str = RUNNING
    fraction: Optional[float] = None  # None: no measure of the progress, only that it runs
    text: str = ""
    summary: str = ""  # one line on the result, set by the work when done
    result: Any = None
    error: str = ""
    finished: Optional[dt.datetime] = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def update(self, fraction: Optional[float], text: str) -> None:
        """The work's progress: called from the work's thread."""
        self.fraction, self.text = fraction, text

    @property
    def running(self) -> bool:
        return self.state == RUNNING


_lock = threading.Lock()
_jobs: dict[int, Job] = {}
_ids = itertools.count(1)


def start(key: str, owner: str, title: str, page: str, work: Callable[[Job], Any], *, failed: str,
          meta: Optional[dict] = None) -> tuple[Job, bool]:
    """Run `work(job)` in a server thread; returns (job, True). If work under `key` is running,
    returns (that job, False) and starts nothing. `failed` begins the Chinese error line
    ("导入失败，未写入任何数据")."""
    with _lock:
        busy = running(key)
        if busy is not None:
            return busy, False
        job = Job(next(_ids), key, owner, title, page, dt.datetime.now(UTC), db=_db(), meta=dict(meta or {}))
        _jobs[job.id] = job
        _prune(owner)
    threading.Thread(target=_run, args=(job, work, failed), name=f"dsr-job-{job.id}", daemon=True).start()
    return job, True


def _run(job: Job, work: Callable[[Job], Any], failed: str) -> None:
    try:
        job.result = work(job)
        job.state = DONE
    except DsrError as exc:  # a refusal or bad input: the service's own Chinese message
        job.error, job.state = f"{failed}：{exc.message}", FAILED
    except Exception as exc:  # noqa: BLE001 - a bug; the user still gets a line in Chinese
        log.exception("job %s (%s) failed", job.id, job.key)
        job.error, job.state = f"{failed}：{getattr(exc, 'reason', None) or exc}", FAILED
    finally:
        job.finished = dt.datetime.now(UTC)
        job.done.set()


def _prune(owner: str) -> None:
    finished = sorted((j for j in _jobs.values() if j.owner == owner and not j.running), key=lambda j: j.id)
    for j in finished[:-KEEP_PER_OWNER] if len(finished) > KEEP_PER_OWNER else []:
        del _jobs[j.id]


def _db() -> str:
    from ui.database import database_url

    return database_url()


def _here() -> list[Job]:
    db = _db()
    return [j for j in list(_jobs.values()) if j.db == db]


def get(job_id: int) -> Optional[Job]:
    return _jobs.get(job_id)


def running(key: str) -> Optional[Job]:
    """The work running under `key`, if any (whoever started it)."""
    return next((j for j in _here() if j.key == key and j.running), None)


def latest(owner: str, prefix: str = "") -> Optional[Job]:
    """The account's newest job whose key starts with `prefix`."""
    mine = [j for j in _here() if j.owner == owner and j.key.startswith(prefix)]
    return max(mine, key=lambda j: j.id, default=None)


def of(owner: str) -> list[Job]:
    """The account's jobs, newest first."""
    return sorted((j for j in _here() if j.owner == owner), key=lambda j: -j.id)


def forget(job_id: int) -> None:
    """Drop a finished job's record (the user has read its result)."""
    with _lock:
        j = _jobs.get(job_id)
        if j is not None and not j.running:
            del _jobs[job_id]


# --- shown on the pages ------------------------------------------------------------------------------------

def _local(t: dt.datetime) -> str:
    from scheduler.results.service import LOCAL_TZ

    return t.astimezone(LOCAL_TZ).strftime("%H:%M:%S")


def _bar(job: Job) -> None:
    seconds = int((dt.datetime.now(UTC) - job.started).total_seconds())
    text = f"{job.title}：{job.text or '进行中……'}（已用时 {seconds} 秒）"
    if job.fraction is None:
        st.progress(0.0, text=text)
    else:
        st.progress(min(max(job.fraction, 0.0), 1.0), text=text)


@st.fragment(run_every=POLL_SECONDS)
def progress(job_id: int) -> None:
    """The progress of a running job, read again every second; when the work ends the whole page
    runs again, so that it shows the result."""
    job = get(job_id)
    if job is None or not job.running:
        st.rerun(scope="app")
    _bar(job)
    st.caption(f"开始于 {_local(job.started)}。可以离开本页办理其他工作，完成后在本页和首页“进行中的工作”查看结果。")


def outcome(job: Job) -> None:
    """A finished job's line: its summary, or its error."""
    when = f"（{_local(job.finished)} 完成）" if job.finished else ""
    if job.state == DONE:
        st.success(f"{job.title}：{job.summary or '已完成'}{when}")
    else:
        st.error(f"{job.title}：{job.error}{when}")


@st.fragment(run_every=POLL_SECONDS)
def _running_list(ids: tuple[int, ...]) -> None:
    jobs = [get(i) for i in ids]
    if any(j is None or not j.running for j in jobs):
        st.rerun(scope="app")
    for j in jobs:
        _bar(j)
        st.page_link(j.page, label="打开办理页面", icon=":material/open_in_new:")


def panel(owner: str) -> None:
    """首页's 进行中的工作: the account's running work with its progress, then its finished work
    with the result; nothing when there is none."""
    mine = of(owner)
    if not mine:
        return
    st.markdown("#### 进行中的工作")
    busy = tuple(j.id for j in mine if j.running)
    if busy:
        _running_list(busy)
    else:
        st.caption("没有进行中的工作。")
    finished = [j for j in mine if not j.running]
    for j in finished:
        outcome(j)
    if finished and st.button("清除已完成的工作记录", key="jobs_clear"):
        for j in finished:
            forget(j.id)
        st.rerun()
