"""`dsr verify` recomputes with the reference implementations only: it loads nothing but the
standard library and the two references, and a fault of the fast engines that made a draw is
reported, not confirmed by the same engines."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.draw import fast as draw_engine
from scheduler.draw import service as draws
from scheduler.matching import fast as matching_engine
from scheduler.matching import reference as matching_reference
from scheduler.verify import opening_from_auditor, verify_own_case, verify_package
from tests.factories import JOINT, joint_plan_database, save_approved

ROOT = Path(__file__).resolve().parent.parent
SEED = "27182818284590452353602874"
# The modules `import scheduler.verify` may load besides the standard library.
ALLOWED = {"scheduler", "scheduler.verify", "scheduler.draw", "scheduler.draw.reference", "scheduler.draw.files",
           "scheduler.draw.commitments",
           "scheduler.matching", "scheduler.matching.reference",
           # the fork of the commitments' hashing (standard library only, no engine)
           "scheduler.runtime", "scheduler.runtime.cores"}


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    """A real SQLite file with the test world and JOINT; each test draws its own period."""
    e = joint_plan_database(tmp_path_factory.mktemp("independence") / "dsr.db", 800)
    yield e
    e.dispose()


def draw_packages(eng, tmp_path: Path, period: str, code: str = JOINT.code) -> tuple[Path, Path, dict]:
    d = draws.execute(eng, code, period, seed=SEED)
    draws.write_packages(eng, d.id, tmp_path / "auditor", tmp_path / "public")
    return tmp_path / "auditor", tmp_path / "public", json.loads(d.certificate)


def bare_python(code: str, *args: str) -> str:
    """Run `code` in a fresh interpreter without site-packages (-S: no numpy, no orjson, no
    editable install), importing this checkout's scheduler only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-S", "-c", code, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_verifier_loads_only_the_standard_library_and_the_references():
    code = ("import sys; before = set(sys.modules); import scheduler.verify, scheduler\n"
            "print(scheduler.__file__); print(*sorted(set(sys.modules) - before))")
    where, loaded = bare_python(code).splitlines()
    assert Path(where).resolve() == ROOT / "scheduler" / "__init__.py"
    loaded_set = set(loaded.split())
    assert ALLOWED <= loaded_set
    foreign = sorted(m for m in loaded_set - ALLOWED if m.partition(".")[0] not in sys.stdlib_module_names)
    assert foreign == []


def test_a_real_draw_verifies_in_a_bare_interpreter(eng, tmp_path):
    # The year's last period draws the plan's whole annual quota: enough tasks to leave teams short.
    save_approved(eng, dataclasses.replace(JOINT, code="PG-SP-Y"))
    auditor, public, cert = draw_packages(eng, tmp_path, "2026-12", "PG-SP-Y")
    assert cert["matching"]["tasks"] and any(t["short_staffed"] for t in cert["matching"]["tasks"])
    code = ("import dataclasses, json, sys\nfrom scheduler.verify import verify_package\n"
            "print(json.dumps([dataclasses.asdict(verify_package(d)) for d in sys.argv[1:]], ensure_ascii=False))")
    reports = json.loads(bare_python(code, str(auditor), str(public)))
    assert [(r["kind"], r["ok"], r["first_difference"]) for r in reports] == [("auditor", True, None), ("public", True, None)]
    assert any("检查组匹配可由" in c for c in reports[0]["checks"])
    assert any("检查组未重算" in c for c in reports[1]["checks"])
    # The same reports as in this interpreter (where numpy and the engines are loaded).
    assert reports == [dataclasses.asdict(verify_package(auditor)), dataclasses.asdict(verify_package(public))]


# ------------------------------------------------------------------ broken engines


def swap_first_two(res) -> str:
    """Ranks 1 and 2 change places: entity, stratum and ticket, ranks and batches left."""
    a, b = res.selected[0], res.selected[1]
    res.selected[0] = dataclasses.replace(b, rank=a.rank, batch=a.batch)
    res.selected[1] = dataclasses.replace(a, rank=b.rank, batch=b.batch)
    return b.entity_id


