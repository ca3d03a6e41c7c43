"""Long work in server threads (ui/jobs.py): one run per key, its progress and result or Chinese
error, and an import left running while the user opens 首页 and comes back."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from scheduler.errors import DsrError
from scheduler.library import browse
from test_browse import code_for, seed_library
from test_ui_library import _enterprise_csv
from tests.ui_steps import finish_work, login, open_page
from ui import jobs

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def db(sqlite_url, monkeypatch):
    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    return sqlite_url


def test_one_run_per_key_until_it_ends(db):
    release, entered = threading.Event(), threading.Event()

    def work(job: jobs.Job) -> int:
        job.update(0.5, "一半")
        entered.set()
        release.wait(60)
        job.summary = "完成"
        return 42

    first, started = jobs.start("t:one", "甲", "测试工作", "ui/pages/home.py", work, failed="测试失败")
    assert started and entered.wait(60)
    assert first.running and (first.fraction, first.text) == (0.5, "一半")
    # A second click (or another tab, another account) while it runs gets the running one back.
    again, started = jobs.start("t:one", "乙", "测试工作", "ui/pages/home.py", work, failed="测试失败")
    assert not started and again is first
    assert jobs.running("t:one") is first and jobs.latest("甲", "t:") is first and jobs.latest("乙", "t:") is None
    release.set()
    assert first.done.wait(60)
    assert (first.state, first.result, first.summary, first.error) == (jobs.DONE, 42, "完成", "")
    assert jobs.running("t:one") is None
    # Once it has ended, the same key starts anew.
    second, started = jobs.start("t:one", "甲", "测试工作", "ui/pages/home.py", lambda j: 1, failed="测试失败")
    assert started and second.done.wait(60) and second is not first
    assert jobs.latest("甲", "t:one") is second


def test_a_refusal_or_a_bug_ends_the_job_with_a_chinese_line(db):
    def refused(job):
        raise DsrError("计划 X 在 2026-11 已完成抽取，不得重复抽取")

    def bug(job):
        raise ValueError("boom")

    a, _ = jobs.start("t:refused", "甲", "抽取 X（2026-11）", "ui/pages/draw.py", refused, failed="抽取未完成")
    b, _ = jobs.start("t:bug", "甲", "导入", "ui/pages/imports.py", bug, failed="导入失败，未写入任何数据")
    assert a.done.wait(60) and b.done.wait(60)
    assert (a.state, a.error) == (jobs.FAILED, "抽取未完成：计划 X 在 2026-11 已完成抽取，不得重复抽取")
    assert (b.state, b.error) == (jobs.FAILED, "导入失败，未写入任何数据：boom")
    assert a.finished is not None and a.result is None


def test_finished_jobs_are_kept_per_account_up_to_a_bound(db):
    made = [jobs.start(f"t:keep{i}", "丙", "测试", "ui/pages/home.py", lambda j: None, failed="失败")[0]
            for i in range(jobs.KEEP_PER_OWNER + 5)]
    for j in made:
        assert j.done.wait(60)
    jobs.start("t:keep-last", "丙", "测试", "ui/pages/home.py", lambda j: None, failed="失败")[0].done.wait(60)
    assert len(jobs.of("丙")) <= jobs.KEEP_PER_OWNER + 1


def test_an_import_left_running_is_on_home_and_its_result_on_return(db):
    eng = make_engine(db)
    seed_library(eng)
    rows = 3000  # long enough to be running when the user leaves the page (if not, it has ended: both are shown)
    codes = [code_for(50_000 + i) for i in range(rows)]
    at = login(AppTest.from_file(APP, default_timeout=120))
    at = open_page(at, "imports.py")
    at.file_uploader(key="import_file_enterprises").set_value(("大文件.csv", _enterprise_csv(codes), "text/csv")).run()
    assert not at.exception, at.exception
    at.button(key="import_go").click().run()
    assert not at.exception, at.exception
    job = jobs.latest("ui", "import:")
    assert job is not None and job.title == "导入检查对象名录库（大文件.csv）"

    # The user goes to 首页: the import is listed under 进行中的工作, running (a progress bar) or ended.
    at = open_page(at, "home.py")
    assert any(m.value == "#### 进行中的工作" for m in at.markdown)
    running = [p.proto.text for p in at.get("progress")]
    ended = [s.value for s in at.success if s.value.startswith("导入检查对象名录库（大文件.csv）：")]
    assert running or ended
    assert all(t.startswith("导入检查对象名录库（大文件.csv）：") for t in running)

    at = finish_work(at)  # the page's poll, once the import has ended
    assert any(f"共 {rows:,} 行，新增 {rows:,}" in s.value for s in at.success)
    assert not at.get("progress")
    assert browse.browse_enterprises(eng, q="导入测试").total == rows
    job_id = job.id

    # Back on 数据导入 (the uploaded file is gone with the page): the last import's result.
    at = open_page(at, "imports.py")
    assert any(m.value == "##### 最近一次导入" for m in at.markdown)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["新增"], metrics["拒绝"]) == (f"{rows:,}", "0")
    assert any("检查对象名录库导入完成（大文件.csv）" in s.value for s in at.success)

    # Read: 首页 clears the finished work's records.
    at = open_page(at, "home.py")
    at.button(key="jobs_clear").click().run()
    assert not at.exception, at.exception
    assert not any(m.value == "#### 进行中的工作" for m in at.markdown) and jobs.get(job_id) is None
    eng.dispose()
    st.cache_resource.clear()
