"""公开核验 and 本企业查询, without login; the 抽取结果公告 PDF; the self-check's query codes and
its rate limits (an atomic counter on SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pypdf
import pytest
import streamlit as st
from sqlalchemy import select
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.migrate import upgrade
from db.models import AuditEvent, Draw, DrawArchive
from scheduler.access.context import CLI, Actor
from scheduler.access.permissions import PermissionDenied
from scheduler.draw import commitments as hs
from scheduler.results import announcement as an
from scheduler.results import selfcheck as sc
from tests.test_export import EVIL_PLAN, Published
from ui import auth, nav

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
PAGES = ROOT / "ui" / "pages"


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("publicverify") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    Published(eng)
    eng.dispose()
    return path


@pytest.fixture
def db(base_db, tmp_path, monkeypatch):
    p = tmp_path / "dsr.db"
    p.write_bytes(base_db.read_bytes())
    monkeypatch.setenv("DSR_DATABASE_URL", f"sqlite:///{p}")
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    eng = make_engine(f"sqlite:///{p}")
    yield eng
    eng.dispose()
    st.cache_resource.clear()


def drawn(eng, plan: str = "PG-SP") -> tuple[int, dict, str, list[tuple[str, str]]]:
    """(draw id, auditor certificate, commitment key, frame rows)."""
    import gzip

    with Session(eng) as s:
        d = next(d for d in s.execute(select(Draw)).scalars() if d.status == "drawn" and json.loads(d.certificate)["plan_code"] == plan)
        a = s.get(DrawArchive, d.id)
        rows = [tuple(x.split(",")) for x in gzip.decompress(a.frame_gz).decode().splitlines()]
        return d.id, json.loads(d.certificate), a.commit_key, rows


# ------------------------------------------------------------------ the pages, without login


def test_both_pages_are_public():
    public = [(t, s) for sec, s, t, _ in nav.PAGES if sec == "公开"]
    assert public == [("公示查询", "public.py"), ("公开核验", "public_verify.py"), ("本企业查询", "selfcheck.py")]
    for role in ("public", "inspector", "admin"):
        assert auth.page_visible(Actor("x", role), "public_verify.py") and auth.page_visible(Actor("x", role), "selfcheck.py")


def test_a_visitor_without_login_reaches_the_verifier_and_the_self_check(db):
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception, at.exception
    at.switch_page("ui/pages/public_verify.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "公开核验" and "核验通过" in at.success[0].value
    at.switch_page("ui/pages/selfcheck.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "本企业查询"


def test_the_verifier_page_recomputes_each_published_draw(db):
    at = AppTest.from_file(str(PAGES / "public_verify.py"), default_timeout=90).run()
    assert not at.exception, at.exception
    assert "核验通过" in at.success[0].value
    shown = "\n".join(m.value for m in at.markdown)
    assert "✅ commitments.csv 的 SHA-256 与证书一致" in shown and "公开标签 S1" in shown and "抽签号均可由随机种子重算" in shown
    assert "风险分类不公开" in shown  # what the public package cannot check, said so
    assert [b.proto.label for b in at.get("download_button")] == ["下载公开核验包", "下载抽取结果公告（PDF）"]
    # A link (the announcement's QR code) names the draw: ?draw=ID.
    draw_id = drawn(db)[0]
    at = AppTest.from_file(str(PAGES / "public_verify.py"), default_timeout=90)
    at.query_params["draw"] = str(draw_id)
    at.run()
    assert not at.exception and "核验通过" in at.success[0].value
    assert at.selectbox(key="pv_draw").value == draw_id


def test_the_verifier_page_shows_a_failing_check(db, monkeypatch):
    """A package that does not verify is shown as failing, naming the difference."""
    from scheduler.draw import certificate

    real = certificate.build_public_certificate

    def tampered(cert, **kw):
        pub = real(cert, **kw)
        pub["selected"][0]["batch"] += 1
        return pub

    monkeypatch.setattr(certificate, "build_public_certificate", tampered)
    at = AppTest.from_file(str(PAGES / "public_verify.py"), default_timeout=90).run()
    assert not at.exception, at.exception
    assert "核验未通过" in at.error[0].value and "batch" in at.error[0].value


# ------------------------------------------------------------------ 抽取结果公告


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() for p in reader.pages).replace("\x00", "")


def test_the_announcement_shows_the_public_facts_and_nothing_of_the_classes(db):
    draw_id, cert, _, rows = drawn(db)
    a = an.announcement(db, draw_id, ["区纪委监委派驻纪检组 王五"])
    data = an.render_pdf(a, f"https://dsr.example.gov.cn/public-verify?draw={draw_id}")
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    compact = text.replace("\n", "").replace(" ", "")
    for needle in ("抽取结果公告", "PG-SP", "餐饮食品安全联合抽查", "2026-11", cert["seed"], "现场摇号（见证人：区纪委监委派驻纪检组王五）",
                   cert["public_frame_sha256"], "抽中名单"):
        assert needle.replace(" ", "") in compact, needle
    for s in cert["selected"]:
        assert s["entity_id"] in compact
    for s in cert["strata"]:
        assert s["cutoff"] is None or s["cutoff"] not in compact  # no cutoff, and no stratum label
        assert f"{s['stratum']}：" not in text
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert any(reader.pages[0].images)  # the QR code


def test_dsr_announcement_writes_the_pdf(db, tmp_path):
    env = dict(os.environ)
    out = tmp_path / "公告.pdf"
    proc = subprocess.run([sys.executable, "-m", "scheduler", "announcement", "PG-SP", "--period", "2026-11", "--out", str(out),
                           "--url", "https://dsr.example.gov.cn/p", "--witness", "张三"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "抽取结果公告" in pdf_text(out.read_bytes()) and "见证人：张三" in pdf_text(out.read_bytes())


# ------------------------------------------------------------------ 本企业查询


def test_an_entity_sees_its_own_case_with_its_code_and_nothing_without(db):
    draw_id, cert, key, rows = drawn(db)
    selected = {s["entity_id"] for s in cert["selected"]}
    codes = dict(sc.query_codes(db, "PG-SP", "2026-11", CLI))
    assert set(codes) == {e for e, _ in rows}
    for e, stratum in [next(r for r in rows if r[0] in selected), next(r for r in rows if r[0] not in selected)]:
        case = sc.check_own_case(db, draw_id, e.lower(), codes[e].lower().replace("-", " "), "10.0.0.1")
        assert case.report.ok, case.report.first_difference
        assert case.stratum == stratum and case.report.selected == (e in selected)
        assert case.opening.salt == hs.entity_salt(hs.check_key(key), e)
    e = rows[0][0]
    other = rows[1][0]
    for uscc, code in ((e, codes[other]), (e, "AAAA-AAAA-AAAA-AAAA"), ("91110117MA0000000X", codes[e]), (e, "")):
        with pytest.raises(sc.SelfCheckRefused) as refused:
            sc.check_own_case(db, draw_id, uscc, code, "10.0.0.2")
        assert str(refused.value) == sc.WRONG  # one message, whatever was wrong


def test_the_self_check_page(db):
    draw_id, cert, key, rows = drawn(db)
    e, stratum = rows[3]
    code = hs.query_code(hs.check_key(key), e)
    at = AppTest.from_file(str(PAGES / "selfcheck.py"), default_timeout=90).run()
    at.selectbox(key="sc_draw").set_value(draw_id)
    at.text_input(key="sc_uscc").input(e)
    at.text_input(key="sc_code").input("WRONG-CODE")
    at.button[0].click().run()
    assert at.exception  # the refusal (a DsrError) goes up to the app, which shows its message
    assert sc.WRONG in str(at.exception[0].message) and stratum not in "\n".join(m.value for m in at.markdown)
    at.text_input(key="sc_code").input(code)
    at.button[0].click().run()
    assert not at.exception, at.exception
    shown = "\n".join(m.value for m in at.markdown)
    assert f"本企业分层**：{stratum}" in shown and "核验通过" in at.success[0].value


def test_attempts_are_limited_per_credit_code_and_per_source(db):
    draw_id, _, key, rows = drawn(db)
    e = rows[5][0]
    code = hs.query_code(hs.check_key(key), e)
    for i in range(sc.PER_CODE_PER_SOURCE_PER_HOUR):
        with pytest.raises(sc.SelfCheckRefused, match="不正确"):
            sc.check_own_case(db, draw_id, e, "AAAA-AAAA-AAAA-AAAA", "10.1.0.1")
    with pytest.raises(sc.SelfCheckRefused, match="次数过多"):  # that source, even with the right code
        sc.check_own_case(db, draw_id, e, code, "10.1.0.1")
    for i in range(sc.PER_SOURCE_PER_HOUR):
        with pytest.raises(sc.SelfCheckRefused, match="不正确"):
            sc.check_own_case(db, draw_id, rows[10 + i][0], "AAAA-AAAA-AAAA-AAAA", "10.2.0.1")
    with pytest.raises(sc.SelfCheckRefused, match="次数过多"):
        sc.check_own_case(db, draw_id, rows[6][0], hs.query_code(hs.check_key(key), rows[6][0]), "10.2.0.1")
    assert sc.check_own_case(db, draw_id, rows[6][0], hs.query_code(hs.check_key(key), rows[6][0]), "10.3.0.1").report.ok


def test_nobody_uses_up_an_entitys_attempts_from_one_source(db):
    """Before: 10 wrong codes an hour for a credit code (which is public) from anywhere blocked the
    entity itself for the hour. Now the tight limit is per credit code and source: the entity,
    from its own address, still checks its case; only a guessing spread over many sources meets
    the limit per credit code."""
    draw_id, _, key, rows = drawn(db)
    e = rows[5][0]
    code = hs.query_code(hs.check_key(key), e)
    for i in range(sc.PER_CODE_PER_SOURCE_PER_HOUR + 5):
        with pytest.raises(sc.SelfCheckRefused):
            sc.check_own_case(db, draw_id, e, "AAAA-AAAA-AAAA-AAAA", "203.0.113.66")
    assert sc.check_own_case(db, draw_id, e, code, "198.51.100.7").report.ok
    spread = sc.PER_CODE_PER_HOUR - sc.PER_CODE_PER_SOURCE_PER_HOUR - 6  # what is left of the hour's limit
    for i in range(spread):
        sc.count_attempt(db, f"uscc:{e}")
    with pytest.raises(sc.SelfCheckRefused, match="次数过多"):  # the limit across sources is reached
        sc.check_own_case(db, draw_id, e, code, "198.51.100.8")


def test_the_attempt_counter_is_atomic(engine):
    """Parallel attempts each get their own count: none reads the same old value."""
    n = 16
    got: list[int] = []
    barrier = threading.Barrier(n)

    def one():
        barrier.wait()
        got.append(sc.count_attempt(engine, "uscc:91110117MA00000664"))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, n + 1))


def test_query_codes_are_for_the_plans_bureau_staff_and_recorded(db):
    with pytest.raises(PermissionDenied):
        sc.query_codes(db, "PG-SP", "2026-11", Actor("insp", "inspector"))
    sc.query_codes(db, EVIL_PLAN, "2026-11", CLI)
    with Session(db) as s:
        assert s.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalars().first() == "draw.query_codes"


def test_the_ceremonys_witnesses_are_recorded_and_announced(db):
    draw_id, *_ = drawn(db)
    with pytest.raises(PermissionDenied):
        an.record_witnesses(db, draw_id, ["张三"], Actor("insp", "inspector"))
    with pytest.raises(an.AnnouncementRefused, match="控制字符"):
        an.record_witnesses(db, draw_id, ["张三\x00"], CLI)
    assert an.record_witnesses(db, draw_id, [" 区纪委监委派驻纪检组 王五 ", "", "企业代表 赵六"], CLI) == \
        ["区纪委监委派驻纪检组 王五", "企业代表 赵六"]
    a = an.announcement(db, draw_id)
    assert a.witnesses == ["区纪委监委派驻纪检组 王五", "企业代表 赵六"]
    assert "见证人：区纪委监委派驻纪检组王五、企业代表赵六" in pdf_text(an.render_pdf(a, "x")).replace(" ", "").replace("\n", "")
    with Session(db) as s:
        assert s.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalars().first() == "draw.witnesses"


def test_dsr_draw_records_the_witnesses(db):
    from scheduler.draw import service as draws

    proc = subprocess.run([sys.executable, "-m", "scheduler", "draw", "PG-SP", "--period", "2026-12", "--seed",
                           "27182818284590452353602874", "--witness", "张三", "--witness", "李四"],
                          capture_output=True, text=True, env=dict(os.environ), timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    with Session(db) as s:
        d = draws.get_draw(s, "PG-SP", "2026-12")
    assert an.announcement(db, d.id).witnesses == ["张三", "李四"]
    system = draws.execute(db, EVIL_PLAN, "2026-12")
    with pytest.raises(an.AnnouncementRefused, match="系统随机种子"):
        an.record_witnesses(db, system.id, ["张三"], CLI)
