"""Draw services on a real database: freeze, draw, refuse, void, replace, package, verify."""

from __future__ import annotations

import dataclasses

import hashlib
import json

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from db.models import AuditEvent, CheckItem, Draw, Enterprise, Task, TaskItem
from scheduler.plans import rules
from scheduler.draw import service as draws
from scheduler.plans.service import PlanInput, list_plans
from tests.factories import save_approved
from scheduler.verify import verify_package
from tests.factories import add_enterprises, world

SEED = "31415926535897932384626433"
GS_RATIOS = {"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}


def gs_plan(code="PG-GS", **kw):
    base = dict(code=code, name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"], ratios=GS_RATIOS)
    base.update(kw)
    return PlanInput(**base)


def joint_plan(code="PG-SP"):
    return PlanInput(code=code, name="餐饮食品安全联合抽查", lead_department="SCJGJ", item_codes=["SP-01", "WS-01"],
                     ratios={"A": "0.1", "B": "0.2", "C": "0.5", "D": "1"}, batches=3)


@pytest.fixture
def w(engine):
    world(engine, 2000)
    return engine


def test_draw_stores_tasks_and_certificate_that_verifies(w, tmp_path):
    save_approved(w, gs_plan())
    d = draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    cert = json.loads(d.certificate)
    assert d.status == "drawn" and d.seed == SEED and d.seed_source == "ceremony"
    with Session(w) as s:
        live = s.execute(select(func.count()).select_from(Enterprise).where(Enterprise.status == "存续")).scalar_one()
        n_sel = s.execute(select(func.count()).select_from(Task).where(Task.draw_id == d.id, Task.rank.is_not(None))).scalar_one()
        n_res = s.execute(select(func.count()).select_from(Task).where(Task.draw_id == d.id, Task.status == "reserve")).scalar_one()
    assert cert["frame_size"] == live
    assert n_sel == len(cert["selected"]) == sum(st["k"] for st in cert["strata"]) > 0
    assert n_res == len(cert["reserves"]) >= len(cert["strata"])
    # The returned draw carries the certificate as stored (it is not read back) and fresh columns.
    with Session(w) as s:
        stored = s.get(Draw, d.id)
        assert d.certificate == stored.certificate and d.drawn_at == stored.drawn_at and d.status == stored.status
    draws.write_packages(w, d.id, tmp_path / "a", tmp_path / "p")
    assert verify_package(tmp_path / "a").ok
    rep = verify_package(tmp_path / "p")
    assert rep.ok and rep.unchecked
    pub = (tmp_path / "p" / "certificate.json").read_text(encoding="utf-8")
    assert '"A"' not in pub and '"stratum": "B"' not in pub


def test_second_draw_same_plan_and_period_is_refused(w):
    save_approved(w, gs_plan())
    draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    with pytest.raises(draws.DrawRefused, match="不得重复抽取"):
        draws.execute(w, "PG-GS", "2026-12", seed="9" * 20)
    with Session(w) as s:
        assert s.execute(select(func.count()).select_from(Draw)).scalar_one() == 1


def test_void_needs_a_reason_keeps_record_and_new_draw_needs_new_seed(w):
    save_approved(w, gs_plan())
    first = draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    with pytest.raises(draws.DrawRefused, match="书面说明理由"):
        draws.void(w, "PG-GS", "2026-12", "")
    draws.void(w, "PG-GS", "2026-12", "名录导入有误，经局务会决定重抽")
    with pytest.raises(draws.DrawRefused, match="新的种子"):
        draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    second = draws.execute(w, "PG-GS", "2026-12", seed="27182818284590452353602874")
    with Session(w) as s:
        old = s.get(Draw, first.id)
        assert old.status == "voided" and old.seed == SEED and "重抽" in old.void_reason
        assert s.get(Draw, second.id).status == "drawn"
        actions = list(s.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
    assert actions.count("draw.execute") == 2 and "draw.void" in actions


def test_frozen_frame_ignores_later_registry_changes(w):
    save_approved(w, gs_plan())
    f = draws.freeze(w, "PG-GS", "2026-12")
    add_enterprises(w, 300, seed=9, start=50_000)
    with w.begin() as c:
        c.execute(update(Enterprise).values(risk_class="D"))
    d = draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    cert = json.loads(d.certificate)
    assert cert["frame_sha256"] == f.frame_sha256 and cert["frame_size"] == f.frame_size


@pytest.mark.postgres
def test_draw_is_deterministic_and_equal_on_postgresql_and_sqlite(pg_url, sqlite_url):
    """Same registry, plan and seed: the same certificate on PostgreSQL and on a SQLite file."""
    from db.engine import make_engine
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_url)
    results = []
    for eng in (make_engine(pg_url), make_engine(sqlite_url)):
        world(eng, 1500)
        save_approved(eng, joint_plan())
        d = draws.execute(eng, "PG-SP", "2026-12", seed=SEED)
        cert = json.loads(d.certificate)
        results.append({k: v for k, v in cert.items() if k not in ("frozen_at", "drawn_at")})
        eng.dispose()
    assert results[0] == results[1]


def test_joint_plan_tasks_carry_every_applicable_item(w):
    save_approved(w, joint_plan())
    d = draws.execute(w, "PG-SP", "2026-12", seed=SEED)
    with Session(w) as s:
        codes = {
            t.uscc: sorted(s.execute(select(CheckItem.code).join(TaskItem, TaskItem.item_id == CheckItem.id)
                                     .where(TaskItem.task_id == t.id)).scalars())
            for t in s.execute(select(Task).where(Task.draw_id == d.id, Task.rank.is_not(None))).scalars()
        }
        ents = {e.uscc: e for e in s.execute(select(Enterprise).where(Enterprise.uscc.in_(list(codes)))).scalars()}
    assert codes
    for u, c in codes.items():
        e = ents[u]
        assert ("SP-01" in c) == ("食品经营许可" in e.tags.split(";"))
        assert ("WS-01" in c) == e.industry_code.startswith("H62")
        assert c, "every drawn entity qualifies for at least one item"
    assert any(c == ["SP-01", "WS-01"] for c in codes.values()), "restaurants get both departments' items in one visit"
    assert [p for p in list_plans(w) if p["code"] == "PG-SP"][0]["joint"] is True


def test_frequency_leaves_out_entities_drawn_for_general_items_this_year(w):
    save_approved(w, gs_plan("PG-GS1"))
    save_approved(w, gs_plan("PG-GS2"))
    d1 = draws.execute(w, "PG-GS1", "2026-03", seed=SEED)
    first = {s["entity_id"] for s in json.loads(d1.certificate)["selected"]}
    f2 = draws.freeze(w, "PG-GS2", "2026-04")
    assert f2.frame_size == json.loads(d1.certificate)["frame_size"] - len(first)
    save_approved(w, dataclasses.replace(gs_plan("PG-GS3"), year=2027))
    f3 = draws.freeze(w, "PG-GS3", "2027-01")  # a new year starts afresh
    assert f3.frame_size == json.loads(d1.certificate)["frame_size"]


def test_entity_entering_a_mixed_plan_through_its_key_item_gets_only_the_key_item(w):
    """抽查频次 applies per task: drawn for general items already this year, an entity
    enters a mixed plan's frame through its key item and is checked for that only."""
    save_approved(w, gs_plan("PG-GS1", ratios={"A": "0.05", "B": "0.05", "C": "0.05", "D": "0.05"}))
    mixed = PlanInput(code="PG-MIX", name="公示信息与食品安全联合抽查", lead_department="SCJGJ",
                      item_codes=["GS-01", "SP-01"], ratios={"A": "0.05", "B": "0.05", "C": "0.05", "D": "0.05"})
    save_approved(w, mixed)
    d1 = draws.execute(w, "PG-GS1", "2026-12", seed=SEED)  # the last period: the whole annual quota
    first = {s["entity_id"] for s in json.loads(d1.certificate)["selected"]}
    with Session(w) as s:
        food = set(s.execute(select(Enterprise.uscc).where(Enterprise.tags.contains("食品经营许可"),
                                                           Enterprise.status == "存续")).scalars())
    assert first & food, "the fixture must give the first draw some food businesses"
    # Every food business drawn before stays in the mixed frame (through SP-01); one drawn
    # by the mixed plan gets SP-01 only, one not drawn before gets both items.
    d2 = draws.execute(w, "PG-MIX", "2026-12", seed="4" * 20)
    with Session(w) as s:
        items = {}
        for u, code in s.execute(select(Task.uscc, CheckItem.code).join(TaskItem, TaskItem.task_id == Task.id)
                                 .join(CheckItem, CheckItem.id == TaskItem.item_id).where(Task.draw_id == d2.id)):
            items.setdefault(u, set()).add(code)
    again = set(items) & first
    assert again, "some entities of the first draw are drawn again through the key item"
    assert all(items[u] == {"SP-01"} for u in again)
    assert any(items[u] == {"GS-01", "SP-01"} for u in set(items) - first)


def test_frequency_exempt_class_stays_in_frame(w):
    save_approved(w, gs_plan("PG-GS1"))
    save_approved(w, gs_plan("PG-GS2", frequency={"general_per_year": 1, "exempt_classes": ["D"]}))
    d1 = draws.execute(w, "PG-GS1", "2026-03", seed=SEED)
    sel = json.loads(d1.certificate)["selected"]
    d_drawn = sum(1 for s in sel if s["stratum"] == "D")
    f2 = draws.freeze(w, "PG-GS2", "2026-04")
    assert f2.frame_size == json.loads(d1.certificate)["frame_size"] - (len(sel) - d_drawn)


def test_risk_classes_set_their_own_yearly_frequency(w):
    """class_per_year: D entities may be checked twice a year for general items, C without limit,
    the other classes once (the plan's general_per_year). Counted over the department's plans."""
    with w.begin() as c:  # a cap that lets the plans draw every C and D entity, so each is checked twice
        c.execute(update(CheckItem).where(CheckItem.code == "GS-01").values(ratio_cap="1"))
    every_cd = {**GS_RATIOS, "C": "1", "D": "1"}
    per_class = {"general_per_year": 1, "class_per_year": {"D": 2, "C": 0}}
    save_approved(w, gs_plan("PG-GS1", ratios=every_cd, schedule="first_working_day_of_year 09:00"))
    save_approved(w, gs_plan("PG-GS2", ratios=every_cd, frequency=per_class))
    save_approved(w, gs_plan("PG-GS3", frequency=per_class))
    # GS1 draws once a year (period 2026), GS2 in December: two visits, not one joint visit.
    c1 = json.loads(draws.execute(w, "PG-GS1", "2026", seed=SEED).certificate)
    once = {s["entity_id"]: s["stratum"] for s in c1["selected"]}
    assert {"A", "B", "C", "D"} <= set(once.values()), "the fixture must give the first draw every class"
    f2 = draws.freeze(w, "PG-GS2", "2026-12")
    # Out of GS2's frame: GS1's A and B entities (limit 1); its C and D entities stay.
    assert f2.frame_size == c1["frame_size"] - sum(1 for st in once.values() if st in ("A", "B"))
    c2 = json.loads(draws.execute(w, "PG-GS2", "2026-12", seed="5" * 20).certificate)
    twice = {s["entity_id"]: s["stratum"] for s in c2["selected"] if s["entity_id"] in once}
    assert {"C", "D"} == set(twice.values())
    # GS3 leaves out every A/B entity checked once and every D entity checked twice; C is never limited.
    f3 = draws.freeze(w, "PG-GS3", "2026-12")
    checked = {**once, **{s["entity_id"]: s["stratum"] for s in c2["selected"]}}
    left_out = {u for u, st in checked.items() if st in ("A", "B")} | {u for u, st in twice.items() if st == "D"}
    assert f3.frame_size == c1["frame_size"] - len(left_out)
    assert any(st == "D" for st in twice.values()) and any(st == "C" for st in twice.values())
    assert rules.Frequency.from_json(per_class).limit(rules.GENERAL, "D") == 2
    assert rules.Frequency.from_json(per_class).limit(rules.KEY, "A") == 0  # key items: no limit by default


def test_per_class_frequency_names_known_classes_only(w):
    with pytest.raises(rules.PlanRuleError) as e:
        save_approved(w, gs_plan("PG-GS9", frequency={"class_per_year": {"E": 2, "D": -1}}))
    assert any("风险分类 E" in m for m in e.value.messages) and any("负数" in m for m in e.value.messages)
    save_approved(w, gs_plan("PG-GS8", frequency={"class_per_year": {"A": 1, "D": 3}}))
    [p] = [p for p in list_plans(w) if p["code"] == "PG-GS8"]
    assert p["frequency"]["class_per_year"] == {"A": 1, "D": 3}


def test_plan_rule_broken_at_draw_time_stores_nothing(w):
    save_approved(w, gs_plan())
    with w.begin() as c:  # an administrator tightens the cap after the plan was saved
        c.execute(update(CheckItem).where(CheckItem.code == "GS-01").values(ratio_cap="0.035"))
    with pytest.raises(rules.PlanRuleError, match="上限"):
        draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    with Session(w) as s:
        assert s.execute(select(func.count()).select_from(Task)).scalar_one() == 0


def test_save_plan_refuses_ratio_over_cap(w):
    with pytest.raises(rules.PlanRuleError) as e:
        save_approved(w, gs_plan(ratios={**GS_RATIOS, "D": "0.5"}))
    assert any("超过" in m for m in e.value.messages)
    assert list_plans(w) == []


def test_replacement_takes_first_unused_reserve_of_the_stratum(w):
    save_approved(w, gs_plan())
    d = draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    cert = json.loads(d.certificate)
    victim_id = cert["selected"][0]["entity_id"]
    stratum = cert["selected"][0]["stratum"]
    first_reserve = [r for r in cert["reserves"] if r["stratum"] == stratum][0]
    with Session(w) as s:
        t = s.execute(select(Task).where(Task.draw_id == d.id, Task.uscc == victim_id)).scalar_one()
    new = draws.replace_task(w, t.id, "已注销")
    assert new.uscc == first_reserve["entity_id"] and new.replaces_task_id == t.id and new.rank == 1
    with Session(w) as s:
        assert s.get(Task, t.id).status == "replaced"


def test_a_task_with_results_cannot_be_replaced(w):
    from scheduler.results import service as results
    from scheduler.access.context import Actor
    from db.models import Inspector, TeamMember

    save_approved(w, gs_plan())
    d = draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    with Session(w) as s:
        t = s.execute(select(Task).where(Task.draw_id == d.id, Task.status == "assigned").order_by(Task.rank)).scalars().first()
        leader = s.execute(select(Inspector.inspector_id).join(TeamMember, TeamMember.inspector_pk == Inspector.id)
                           .where(TeamMember.task_id == t.id, TeamMember.role == "leader")).scalar_one()
        item = s.execute(select(CheckItem.code).join(TaskItem, TaskItem.item_id == CheckItem.id)
                         .where(TaskItem.task_id == t.id)).scalars().first()
    cats = [c.code for c in results.list_categories(w)][:1]
    results.enter_result(w, t.id, item, cats, Actor(leader, "inspector", t.bureau_id))
    with pytest.raises(draws.DrawRefused, match="已录入检查结果"):
        draws.replace_task(w, t.id, "已注销")
    with Session(w) as s:
        assert s.get(Task, t.id).status != "replaced"


def test_period_format_and_seed_format_are_checked(w):
    save_approved(w, gs_plan())
    with pytest.raises(draws.DrawRefused, match="期间"):
        draws.execute(w, "PG-GS", "2026-13", seed=SEED)
    with pytest.raises(ValueError):
        draws.execute(w, "PG-GS", "2026-12", seed="1234")


def test_preview_matches_the_frozen_frame_and_check_input_reports_rules(w):
    from scheduler.draw.frame_service import preview
    from scheduler.plans.service import check_input, transient_plan

    data = gs_plan()
    assert check_input(w, data) == []
    assert any("超过" in m for m in check_input(w, gs_plan(ratios={**GS_RATIOS, "A": "0.2"})))
    assert check_input(w, gs_plan(item_codes=["NOPE"])) == ["抽查事项不存在：NOPE"]
    with Session(w) as s:
        pv = preview(s, transient_plan(s, data), "2026-12")
    save_approved(w, data)
    d = draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    cert = json.loads(d.certificate)
    assert [(p["stratum"], p["size"], p["k"]) for p in pv] == [(s["stratum"], s["size"], s["k"]) for s in cert["strata"]]


def test_draw_event_names_the_sha256_of_the_stored_certificate_text(w, monkeypatch):
    """The draw's audit event carries the digest of the certificate exactly as stored (its UTF-8
    text, Chinese item names included), so the record and the event can be matched later."""
    seen = {}
    real = draws.auditlog.record

    def spy(s, actor, action, obj, payload, **kw):
        if action == "draw.execute":
            seen.update(payload)
        return real(s, actor, action, obj, payload, **kw)

    monkeypatch.setattr(draws.auditlog, "record", spy)
    save_approved(w, joint_plan())
    d = draws.execute(w, "PG-SP", "2026-12", seed=SEED)
    with Session(w) as s:
        stored = s.get(Draw, d.id).certificate
    assert stored.isascii()  # names beyond ASCII are stored as JSON escapes (see certificate.stored_json)
    assert seen["certificate_sha256"] == hashlib.sha256(stored.encode("utf-8")).hexdigest()
    cert = json.loads(stored)
    assert cert["seed"] == SEED and "食品经营许可条件检查" in {i["name"] for i in cert["items"]}


def test_a_draw_right_after_its_freeze_starts_from_the_freezes_columns_with_the_same_result(tmp_path, monkeypatch):
    """`dsr draw` freezes and draws in one process: the draw takes the columns the freeze built
    (not the archive), and its certificate is the one the archive gives."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from scheduler.draw import fast as dsr1

    from_archive = []
    real = dsr1.frame_of_archive
    monkeypatch.setattr(dsr1, "frame_of_archive", lambda *a, **k: from_archive.append(name) or real(*a, **k))
    certs = []
    for name in ("handed-over", "from-archive"):
        eng = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(eng)
        world(eng, 1500)
        save_approved(eng, gs_plan())
        f = draws.freeze(eng, "PG-GS", "2026-12")
        if name == "from-archive":
            assert draws._handoff.take("0" * 64, f.public_frame_sha256) is None  # another frame's digests
            assert draws._handoff.take(f.frame_sha256, f.public_frame_sha256) is not None  # drop it
        d = draws.execute(eng, "PG-GS", "2026-12", seed=SEED)
        cert = json.loads(d.certificate)
        certs.append({k: v for k, v in cert.items() if k not in ("frozen_at", "drawn_at")})
        eng.dispose()
    assert from_archive == ["from-archive"]
    assert certs[0] == certs[1] and certs[0]["selected"]


def test_a_damaged_archive_refuses_the_draw_even_when_the_freezes_columns_are_at_hand(w):
    """The columns handed over by the freeze are not trusted over the record: the archive is
    checked too, and a draw whose archive no longer matches the frozen digest is not stored."""
    import gzip

    from db.models import DrawArchive

    save_approved(w, gs_plan())
    f = draws.freeze(w, "PG-GS", "2026-12")
    with Session(w) as s:
        a = s.get(DrawArchive, f.draw_id)
        lines = gzip.decompress(a.frame_gz).split(b"\n")
        a.frame_gz = gzip.compress(b"\n".join(lines[1:]))  # one entity dropped from the archive
        s.add(a)
        s.commit()
    with pytest.raises(draws.DrawRefused, match="摘要与存档不一致"):
        draws.execute(w, "PG-GS", "2026-12", seed=SEED)
    with Session(w) as s:
        assert s.get(Draw, f.draw_id).status == "frozen"
        assert s.execute(select(func.count()).select_from(Task)).scalar_one() == 0


def test_a_large_frame_is_archived_as_two_gzip_members_that_read_back_whole():
    import gzip

    data = bytes(range(256)) * 40_000  # 10 MB: over the split size
    parts = draws._halves(data)
    assert len(parts) == 2 and len(draws._halves(data[:1000])) == 1
    archive = b"".join(gzip.compress(p, compresslevel=1, mtime=0) for p in parts)
    assert gzip.decompress(archive) == data