def drop_last(res) -> str:
    return res.selected.pop().entity_id


def alter_a_ticket(res) -> str:
    s = res.selected[2]
    res.selected[2] = dataclasses.replace(s, ticket=s.ticket[:-1] + ("0" if s.ticket[-1] != "0" else "1"))
    return s.entity_id


def break_draw_engine(monkeypatch, fault) -> list[str]:
    """Break the draw engine: every draw its entry points return carries `fault` (applied once,
    by the outermost call: run_draw calls rank). Returns the entities it hit."""
    victims: list[str] = []
    depth = [0]

    def broken(engine):
        def run(*args, **kwargs):
            depth[0] += 1
            try:
                res = engine(*args, **kwargs)
            finally:
                depth[0] -= 1
            if depth[0] == 0:
                victims.append(fault(res))
            return res
        return run

    for name in ("run_draw", "rank"):
        monkeypatch.setattr(draw_engine, name, broken(getattr(draw_engine, name)))
    return victims


@pytest.mark.parametrize("fault, period, auditor_says, public_says", [
    (swap_first_two, "2026-02", "抽取顺序第 1 位", "rank"),
    # Without the strata the public cannot tell which entity is missing, but the year's allocation
    # (annual.k) tells that one is; the entity itself can tell it is the one (its own case, below).
    (drop_last, "2026-03", "按重算应入选，但证书 selected 中没有", "annual.k"),
    (alter_a_ticket, "2026-04", "抽签号（ticket）", "抽签号"),
])
def test_a_broken_draw_engine_is_caught(eng, tmp_path, monkeypatch, fault, period, auditor_says, public_says):
    """The service draws with a broken engine and writes the packages; the engine, asked again,
    confirms its own draw, and the verifier names what differs."""
    victims = break_draw_engine(monkeypatch, fault)
    auditor, public, cert = draw_packages(eng, tmp_path, period)
    assert len(victims) == 1, "the draw service no longer calls the engine's entry points"
    rows = draw_engine.parse_frame((auditor / "frame.csv").read_bytes())
    rules = {s["stratum"]: draw_engine.StratumRule(s.get("ratio"), s.get("count")) for s in cert["strata"]}
    again = draw_engine.run_draw(cert["seed"], cert["plan_code"], cert["period"], rows, rules, batches=cert["batches"],
                                 reserve_ratio=cert["reserve_ratio"])
    assert [(s.entity_id, s.rank, s.batch, s.ticket) for s in again.selected] == \
        [(s["entity_id"], s["rank"], s["batch"], s["ticket"]) for s in cert["selected"]]
    rep = verify_package(auditor)
    assert not rep.ok and auditor_says in rep.first_difference and victims[0] in rep.first_difference
    rep = verify_package(public)
    assert not rep.ok and public_says in rep.first_difference
    if fault is not drop_last:
        return
    full = json.loads((auditor / "certificate.json").read_text(encoding="utf-8"))
    stratum = dict(rows)[victims[0]]
    own = verify_own_case(public, victims[0], opening_from_auditor(full, victims[0], stratum))
    assert not own.ok and "按规则应入选" in own.first_difference


