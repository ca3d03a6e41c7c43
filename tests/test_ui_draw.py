"""抽查实施 pages (抽查计划, 抽取, 任务与匹配, 核验), driven with AppTest on a real SQLite file."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.models import Draw, DrawArchive, TeamMember
from scheduler.draw import service as draws
from scheduler.plans import rules
from scheduler.results import tasks as task_service
from scheduler.plans.service import PlanInput, list_plans
from tests.factories import save_approved
from tests.factories import world
from ui import nav
from ui.widgets import group_hex, pct_to_ratio, ratio_to_pct
from tests.ui_steps import finish_work, login as ui_login, open_page as _open, rerun as _run, table as _table, use_copy

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
SEED = "31415926535897932384626433"
GS_RATIOS = {"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}


def gs_plan(code: str = "PG-GS") -> PlanInput:
    return PlanInput(code=code, name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"], ratios=GS_RATIOS)


def sp_plan(code: str = "PG-SP") -> PlanInput:
    return PlanInput(code=code, name="餐饮食品安全联合抽查", lead_department="SCJGJ", item_codes=["SP-01", "WS-01", "TS-01"],
                     ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "1"}, batches=2, workload_cap=6)


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    """One world for the module, copied per test (world() is the slow part)."""
    path = tmp_path_factory.mktemp("uidraw") / "base.db"
    eng = make_engine(f"sqlite:///{path}")
    from db.migrate import upgrade

    upgrade(eng)
    world(eng, 1200)
    save_approved(eng, gs_plan())
    save_approved(eng, sp_plan())
    eng.dispose()
    return path


@pytest.fixture
def url(base_db, tmp_path, monkeypatch):
    return use_copy(base_db, tmp_path, monkeypatch)


@pytest.fixture
def app(url):
    at = ui_login(AppTest.from_file(APP, default_timeout=90))
    assert not at.exception
    yield at
    st.cache_resource.clear()




def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# --- helpers -------------------------------------------------------------------------------------------


def test_percent_conversion_is_exact():
    assert [pct_to_ratio(x) for x in ("3", "2.5", "0.25%", "100", "0", "12.3456")] == \
        ["0.03", "0.025", "0.0025", "1", "0", "0.123456"]
    for bad in ("", "abc", "101", "-1", "0.00001", "nan"):
        with pytest.raises(ValueError):
            pct_to_ratio(bad)
    assert [ratio_to_pct(r) for r in ("0.025", "1", "0.03", "0.000001")] == ["2.5", "100", "3", "0.0001"]
    assert group_hex("0123456789abcdef01") == "01234567 89abcdef 01"


def test_nav_has_the_section():
    titles = [t for s, _, t, _ in nav.PAGES if s == "抽查实施"]
    assert titles[:4] == ["抽查计划", "抽取", "任务与匹配", "核验"]


# --- 抽查计划 -------------------------------------------------------------------------------------------


def test_plans_page_lists_plans(app):
    at = _open(app, "plans.py")
    df = _table(at, "已抽取期间")
    assert list(df.columns) == ["计划编号", "计划名称", "版本", "状态", "牵头部门", "参与部门", "联合抽查", "事项数", "各风险分类比例",
                                "批次", "已抽取期间"]
    rows = df.set_index("计划编号")
    assert rows.loc["PG-SP", "联合抽查"] == "是" and rows.loc["PG-GS", "联合抽查"] == "否"
    assert rows.loc["PG-SP", "参与部门"] == "区市场监管局、区卫生健康委"
    assert rows.loc["PG-SP", "事项数"] == 3 and rows.loc["PG-SP", "批次"] == 2
    assert rows.loc["PG-GS", "各风险分类比例"] == "A 3%；B 4%；C 5%；D 5%"
    assert rows.loc["PG-GS", "已抽取期间"] == ""


def _fill_new_plan(at: AppTest, pct: dict[str, str]) -> AppTest:
    at.text_input(key="plan_code").input("PG-NEW")
    at.text_input(key="plan_name").input("企业公示信息专项抽查")
    at.multiselect(key="plan_items").select("GS-01")
    for c, v in pct.items():
        at.text_input(key=f"plan_pct_{c}").input(v)
    at.text_input(key="plan_period").input("2026-12")
    return _run(at)


def test_plan_form_live_rule_check_preview_and_save(app, url):
    at = _open(app, "plans.py")
    assert not _errors(at)  # a form just opened is not a list of mistakes: validated on submit
    assert "GS-01 企业公示信息检查（区市场监管局·一般，上限 5%，下限 3%）" in at.multiselect(key="plan_items").options
    # 6% on a general item whose cap is 5%: 保存计划 says so (once), and nothing is saved.
    at = _fill_new_plan(at, {"A": "3", "B": "4", "C": "6", "D": "5"})
    assert not _errors(at) and not [s for s in at.success if s.value == "符合规则"]
    at.button(key="plan_save").click()
    at = _run(at)
    errs = _errors(at)
    assert any("风险分类 C 的抽查比例 6% 超过一般检查事项“企业公示信息检查”的比例上限 5%" in e for e in errs), errs
    assert len(errs) == len(set(errs))  # each problem once
    assert not any("已保存计划" in s.value for s in at.success)
    # Preview still shows the frame per stratum.
    pv = _table(at, "本期预计抽取数")
    assert list(pv.columns) == ["分层", "名录规模", "抽查比例/数量", "年度抽查数量", "本期预计抽取数"]
    assert list(pv["分层"]) == ["A（低风险）", "B（一般风险）", "C（较高风险）", "D（高风险）"]
    assert pv.set_index("分层").loc["C（较高风险）", "抽查比例/数量"] == "6%"
    # Under the floor (3%) is refused too; a bad number is named.
    at.text_input(key="plan_pct_C").input("2.5")
    at = _run(at)
    assert any("低于事项“企业公示信息检查”的比例下限 3%" in e for e in _errors(at))
    at.text_input(key="plan_pct_C").input("abc")
    at = _run(at)
    assert any("风险分类 C：抽查比例“abc”不是数字" in e for e in _errors(at))

    at.text_input(key="plan_pct_C").input("4.5")
    at = _run(at)
    assert not _errors(at)
    assert any(s.value == "符合规则" for s in at.success)
    pv = _table(at, "本期预计抽取数").set_index("分层")
    eng = make_engine(url)
    from scheduler.draw import frame_service as frames
    from scheduler.plans.service import transient_plan

    expected = PlanInput(code="PG-NEW", name="x", lead_department="区市场监管局", item_codes=["GS-01"],
                         ratios={"A": "0.03", "B": "0.04", "C": "0.045", "D": "0.05"})
    with Session(eng) as s:
        rows = frames.preview(s, transient_plan(s, expected), "2026-12")
    assert list(pv["名录规模"]) == [r["size"] for r in rows]
    assert list(pv["本期预计抽取数"]) == [r["k"] for r in rows]
    assert list(pv["年度抽查数量"]) == [r["quota"] for r in rows]
    assert pv.loc["C（较高风险）", "抽查比例/数量"] == "4.5%"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["预计抽查任务数"] == str(sum(r["k"] for r in rows))

    at.button(key="plan_save").click()
    at = _run(at)
    assert any("已保存计划 PG-NEW" in s.value for s in at.success)
    saved = next(p for p in list_plans(eng) if p["code"] == "PG-NEW")
    assert saved["ratios"] == {"A": "0.03", "B": "0.04", "C": "0.045", "D": "0.05"}
    assert saved["team_size"] == 2 and saved["matching_policy"] == "balanced"
    # Fields left as the new-plan form filled them in are the plan's defaults (rules.DEFAULTS).
    d = rules.DEFAULTS
    assert ([saved[k] for k in ("strata_by", "batches", "reserve_ratio", "team_size", "matching_policy", "workload_cap",
                                "schedule", "merge_visits")]
            == [d.strata_by, d.batches, d.reserve_ratio, d.team_size, d.matching_policy, d.workload_cap, d.schedule,
                d.merge_visits])
    assert saved["frequency"] == {"general_per_year": d.general_per_year, "key_per_year": d.key_per_year,
                                  "exempt_classes": []}
    # The form now edits the saved plan.
    assert at.selectbox(key="plan_edit").value == "PG-NEW"
    assert at.text_input(key="plan_pct_C").value == "4.5"
    eng.dispose()


def test_plan_form_edits_and_strata_preview(app, url):
    at = _open(app, "plans.py")
    at.selectbox(key="plan_edit").select("PG-SP")
    at = _run(at)
    assert at.text_input(key="plan_name").value == "餐饮食品安全联合抽查"
    assert at.text_input(key="plan_pct_D").value == "100"
    at.text_input(key="plan_period").input("2026-12")
    at.radio(key="plan_strata").set_value("risk+town")
    at.radio(key="plan_mode_D").set_value("count")
    at = _run(at)
    at.number_input(key="plan_count_D").set_value(3)
    assert at.number_input(key="plan_freq_A").value is None  # empty: the plan's general limits hold
    at.number_input(key="plan_freq_A").set_value(1)  # 低风险：一年至多一次
    at.number_input(key="plan_freq_D").set_value(3)  # 高风险：一年至多三次
    at.radio(key="plan_policy").set_value("uniform")
    assert at.checkbox(key="plan_merge").value is True
    at.checkbox(key="plan_merge").uncheck()  # 不可合并: this plan visits on its own
    at = _run(at)
    # The plan is published: a change needs a reason (it becomes version 2, a draft). The form does not
    # scold before 保存计划 is pressed; pressing it lists the problem and saves nothing.
    assert not _errors(at)
    at.button(key="plan_save").click()
    at = _run(at)
    assert any("修改须填写修改理由" in e for e in _errors(at))
    assert next(p for p in list_plans(make_engine(url)) if p["code"] == "PG-SP")["version"] == 1
    at.text_input(key="plan_reason").input("按乡镇分层，高风险对象固定抽取")
    at = _run(at)
    assert not _errors(at)
    pv = _table(at, "本期预计抽取数")
    assert len(pv) > 4 and all("/" in s for s in pv["分层"])
    assert any(s.startswith("D（高风险）/") and s[-2:] in ("街道", "地区") or s[-1] in "镇乡" for s in pv["分层"])
    assert not any(s.endswith("/110117") for s in pv["分层"])  # town codes are shown by name
    at.button(key="plan_save").click()
    at = _run(at)
    eng = make_engine(url)
    p = next(p for p in list_plans(eng) if p["code"] == "PG-SP")
    assert p["strata_by"] == "risk+town" and p["counts"] == {"D": 3} and "D" not in p["ratios"]
    assert p["matching_policy"] == "uniform" and p["merge_visits"] is False
    assert p["frequency"]["class_per_year"] == {"A": 1, "D": 3}
    assert (p["version"], p["status"]) == (2, "draft")
    eng.dispose()


# --- 抽取 ----------------------------------------------------------------------------------------------------


def _draw_page(app: AppTest, plan: str = "PG-SP", period: str = "2026-12") -> AppTest:
    at = _open(app, "draw.py")
    at.selectbox(key="draw_plan").select(plan)
    at.selectbox(key="draw_period").select(period)  # only the plan's periods are offered
    return _run(at)


def test_draw_ceremony_freeze_seed_draw_and_second_attempt(app, url):
    at = _draw_page(app)
    assert not at.get("download_button")
    at.button(key="draw_freeze").click()
    at = _run(at)
    eng = make_engine(url)
    with Session(eng) as s:
        d = s.execute(select(Draw)).scalar_one()
    assert d.status == "frozen"
    digest_html = next(m.value for m in at.markdown if "dsr-digest" in m.value)
    assert group_hex(d.frame_sha256)[:35] in digest_html.replace("<br>", " ")
    assert {m.label: m.value for m in at.metric}["名录规模"] == f"{d.frame_size:,}"

    # A bad seed is refused before anything happens.
    at.text_input(key="draw_seed").input("12345")
    at = _run(at)
    assert any("须为 20 至 64 位数字，当前为 5 位" in e for e in _errors(at))
    assert at.button(key="draw_go").disabled
    at.text_input(key="draw_seed").input("３１４１５９２６５３５８９７９３２３８４６")
    at = _run(at)
    # Full-width digits (as typed on a Chinese keyboard) are normalised and read back, not refused;
    # the draw waits for the witnesses' confirmation of the canonical form.
    assert not _errors(at) and any("已将录入内容规范为 21 位数字：314159265358979323846" in i.value for i in at.info)
    assert at.button(key="draw_go").disabled

    at.text_input(key="draw_seed").input(SEED)
    at.text_input(key="draw_witnesses").input("区纪委监委派驻纪检组 张三、企业代表 李四")
    at = _run(at)
    assert not _errors(at) and not at.button(key="draw_go").disabled
    at.button(key="draw_go").click()
    at = finish_work(_run(at))
    assert not _errors(at)
    assert any("抽取完成" in s.value for s in at.success)

    with Session(eng) as s:
        d = s.execute(select(Draw)).scalar_one()
        assert s.get(DrawArchive, d.id).witnesses == "区纪委监委派驻纪检组 张三、企业代表 李四"  # for the announcement
    cert = json.loads(d.certificate)
    assert d.status == "drawn" and d.seed == SEED and d.seed_source == "ceremony"
    sel = _table(at, "抽签号")
    assert list(sel.columns) == ["序号", "批次", "统一社会信用代码", "企业名称", "所属乡镇街道", "分层", "抽签号"]
    assert list(sel["统一社会信用代码"]) == [x["entity_id"] for x in sorted(cert["selected"], key=lambda x: x["rank"])]
    assert all(n.startswith("测试企业") for n in sel["企业名称"])
    assert set(sel["批次"]) == {1, 2}
    strata = _table(at, "入选分界抽签号")
    assert list(strata["抽取数 k"]) == [x["k"] for x in cert["strata"]]
    assert all(c.endswith("…") and len(c) == 17 for c in strata["入选分界抽签号"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["缺员任务"] == str(cert["matching"]["fairness"]["tasks_short_staffed"])
    assert metrics["入选对象"] == str(len(cert["selected"]))
    assert any(group_hex(d.frame_sha256)[:17] in m.value for m in at.markdown if "dsr-digest" in m.value)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["下载审计核验包（ZIP）", "下载公开核验包（ZIP）"]

    # Already drawn: the page says so, and a second attempt is refused by the service.
    assert any("已完成抽取" in w.value and "不得重复抽取" in w.value for w in at.warning)
    at.button(key="draw_again").click()
    at = _run(at)
    assert any("不得重复抽取" in e for e in _errors(at))
    with Session(eng) as s:
        assert len(s.execute(select(Draw)).all()) == 1
    # The page opened afresh shows the same result (the state is in the database).
    at = _draw_page(at)
    assert len(_table(at, "抽签号")) == len(cert["selected"])
    eng.dispose()


def test_void_needs_reason_and_confirmation(app, url):
    eng = make_engine(url)
    draws.execute(eng, "PG-GS", "2026-11", seed=SEED)
    at = _draw_page(app, "PG-GS", "2026-11")
    assert at.button(key="draw_void").disabled
    at.text_area(key="draw_void_reason").input("名录导入有误，经局务会研究决定重新抽取")
    at = _run(at)
    assert at.button(key="draw_void").disabled  # not confirmed yet
    at.checkbox(key="draw_void_confirm").check()
    at = _run(at)
    at.button(key="draw_void").click()
    at = _run(at)
    assert any("已作废抽取记录" in s.value for s in at.success)
    assert at.button(key="draw_freeze")  # back to step 1
    with Session(eng) as s:
        d = s.execute(select(Draw)).scalar_one()
    assert d.status == "voided" and "局务会" in d.void_reason
    # The reused seed is refused with the service's message; the system seed works.
    at.button(key="draw_freeze").click()
    at = _run(at)
    at.text_input(key="draw_seed").input(SEED)
    at = _run(at)
    at.button(key="draw_go").click()
    at = finish_work(_run(at))
    assert any("新的种子" in e for e in _errors(at))
    at.checkbox(key="draw_system").check()
    at = _run(at)
    at.button(key="draw_go").click()
    at = finish_work(_run(at))
    assert {m.label: m.value for m in at.metric}["种子来源"] == "系统"
    eng.dispose()


# --- 任务与匹配 ---------------------------------------------------------------------------------------------------


@pytest.fixture
def drawn_app(app, url):
    eng = make_engine(url)
    d = draws.execute(eng, "PG-SP", "2026-12", seed=SEED)
    eng.dispose()
    return app, d


def test_tasks_page_lists_teams_and_filters(drawn_app, url):
    app, d = drawn_app
    at = _open(app, "tasks.py")
    at.selectbox(key="tasks_draw").select(d.id)
    at = _run(at)
    df = _table(at, "组长")
    assert list(df.columns) == ["任务编号", "计划", "序号", "批次", "统一社会信用代码", "企业名称", "所属乡镇街道", "分层",
                                "抽查事项", "组长", "组员", "专家", "状态", "备注（缺员）"]
    cert = json.loads(d.certificate)
    first = sorted(cert["selected"], key=lambda x: x["rank"])[0]
    assert df.iloc[0]["统一社会信用代码"] == first["entity_id"] and df.iloc[0]["序号"] == 1
    team = next(t for t in cert["matching"]["tasks"] if t["entity_id"] == first["entity_id"])["team"]
    leader = next(m["person_id"] for m in team if m["role"] == "leader")
    assert f"（{leader}）" in df.iloc[0]["组长"]
    assert df["组员"].str.contains("检查员").any()
    assert df["专家"].str.contains("专家").any()
    total = next(c.value for c in at.caption if c.value.startswith("共 "))
    assert total.startswith(f"共 {len(cert['selected']) + len(cert['reserves'])} 条")
    # The shortfall report of the draw.
    assert cert["matching"]["shortfall_report"]  # the tight cap (6) leaves teams short
    rep = _table(at, "缺员席位")
    assert list(rep["说明"]) == [e["summary"] for e in cert["matching"]["shortfall_report"]]
    at.selectbox(key="tasks_status").select("drawn")
    at = _run(at)
    short = _table(at, "组长")
    assert len(short) == cert["matching"]["fairness"]["tasks_short_staffed"]
    assert short["备注（缺员）"].str.startswith("缺员").all()

    at.selectbox(key="tasks_status").select("reserve")
    at = _run(at)
    df = _table(at, "组长")
    assert set(df["状态"]) == {"备选"} and len(df) == len(cert["reserves"])
    at.selectbox(key="tasks_status").select(None)
    town = at.selectbox(key="tasks_town").options[1]
    at.selectbox(key="tasks_town").select_index(1)
    at = _run(at)
    assert set(_table(at, "组长")["所属乡镇街道"]) == {town}
    at.selectbox(key="tasks_town").select(None)
    at.selectbox(key="tasks_dept").select_index(at.selectbox(key="tasks_dept").options.index("区卫生健康委"))
    at = _run(at)
    df = _table(at, "组长")
    assert len(df) and df["抽查事项"].str.contains("餐饮场所卫生检查").all()


def test_replace_inspector_and_entity_from_the_page(drawn_app, url):
    app, d = drawn_app
    eng = make_engine(url)
    # Raise the cap so a free inspector exists for the slot (the draw used a tight cap).
    p = sp_plan()
    p.workload_cap = 50
    save_approved(eng, p)
    row = next(r for r in task_service.list_tasks(eng, draw_id=d.id, status="assigned").rows if r["members"])
    leaving = next(s for s in row["team"] if s.role == "member")
    at = _open(app, "tasks.py")
    at.number_input(key="tasks_act_id").set_value(row["id"])
    at = _run(at)
    assert at.button(key="tasks_rep_go").disabled  # a reason is required
    at.selectbox(key="tasks_rep_person").select(leaving.person_id)
    at.text_input(key="tasks_rep_reason").input("病假")
    at = _run(at)
    at.button(key="tasks_rep_go").click()
    at = _run(at)
    assert any(f"{leaving.person_id} 已由" in s.value for s in at.success), [s.value for s in at.success]
    with Session(eng) as s:
        gone = s.execute(select(TeamMember).where(TeamMember.task_id == row["id"], TeamMember.active.is_(False))).scalar_one()
        assert gone.slot == leaving.slot
    assert leaving.person_id not in task_service.get_task(eng, row["id"])["members"]

    at.number_input(key="tasks_act_id").set_value(row["id"])
    at.text_input(key="tasks_sub_reason").input("经核实已注销")
    at = _run(at)
    at.button(key="tasks_sub_go").click()
    at = _run(at)
    assert any("由备选对象" in s.value for s in at.success)
    assert task_service.get_task(eng, row["id"])["status"] == "replaced"
    # A second replacement of the same task is refused with the service's message.
    at.number_input(key="tasks_act_id").set_value(row["id"])
    at.text_input(key="tasks_sub_reason").input("再次替换")
    at = _run(at)
    at.button(key="tasks_sub_go").click()
    at = _run(at)
    assert any("不能替换" in e for e in _errors(at))
    eng.dispose()


# --- 核验 ------------------------------------------------------------------------------------------------------


def _zip(directory: Path, tamper: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted(directory.iterdir()):
            data = f.read_bytes()
            if tamper and f.name == tamper:
                lines = data.decode("utf-8").split("\n")
                lines[0] = lines[1].split(",", 1)[0] + "," + lines[0].split(",", 1)[1]  # duplicate an entity id
                data = "\n".join(lines).encode("utf-8")
            z.writestr(f"pkg/{f.name}", data)
    return buf.getvalue()


def test_verify_page_good_and_tampered(drawn_app, url, tmp_path):
    app, d = drawn_app
    eng = make_engine(url)
    draws.write_packages(eng, d.id, tmp_path / "a", tmp_path / "p")
    eng.dispose()
    at = _open(app, "verify.py")
    at.file_uploader(key="verify_files").set_value([("auditor.zip", _zip(tmp_path / "a"), "application/zip")])
    at = _run(at)
    assert any(s.value.startswith("核验通过") for s in at.success), [e.value for e in at.error]
    checks = "\n".join(m.value for m in at.markdown)
    assert "检查组匹配可由名录库" in checks

    # Loose files (public package): passes, and says what it cannot check.
    files = [(f.name, f.read_bytes(), "text/plain") for f in sorted((tmp_path / "p").iterdir())]
    at.file_uploader(key="verify_files").set_value(files)
    at = _run(at)
    assert any(s.value.startswith("核验通过") for s in at.success)
    assert any("风险分类不公开" in w.value and "检查组匹配" in w.value for w in at.warning)

    # A tampered frame: the first difference, in red.
    at.file_uploader(key="verify_files").set_value([("auditor.zip", _zip(tmp_path / "a", tamper="frame.csv"), "application/zip")])
    at = _run(at)
    errs = _errors(at)
    assert errs and errs[0].startswith("核验未通过。第一处不一致：") and not at.success

    cert = json.loads((tmp_path / "a" / "certificate.json").read_text(encoding="utf-8"))
    cert["selected"][0]["entity_id"], cert["selected"][1]["entity_id"] = cert["selected"][1]["entity_id"], cert["selected"][0]["entity_id"]
    (tmp_path / "a" / "certificate.json").write_text(json.dumps(cert, ensure_ascii=False), encoding="utf-8")
    at.file_uploader(key="verify_files").set_value([("auditor.zip", _zip(tmp_path / "a"), "application/zip")])
    at = _run(at)
    assert any("第一处不一致" in e for e in _errors(at))


def test_pages_start_on_an_empty_database(tmp_path, monkeypatch):
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    monkeypatch.setenv("DSR_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    st.cache_resource.clear()
    at = ui_login(AppTest.from_file(APP, default_timeout=90))
    for script in ("plans.py", "draw.py", "tasks.py"):
        at = _open(at, script)
        assert any("dsr init" in i.value for i in at.info), script
    at = _open(at, "verify.py")
    assert any("请上传核验包" in i.value for i in at.info)
    st.cache_resource.clear()


def test_tasks_page_without_draws_and_verify_bad_zip(app):
    at = _open(app, "tasks.py")
    assert any("尚无抽取记录" in i.value for i in at.info)
    at = _open(at, "verify.py")
    at.file_uploader(key="verify_files").set_value([("x.zip", b"not a zip", "application/zip")])
    at = _run(at)
    assert any("zip 文件已损坏" in e for e in _errors(at))
    at.file_uploader(key="verify_files").set_value([("frame.csv", b"a,b\n", "text/csv")])
    at = _run(at)
    assert any("包中缺少文件 certificate.json" in e for e in _errors(at))


def test_a_second_tab_does_not_start_a_second_draw(app, url):
    """Two sessions on the same plan and period, both past the seed step, both click 抽取并匹配:
    the draw runs once (ui/jobs.py hands the second click the running draw; once it has ended the
    page shows its result, and the service refuses a second draw anyway)."""
    a = _draw_page(app, "PG-GS", "2026-11")
    a.button(key="draw_freeze").click()
    a = _run(a)
    a.checkbox(key="draw_system").check()
    a = _run(a)
    b = _draw_page(ui_login(AppTest.from_file(APP, default_timeout=90)), "PG-GS", "2026-11")
    b.checkbox(key="draw_system").check()
    b = _run(b)
    assert not b.button(key="draw_go").disabled
    a.button(key="draw_go").click()
    a = _run(a)
    b.button(key="draw_go").click()
    b = _run(b)
    a, b = finish_work(a), finish_work(b)
    eng = make_engine(url)
    with Session(eng) as s:
        assert len(s.execute(select(Draw)).all()) == 1
    eng.dispose()
    for at in (a, b):  # both show the one draw's result; a refusal, if any, is the service's words
        assert _table(at, "抽签号") is not None
        assert all("不得重复抽取" in e for e in _errors(at))


def _column_with(at: AppTest, key: str):
    """The innermost column that holds the widget `key`."""
    cols = [c for c in at.columns if any(getattr(w, "key", None) == key for w in c.get("text_input") + c.get("selectbox"))]
    return min(cols, key=lambda c: len(list(c)))


def test_plan_form_problems_are_under_their_fields_once(app):
    at = _open(app, "plans.py")
    at.text_input(key="plan_code").input("PG-NEW")
    for c, v in {"A": "3", "B": "4", "C": "abc", "D": "5"}.items():
        at.text_input(key=f"plan_pct_{c}").input(v)
    at = _run(at)
    assert not _errors(at)  # not before 保存计划
    at.button(key="plan_save").click()
    at = _run(at)
    errs = _errors(at)
    assert len(errs) == len(set(errs)), errs  # each problem once
    # Under their own fields: the name in its column, the C ratio in C's column, the items under the list.
    assert [e.value for e in _column_with(at, "plan_name").error] == ["计划名称不能为空"]
    assert [e.value for e in _column_with(at, "plan_pct_C").error] == ["风险分类 C：抽查比例“abc”不是数字"]
    assert not _column_with(at, "plan_pct_A").error
    assert "计划至少应包含一个抽查事项" in errs
    assert any(w.value.startswith(f"有 {len(errs)} 处不符合规则，已在对应的填写项下方标出") for w in at.warning)
    # Fixed, the problem goes from under its field.
    at.text_input(key="plan_name").input("企业公示信息专项抽查")
    at = _run(at)
    assert not _column_with(at, "plan_name").error
