"""The year is the unit: plan periods, annual quotas shared by the periods, exclusions across the
year, the annual cap at each draw, and the year's packages verified together (scheduler/plans/quota.py)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from db.engine import make_engine
from db.migrate import upgrade
from scheduler.draw import service as draws
from scheduler.draw.certificate import PUBLIC_ANNUAL_KEYS
from scheduler.plans import quota
from scheduler.plans.service import PlanInput, list_plans
from scheduler.verify import verify_package, verify_year
from tests.factories import save_approved, world

KEY_RATIOS = {"A": "0.1", "B": "0.2", "C": "0.5", "D": "1"}
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


def key_plan(code="PG-SP", **kw) -> PlanInput:
    base = dict(code=code, name="餐饮食品安全联合抽查", lead_department="SCJGJ", item_codes=["SP-01", "WS-01"],
                ratios=KEY_RATIOS, year=2026)
    base.update(kw)
    return PlanInput(**base)


def seed(i: int) -> str:
    return f"{i + 1:02d}" * 11


# ---------------------------------------------------------------- the rule, pure


@settings(max_examples=300, deadline=None)
@given(base=st.integers(0, 5000), ratio=st.sampled_from(["0", "0.01", "0.03", "0.05", "0.2", "0.5", "1"]),
       n=st.sampled_from([1, 4, 12]), arrivals=st.lists(st.integers(0, 50), min_size=12, max_size=12),
       skipped=st.sets(st.integers(0, 10), max_size=4))
def test_the_periods_draw_the_quota_exactly_and_never_more(base, ratio, n, arrivals, skipped):
    """Whatever registers later, whatever period is skipped (but the last), the year draws the quota."""
    q = quota.quota_of(base, ratio, None)
    drawn, in_frame = 0, base
    for i in range(n):
        left = n - i
        if i in skipped and left > 1:
            continue
        k = quota.period_k(q, drawn, left, in_frame)
        assert 0 <= k <= in_frame
        drawn += k
        in_frame = in_frame - k + arrivals[i]
        assert drawn <= q
    assert drawn == q


def test_plan_periods_follow_the_schedule():
    assert quota.periods("", 2026) == MONTHS
    assert quota.periods("0 9 1 * *", 2026) == MONTHS
    assert quota.periods("first_working_day_of_quarter 09:00", 2027) == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    assert quota.periods("at 2026-05-06T09:00:00+08:00", 2026) == ["2026-05"]
    assert quota.periods("at 2026-05-06T09:00:00+08:00", 2027) == []
    assert quota.periods("first_working_day_of_year 09:00", 2026) == ["2026"]
    assert quota.periods("指定月份第一个工作日 3,6,9,11 09:00", 2026) == ["2026-03", "2026-06", "2026-09", "2026-11"]
    assert quota.period_k(64, 0, 12, 1761) == 6 and quota.period_k(64, 60, 1, 1761) == 4
    assert quota.period_k(64, 64, 3, 1761) == 0 and quota.period_k(10, 0, 1, 3) == 3


# ---------------------------------------------------------------- a year on the database


def _year(engine, code: str, tmp: Path, periods=MONTHS, kind="auditor") -> list[Path]:
    dirs = []
    for i, p in enumerate(periods):
        d = draws.execute(engine, code, p, seed=seed(i))
        out = tmp / f"{code}-{p}"
        draws.write_packages(engine, d.id, **({"auditor_dir": out} if kind == "auditor" else {"public_dir": out}))
        dirs.append(out)
    return dirs


def test_a_monthly_year_draws_each_annual_quota_once_and_verifies(engine, tmp_path):
    world(engine, 800)
    save_approved(engine, key_plan())
    dirs = _year(engine, "PG-SP", tmp_path)
    certs = [json.loads((d / "certificate.json").read_text(encoding="utf-8")) for d in dirs]
    chosen = [s["entity_id"] for c in certs for s in c["selected"]]
    assert len(chosen) == len(set(chosen)), "no entity is drawn twice by the plan in a year"
    [plan] = [p for p in list_plans(engine) if p["code"] == "PG-SP"]
    assert plan["year"] == 2026 and plan["periods"] == MONTHS
    rows = {r["stratum"]: r for r in plan["quota"]}
    first = {s["stratum"]: s["size"] for s in certs[0]["strata"]}
    for stratum, r in rows.items():
        assert set(r) == {"stratum", "ratio", "base", "quota", "drawn", "remaining"}
        assert r["base"] == first[stratum] and r["quota"] == quota.quota_of(r["base"], KEY_RATIOS[stratum], None)
        assert r["drawn"] == r["quota"] == sum(s["k"] for c in certs for s in c["strata"] if s["stratum"] == stratum)
        assert r["remaining"] == 0
    assert sum(c["annual"]["k"] for c in certs) == sum(r["quota"] for r in rows.values())
    assert certs[5]["annual"]["earlier_draws"][0]["period"] == "2026-01" and len(certs[5]["annual"]["earlier_draws"]) == 5
    for d in dirs:
        assert verify_package(d).ok
    rep = verify_year(dirs)
    assert rep.ok, rep.first_difference
    assert _doc_script(tmp_path, dirs) == "OK"
    # A tampered allocation: one stratum's k raised in March's certificate (and its draw redone to match
    # would change the selection): the year's check names the stratum.
    bad = json.loads((dirs[2] / "certificate.json").read_text(encoding="utf-8"))
    bad["annual"]["strata"][0]["quota"] += 1
    (dirs[2] / "certificate.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    rep = verify_year(dirs)
    assert not rep.ok and "年度抽查数量" in rep.first_difference and "2026-03" in rep.first_difference
    assert _doc_script(tmp_path, dirs).startswith("DIFFERENCE: 2026-03: stratum")


def _doc_script(tmp_path: Path, dirs: list[Path]) -> str:
    """docs/draw-algorithm.md §6.4's standard-library script, run on the packages."""
    import subprocess
    import sys

    text = (Path(__file__).resolve().parent.parent / "docs" / "draw-algorithm.md").read_text(encoding="utf-8")
    code = text[text.index("## 6. The year"):].split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "verify_year.py"
    script.write_text(code, encoding="utf-8")
    out = subprocess.run([sys.executable, "-S", str(script), *map(str, dirs)], capture_output=True, text=True, timeout=120)
    return out.stdout.strip()