def test_a_broken_matching_engine_is_caught(eng, tmp_path, monkeypatch):
    """The matching engine, broken: on the first task of two or more sworn inspectors, the member
    in slot 2 is another inspector of the same department (with that person's own pair ticket),
    as if the engine had taken the wrong one. The engine confirms it; the auditor package's
    matching check names both."""
    swapped = []

    engine = matching_engine.match

    def broken(seed, plan_code, period, tasks, roster, *args, **kwargs):
        res = engine(seed, plan_code, period, tasks, roster, *args, **kwargs)
        ticket_of = {t.entity_id: t.ticket for t in tasks}
        for eid, team in res.teams.items():
            sworn = [m for m in team if m.kind == "inspector"]
            if len(sworn) < 2:
                continue
            m = sworn[1]
            other = next((r.inspector_id for r in roster if r.active and r.department == m.department
                          and r.inspector_id not in {x.person_id for x in team}), None)
            if other is None:
                continue
            pt = format(matching_engine.pair_ticket(seed, plan_code, period, ticket_of[eid], other), "016x")
            team[team.index(m)] = dataclasses.replace(m, person_id=other, pair_ticket=pt)
            swapped.append((eid, m.person_id, other))
            break
        return res

    monkeypatch.setattr(matching_engine, "match", broken)
    auditor, public, cert = draw_packages(eng, tmp_path, "2026-05")
    assert len(swapped) == 1
    eid, right, wrong = swapped[0]
    # Asked to recompute from the package, the broken engine confirms its own matching.
    specs = [matching_engine.TaskSpec(t.entity_id, t.ticket, t.rank, t.departments, t.required, t.expert_fields)
             for t in matching_reference.tasks_from_certificate(cert)]
    files = [(auditor / name).read_bytes() for name in ("roster.csv", "experts.csv", "conflicts.csv", "loads.csv", "last.csv")]
    inputs = [matching_reference.parse_roster(files[0]), matching_reference.parse_experts(files[1]),
              matching_reference.parse_conflicts(files[2]), matching_reference.parse_last(files[4]),
              matching_reference.parse_loads(files[3])]
    roster = [matching_engine.InspectorRec(r.inspector_id, r.department, r.qualifications, r.active) for r in inputs[0]]
    experts = [matching_engine.ExpertRec(e.expert_id, e.field, e.active) for e in inputs[1]]
    policy = matching_engine.MatchPolicy(cert["matching"]["team_size"], cert["matching"]["policy"],
                                         cert["matching"]["cap"], cert["matching"]["expert_cap"])
    again = matching_engine.match(cert["seed"], cert["plan_code"], cert["period"], specs, roster, experts,
                                  *inputs[2:], policy)
    section = matching_engine.matching_certificate_section(again, policy, **matching_engine.file_digests(*files))
    assert section["tasks"] == cert["matching"]["tasks"]
    rep = verify_package(auditor)
    assert not rep.ok
    assert f"检查对象 {eid} 的检查组第 2 名成员：证书为 {wrong}" in rep.first_difference
    assert f"重新匹配为 {right}" in rep.first_difference
    # The draw itself was right: everything before the matching verified.
    assert any("备选名单" in c for c in rep.checks)
    # The public package cannot re-run the matching (no roster, no conflicts), and says so.
    rep = verify_package(public)
    assert rep.ok and any("检查组未重算" in c for c in rep.checks)


@pytest.mark.parametrize("tamper, says", [
    ("pair_ticket", "配对号"),  # one member's pair ticket, last hex digit changed
    ("order", "第 1 名成员"),  # the first team of two or more: its members swapped
])
def test_a_tampered_team_in_an_auditor_package_is_found(eng, tmp_path, tamper, says):
    """After the reference's faster pick and pair tickets, an auditor package whose certificate
    has one pair ticket changed, or two members of a team swapped, still fails on that task."""
    auditor, _, _ = draw_packages(eng, tmp_path, "2026-07" if tamper == "pair_ticket" else "2026-08")
    path = auditor / "certificate.json"
    cert = json.loads(path.read_text(encoding="utf-8"))
    task = next(t for t in cert["matching"]["tasks"] if len(t["team"]) >= 2)
    if tamper == "pair_ticket":
        m = task["team"][1]
        m["pair_ticket"] = m["pair_ticket"][:-1] + ("0" if m["pair_ticket"][-1] != "0" else "1")
    else:
        task["team"][0], task["team"][1] = task["team"][1], task["team"][0]
    path.write_text(json.dumps(cert, ensure_ascii=False), encoding="utf-8")
    rep = verify_package(auditor)
    assert not rep.ok and task["entity_id"] in rep.first_difference and says in rep.first_difference, rep.first_difference