def test_public_packages_of_the_year_check_totals_and_exclusions_without_strata(sqlite_engine, tmp_path):
    world(sqlite_engine, 600)
    save_approved(sqlite_engine, key_plan(schedule="first_working_day_of_quarter 09:00"))
    dirs = _year(sqlite_engine, "PG-SP", tmp_path, ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"], kind="public")
    cert = json.loads((dirs[1] / "certificate.json").read_text(encoding="utf-8"))
    assert set(cert["annual"]) == set(PUBLIC_ANNUAL_KEYS) and "strata" not in cert["annual"]
    assert cert["annual"]["earlier_draws"] and all("certificate_sha256" not in e for e in cert["annual"]["earlier_draws"])
    assert verify_year(dirs).ok and _doc_script(tmp_path, dirs) == "OK"
    # Left out of the year: the later draws name an earlier draw that is not given.
    rep = verify_year(dirs[1:])
    assert not rep.ok and "此前" in rep.first_difference
    # A later certificate that names another selection for an earlier draw is found.
    bad = json.loads((dirs[2] / "certificate.json").read_text(encoding="utf-8"))
    bad["annual"]["earlier_draws"][0]["selection_sha256"] = "0" * 64
    (dirs[2] / "certificate.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    assert verify_package(dirs[2]).ok
    rep = verify_year(dirs)
    assert not rep.ok and "入选名单摘要" in rep.first_difference


@pytest.mark.parametrize("schedule,periods", [
    ("first_working_day_of_year 09:00", ["2026"]),
    ("first_working_day_of_months 3,6,9,11 09:00", ["2026-03", "2026-06", "2026-09", "2026-11"]),
])
def test_yearly_and_listed_month_plans_draw_the_whole_quota_in_their_periods(sqlite_engine, tmp_path, schedule, periods):
    world(sqlite_engine, 500)
    save_approved(sqlite_engine, key_plan(schedule=schedule))
    [plan] = [p for p in list_plans(sqlite_engine) if p["code"] == "PG-SP"]
    assert plan["periods"] == periods
    for other in ("2026-01", "2026-Q1") + (("2026",) if len(periods) > 1 else ("2026-03",)):
        with pytest.raises(quota.PeriodOutsidePlan):
            draws.execute(sqlite_engine, "PG-SP", other, seed=seed(9))
    dirs = _year(sqlite_engine, "PG-SP", tmp_path, periods)
    certs = [json.loads((d / "certificate.json").read_text(encoding="utf-8")) for d in dirs]
    [plan] = [p for p in list_plans(sqlite_engine) if p["code"] == "PG-SP"]
    assert all(r["drawn"] == r["quota"] and r["remaining"] == 0 for r in plan["quota"])
    assert sum(c["annual"]["k"] for c in certs) == sum(r["quota"] for r in plan["quota"]) > 0
    assert [c["annual"]["periods_left"] for c in certs] == list(range(len(periods), 0, -1))
    assert verify_year(dirs).ok and _doc_script(tmp_path, dirs) == "OK"


def test_a_period_outside_the_plan_year_is_refused(sqlite_engine):
    world(sqlite_engine, 300)
    save_approved(sqlite_engine, key_plan())
    for period in ("2027-01", "2025-12", "2026-Q1", "2026"):
        with pytest.raises(quota.PeriodOutsidePlan) as e:
            draws.execute(sqlite_engine, "PG-SP", period, seed=seed(0))
        assert e.value.code == "draw.period_outside_plan"
        assert period in str(e.value) and "PG-SP" in str(e.value) and "2026 年度" in str(e.value)


def test_a_draw_that_would_pass_the_annual_cap_is_refused(sqlite_engine):
    """General items, cap 5%. A fixed count whose annual quota passes the cap is refused at the year's
    first draw; a plan whose count is raised in the year (a new version) is refused at the draw whose
    year-to-date figure would pass it. Each refusal names plan, stratum, quota and drawn figures."""
    from sqlalchemy import select

    from db.models import Draw, Task

    world(sqlite_engine, 800)
    item = dict(name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"], year=2026,
                ratios={"B": "0.03", "C": "0.03", "D": "0.03"})
    save_approved(sqlite_engine, PlanInput(code="PG-GS", counts={"A": 40}, **item))
    with pytest.raises(quota.AnnualCapExceeded) as e:
        draws.execute(sqlite_engine, "PG-GS", "2026-01", seed=seed(0))
    msg = str(e.value)
    assert e.value.code == "draw.annual_cap_exceeded"
    assert "PG-GS" in msg and "分层 A" in msg and "年度抽查数量 40" in msg and "本年度已抽取 0" in msg and "5%" in msg
    with Session(sqlite_engine) as s:
        d = s.execute(select(Draw).where(Draw.period == "2026-01")).scalar_one()
        assert d.status == "frozen" and d.certificate is None, "the frame stays frozen; nothing of the draw is stored"
        assert s.execute(select(Task).where(Task.draw_id == d.id)).first() is None
    draws.void(sqlite_engine, "PG-GS", "2026-01", "抽查数量超过年度比例上限")
    # Within the cap: A's limit is ceil(base x 5%); drawn on, then the count raised past what is left.
    save_approved(sqlite_engine, PlanInput(code="PG-GS", counts={"A": 12}, reason="按上限调整", **item))
    for i, p in enumerate(MONTHS[:6]):
        d = draws.execute(sqlite_engine, "PG-GS", p, seed=seed(i))
    a = {r["stratum"]: r for r in json.loads(d.certificate)["annual"]["strata"]}["A"]
    limit = -(-a["base"] * 5 // 100)
    assert a["quota"] == 12 and a["drawn_before"] + a["k"] == 6 and limit >= 12
    save_approved(sqlite_engine, PlanInput(code="PG-GS", counts={"A": limit + 1},
                                           reason="提高抽查数量", **item))
    with pytest.raises(quota.AnnualCapExceeded) as e:
        draws.execute(sqlite_engine, "PG-GS", "2026-07", seed=seed(6))
    assert f"年度抽查数量 {limit + 1}" in str(e.value) and "本年度已抽取 6" in str(e.value)


def test_a_voided_draw_does_not_count(sqlite_engine):
    world(sqlite_engine, 600)
    save_approved(sqlite_engine, key_plan())
    d1 = draws.execute(sqlite_engine, "PG-SP", "2026-01", seed=seed(0))
    draws.void(sqlite_engine, "PG-SP", "2026-01", "测试作废：抽取现场断电")
    d1b = draws.execute(sqlite_engine, "PG-SP", "2026-01", seed=seed(1))
    a1b = json.loads(d1b.certificate)["annual"]
    assert a1b["drawn_before"] == 0 and a1b["earlier_draws"] == []
    voided = {s["entity_id"] for s in json.loads(d1.certificate)["selected"]}
    d2 = draws.execute(sqlite_engine, "PG-SP", "2026-02", seed=seed(2))
    a2 = json.loads(d2.certificate)["annual"]
    assert a2["drawn_before"] == a1b["k"] and [e["period"] for e in a2["earlier_draws"]] == ["2026-01"]
    assert a2["earlier_draws"][0]["selection_sha256"] == quota.selection_sha256(
        s["entity_id"] for s in json.loads(d1b.certificate)["selected"])
    assert voided != {s["entity_id"] for s in json.loads(d1b.certificate)["selected"]}


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(150, 500), ratios=st.fixed_dictionaries({c: st.sampled_from(["0.05", "0.2", "0.5", "1"]) for c in "ABCD"}),
       quarterly=st.booleans())
def test_any_registry_ratios_and_schedule_draw_the_quota(n, ratios, quarterly):
    with tempfile.TemporaryDirectory() as tmp:
        eng = make_engine(f"sqlite:///{tmp}/dsr.db")
        upgrade(eng)
        world(eng, n, seed=n)
        sched = "first_working_day_of_quarter 09:00" if quarterly else ""
        save_approved(eng, key_plan(ratios=ratios, schedule=sched))
        periods = quota.periods(sched, 2026)
        dirs = _year(eng, "PG-SP", Path(tmp), periods)
        certs = [json.loads((d / "certificate.json").read_text(encoding="utf-8")) for d in dirs]
        chosen = [s["entity_id"] for c in certs for s in c["selected"]]
        assert len(chosen) == len(set(chosen))
        [plan] = list_plans(eng)
        assert all(r["drawn"] == r["quota"] and r["remaining"] == 0 for r in plan["quota"])
        assert verify_year(dirs).ok
        eng.dispose()


def test_the_dashboard_shows_quotas_and_department_caps(sqlite_engine):
    from scheduler.results import dashboard

    world(sqlite_engine, 600)
    save_approved(sqlite_engine, key_plan())
    save_approved(sqlite_engine, PlanInput(code="PG-GS", name="企业公示信息抽查", lead_department="SCJGJ",
                                           item_codes=["GS-01"], ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"},
                                           year=2026))
    for code in ("PG-SP", "PG-GS"):
        for i, p in enumerate(MONTHS[:3]):
            draws.execute(sqlite_engine, code, p, seed=seed(i))
    with Session(sqlite_engine) as s:
        from sqlalchemy import select

        from db.models import Bureau

        bid = s.execute(select(Bureau.id)).scalars().first()
    rows = dashboard.annual_quotas(sqlite_engine, bid, 2026)
    plans = {p["code"]: {r["stratum"]: r for r in p["quota"]} for p in list_plans(sqlite_engine)}
    assert {r["plan_code"] for r in rows} == {"PG-SP", "PG-GS"}
    for r in rows:
        q = plans[r["plan_code"]][r["stratum"]]
        assert (r["quota"], r["drawn"], r["remaining"]) == (q["quota"], q["drawn"], q["remaining"])
        assert r["checked"] == 0 and 0 < r["drawn"] < r["quota"] or r["quota"] <= 3
    [gs] = [r for r in dashboard.department_caps(sqlite_engine, bid, 2026) if r["item"] == "企业公示信息检查"]
    drawn_gs = sum(r["drawn"] for r in rows if r["plan_code"] == "PG-GS")
    assert gs["checked"] == drawn_gs and gs["cap"] == 0.05 and gs["share"] == drawn_gs / gs["entities"]
    assert gs["over"] is False


def test_a_year_drawn_by_the_worker_has_the_cli_years_allocation(tmp_path):
    """The worker's sync (scheduler/draw/runs.py `catch_up`, the job the worker runs, here on an
    injected clock: the first working day of each month, an hour after the draw time) draws the
    monthly plan's twelve periods with system seeds; `dsr draw --seed`, given those published
    seeds, draws the same year on a copy of the registry: the same frames, allocation (k per
    stratum and period), selections and year's totals, and both years select each quota once."""
    import datetime as dt
    import os
    import subprocess
    import sys

    from sqlalchemy import select, update

    from db.models import Draw, Plan
    from scheduler.calendar import service as cal_service
    from scheduler.calendar import workdays as wd
    from scheduler.draw import runs
    from scheduler.plans.schedules import TZ

    def year_of(eng) -> list[tuple[str, dict[str, int], str, str]]:
        with Session(eng) as s:
            rows = s.execute(select(Draw.period, Draw.annual, Draw.certificate).where(Draw.status == "drawn")
                             .order_by(Draw.period)).all()
        out = []
        for p, a, c in rows:
            cert = json.loads(c)
            out.append((p, {r["stratum"]: r["k"] for r in json.loads(a)["section"]["strata"]}, cert["frame_sha256"],
                        quota.selection_sha256(x["entity_id"] for x in cert["selected"])))
        return out

    engines = []
    for name in ("worker", "cli"):
        eng = make_engine(f"sqlite:///{tmp_path}/{name}.db")
        upgrade(eng)
        world(eng, 800)
        cal_service.ensure_seeded(eng)
        save_approved(eng, PlanInput(code="PG-GS", name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"],
                                     ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}, year=2026))
        with Session(eng) as s:
            s.execute(update(Plan).values(created_at=dt.datetime(2025, 12, 15, tzinfo=dt.timezone.utc)))
            s.commit()
        engines.append(eng)
    worker, cli = engines
    cal = cal_service.calendar(worker)
    me = runs.WorkerIdentity("annual")
    for m in range(1, 13):
        day = wd.first_working_day(cal, 2026, m)
        now = dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=TZ)
        out = runs.catch_up(worker, me, now, runs.RunOptions(grace=dt.timedelta(hours=6)), cal)
        assert [(r.period, r.outcome) for r in out] == [(f"2026-{m:02d}", "done")]
    env = {**os.environ, "DSR_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    with Session(worker) as s:
        seeds = dict(s.execute(select(Draw.period, Draw.seed).where(Draw.status == "drawn")).all())
    assert len(set(seeds.values())) == 12
    for p in MONTHS:
        r = subprocess.run([sys.executable, "-m", "scheduler", "draw", "PG-GS", "--period", p, "--seed", seeds[p]],
                           capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr
    by_worker, by_cli = year_of(worker), year_of(cli)
    assert [row[0] for row in by_worker] == MONTHS and by_worker == by_cli
    [w_plan], [c_plan] = list_plans(worker), list_plans(cli)
    assert w_plan["quota"] == c_plan["quota"] and all(r["drawn"] == r["quota"] for r in w_plan["quota"])
    for eng in engines:
        eng.dispose()


def test_frequency_counts_the_same_departments_checks_only(engine):
    """抽查频次 (general items once a year): SCJGJ's second general plan leaves out what SCJGJ's
    first drew; WJW's general plan does not (another department's checks do not count)."""
    from sqlalchemy import select

    from db.models import CheckItem, Department

    world(engine, 800)
    with Session(engine) as s:
        wjw = s.execute(select(Department).where(Department.code == "WJW")).scalars().first()
        s.add(CheckItem(bureau_id=wjw.bureau_id, code="WG-01", category="公共卫生", name="公共场所卫生许可公示检查",
                        kind="general", department_id=wjw.id, ratio_cap="0.05"))
        s.commit()
    ratios = {"A": "0.05", "B": "0.05", "C": "0.05", "D": "0.05"}
    for code, lead, item in (("PG-GS1", "SCJGJ", "GS-01"), ("PG-GS2", "SCJGJ", "GS-01"), ("PG-WG", "WJW", "WG-01")):
        save_approved(engine, PlanInput(code=code, name="一般事项抽查", lead_department=lead, item_codes=[item],
                                        ratios=ratios, year=2026))
    d1 = draws.execute(engine, "PG-GS1", "2026-12", seed=seed(0))
    first = {s["entity_id"] for s in json.loads(d1.certificate)["selected"]}
    f_same = draws.freeze(engine, "PG-GS2", "2026-12")
    f_other = draws.freeze(engine, "PG-WG", "2026-12")
    assert f_same.frame_size == d1.frame_size - len(first)
    assert f_other.frame_size == d1.frame_size


def test_a_frame_frozen_before_another_draw_of_the_year_is_not_drawn(sqlite_engine):
    """Frozen for March, then February drawn: March's frame still holds February's selection, so March
    is refused until its frame is frozen again (void the frozen draw, freeze anew)."""
    world(sqlite_engine, 500)
    save_approved(sqlite_engine, key_plan())
    draws.freeze(sqlite_engine, "PG-SP", "2026-03")
    feb = draws.execute(sqlite_engine, "PG-SP", "2026-02", seed=seed(1))
    with pytest.raises(quota.FrameOutdated) as e:
        draws.execute(sqlite_engine, "PG-SP", "2026-03", seed=seed(2))
    assert e.value.code == "draw.frame_outdated" and "2026-02" in str(e.value) and "重新冻结" in str(e.value)
    draws.void(sqlite_engine, "PG-SP", "2026-03", "名录冻结后另一期已抽取，重新冻结")
    mar = draws.execute(sqlite_engine, "PG-SP", "2026-03", seed=seed(2))
    assert not {s["entity_id"] for s in json.loads(feb.certificate)["selected"]} & {
        s["entity_id"] for s in json.loads(mar.certificate)["selected"]}
    assert json.loads(mar.certificate)["annual"]["earlier_draws"][0]["period"] == "2026-02"


def test_a_joint_visit_counts_once_per_department(sqlite_engine):
    """抽查频次 twice a year: two SCJGJ plans drawing one entity in the same window visit it once
    (进一次门、查多项事), which counts as one check: a third SCJGJ plan may still draw it."""
    from sqlalchemy import select

    from db.models import Task, VisitTask

    world(sqlite_engine, 2000)
    ratios = {"A": "0.05", "B": "0.05", "C": "0.05", "D": "0.05"}
    for code in ("PG-GS1", "PG-GS2", "PG-GS3"):
        save_approved(sqlite_engine, PlanInput(code=code, name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"],
                                               ratios=ratios, frequency={"general_per_year": 2}, year=2026))
    sel = []
    for i, code in enumerate(("PG-GS1", "PG-GS2")):
        d = draws.execute(sqlite_engine, code, "2026-12", seed=seed(i))
        sel.append({s["entity_id"] for s in json.loads(d.certificate)["selected"]})
    both = sel[0] & sel[1]
    assert both, "the fixture must give the two draws a common entity"
    with Session(sqlite_engine) as s:
        visits = s.execute(select(Task.uscc, VisitTask.visit_id).join(VisitTask, VisitTask.task_id == Task.id)
                           .where(Task.uscc.in_(list(both)))).all()
    assert len({v for _, v in visits}) == len(both), "one visit per common entity"
    with Session(sqlite_engine) as s:
        from scheduler.draw.frame_service import read_frame
        from scheduler.plans.service import load_plan

        frame = {u for u, _ in read_frame(s, load_plan(s, "PG-GS3"), "2026-12")}
    assert both <= frame
