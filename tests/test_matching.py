"""Inspector matching (DSR-1): rules, policies, shortfalls, replacement, canonical files, recompute."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.draw import reference as draw_reference
from scheduler.draw.service import validate_period
from scheduler.library.uscc import is_valid
from scheduler.matching import fast as mm
from scheduler.matching import reference
from scheduler.matching.fast import (
    ALL_AT_CAP,
    ALL_CONFLICTED,
    NO_DEPARTMENT,
    NO_EXPERT,
    NO_QUALIFIED,
    ExpertRec,
    InspectorRec,
    MatchPolicy,
    Member,
    Shortfall,
    TaskSpec,
    canonical_conflicts,
    canonical_experts,
    canonical_last,
    canonical_loads,
    canonical_roster,
    file_digests,
    inspector_key,
    match,
    matching_certificate_section,
    replace_member,
    splitmix64,
    splitmix64_np,
    task_key,
)

SEED, PLAN, PERIOD = "20240401-公开种子", "PG-2024-01", "2024Q2"


def ticket(eid: str, salt: str = "") -> str:
    return hashlib.sha256(f"draw|{salt}|{eid}".encode()).hexdigest()


def task(eid: str, rank: int, depts: tuple[str, ...], required: dict | None = None, fields=(), salt="") -> TaskSpec:
    req = {d: frozenset((required or {}).get(d, ())) for d in depts}
    return TaskSpec(eid, ticket(eid, salt), rank, depts, req, tuple(fields))


def run(tasks, roster, experts=(), conflicts=(), last=None, prior=None, policy=MatchPolicy(), seed=SEED):
    return match(seed, PLAN, PERIOD, tasks, roster, list(experts), set(conflicts), last or {}, prior or {}, policy)


# --------------------------------------------------------------------------- the reference
# scheduler/matching/reference.py: the normative text read directly, to hold the vectorised engine to it.


def ref_world(tasks, roster, experts):
    """The engine's records as the reference's."""
    return ([reference.Task(t.entity_id, t.ticket, t.rank, t.departments, t.required, t.expert_fields) for t in tasks],
            [reference.Inspector(r.inspector_id, r.department, r.qualifications, r.active) for r in roster],
            [reference.Expert(e.expert_id, e.field, e.active) for e in experts])


def ref_match(seed, tasks, roster, experts, conflicts, last, prior, pol):
    """The reference's matching: teams {entity: [(person, slot)]} and shortfalls [(entity, slot)]."""
    got = ref_result(seed, tasks, roster, experts, conflicts, last, prior, pol)
    return ({e: [(m.person_id, m.slot) for m in ms] for e, ms in got.teams.items()},
            [(s.entity_id, s.slot) for s in got.shortfalls])


def ref_result(seed, tasks, roster, experts, conflicts, last, prior, pol):
    rt, rr, re_ = ref_world(tasks, roster, experts)
    return reference.match(seed, PLAN, PERIOD, rt, rr, re_, conflicts, last, prior,
                           reference.Policy(pol.team_size, pol.policy, pol.cap, pol.expert_cap))


# --------------------------------------------------------------------------- strategies

DEPTS = ["D1", "D2", "D3"]
TAGS = ["a", "b"]


@st.composite
def scenarios(draw):
    n_ins = draw(st.integers(0, 12))
    roster = [
        InspectorRec(f"I{i:02d}", draw(st.sampled_from(DEPTS)), frozenset(draw(st.sets(st.sampled_from(TAGS)))),
                     draw(st.booleans() | st.just(True)))
        for i in range(n_ins)
    ]
    experts = [ExpertRec(f"E{i}", draw(st.sampled_from(["F1", "F2"])), draw(st.booleans() | st.just(True)))
               for i in range(draw(st.integers(0, 4)))]
    n_tasks = draw(st.integers(1, 8))
    tasks = []
    for r in range(n_tasks):
        ds = draw(st.lists(st.sampled_from(DEPTS), min_size=1, max_size=3, unique=True))
        ds = (ds[0], *sorted(ds[1:]))
        req = {d: frozenset(draw(st.sets(st.sampled_from(TAGS), max_size=1))) for d in ds}
        fields = tuple(draw(st.lists(st.sampled_from(["F1", "F2"]), max_size=2)))
        tasks.append(TaskSpec(f"ENT{r}", draw(st.text("0123456789abcdef", min_size=16, max_size=16)), r + 1, ds,
                              req, fields))
    people = [r.inspector_id for r in roster] + [e.expert_id for e in experts]
    ents = [t.entity_id for t in tasks]
    conflicts = set()
    last = {}
    if people:
        conflicts = set(draw(st.lists(st.tuples(st.sampled_from(people), st.sampled_from(ents)), max_size=6)))
        for e in draw(st.lists(st.sampled_from(ents), max_size=3, unique=True)):
            last[e] = set(draw(st.lists(st.sampled_from(people), min_size=1, max_size=2)))
    prior = {p: draw(st.integers(0, 3)) for p in draw(st.lists(st.sampled_from(people), max_size=4, unique=True))} \
        if people else {}
    pol = MatchPolicy(draw(st.integers(2, 3)), draw(st.sampled_from(["balanced", "uniform"])),
                      draw(st.integers(1, 4)), draw(st.integers(1, 3)))
    seed = draw(st.sampled_from(["s1", "s2", "种子3"]))
    return seed, tasks, roster, experts, conflicts, last, prior, pol


PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- keys


def test_splitmix64_known_answers():
    assert splitmix64(0) == 0xE220A8397B1DCDAF
    # the next outputs of the SplitMix64 generator started at 0 (state += golden gamma each step)
    assert splitmix64(0x9E3779B97F4A7C15) == 0x6E789E6AA1B965F4
    xs = np.array([0, 1, 0x9E3779B97F4A7C15, (1 << 64) - 1, 123456789], dtype=np.uint64)
    assert [int(v) for v in splitmix64_np(xs)] == [splitmix64(int(x)) for x in xs]


def test_keys_follow_the_formula():
    digest = hashlib.sha256("DSR1|s|P|2024Q2|inspector|张三01".encode("utf-8")).hexdigest()
    assert inspector_key("s", "P", "2024Q2", "张三01") == int(digest[:16], 16)
    digest = hashlib.sha256("DSR1|s|P|2024Q2|expert|E9".encode("utf-8")).hexdigest()
    assert inspector_key("s", "P", "2024Q2", "E9", kind="expert") == int(digest[:16], 16)
    assert task_key("00000000000000ffdeadbeef") == 0xFF
    with pytest.raises(ValueError):
        task_key("abc")


def test_pair_ticket_in_team_matches_formula():
    roster = [InspectorRec(f"I{i}", "D1", frozenset()) for i in range(5)]
    t = task("E1", 1, ("D1",))
    res = run([t], roster)
    for m in res.teams["E1"]:
        want = splitmix64(task_key(t.ticket) ^ inspector_key(SEED, PLAN, PERIOD, m.person_id))
        assert m.pair_ticket == format(want, "016x")


U64 = st.integers(0, (1 << 64) - 1)


@settings(max_examples=200, deadline=None)
@given(U64, st.lists(U64 | st.sampled_from([0, 1, (1 << 63), (1 << 64) - 1]), max_size=40))
def test_reference_pair_tickets_for_a_pool_are_splitmix64_of_each(tkey, keys):
    """The reference computes a pool's pair tickets on 128-bit lanes of one integer: lane by lane,
    they are the one-value formula (no carry or shifted bit crosses a lane)."""
    want = [reference.splitmix64(tkey ^ k) for k in keys]
    assert reference.pair_tickets(tkey, keys) == want
    assert want == [splitmix64(tkey ^ k) for k in keys]  # the engine's one-value formula


def test_reference_keys_follow_the_formula():
    assert reference.splitmix64(0) == 0xE220A8397B1DCDAF
    assert reference.person_key("s", "P", "2024Q2", "inspector", "张三01") == inspector_key("s", "P", "2024Q2", "张三01")
    assert reference.person_key("s", "P", "2024Q2", "expert", "E9") == inspector_key("s", "P", "2024Q2", "E9", "expert")
    assert reference.task_key("00000000000000ffdeadbeef") == 0xFF
    with pytest.raises(ValueError, match="16 位"):
        reference.task_key("abc")


DOC = Path(__file__).resolve().parent.parent / "docs" / "draw-algorithm.md"


def documented_example() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("### Worked example", text.index("## 4.")):text.index("## 5.")]


def test_documented_example_by_the_reference_and_the_engine():
    """docs/draw-algorithm.md §4, "Worked example", read from the text: its seed is one the draw
    accepts, its task keys are the entities' DSR-1 tickets, and the keys, pair tickets, teams, the
    empty slot and the fairness figures are what the reference and the engine compute."""
    text = documented_example()
    seed = re.search(r"Seed `([0-9]+)`", text).group(1)
    plan = re.search(r"plan\s+`([^`]+)`", text).group(1)
    period = re.search(r"period `([^`]+)`", text).group(1)
    draw_reference.validate_seed(seed)
    validate_period(period)
    rows = re.findall(r"^\| (\d) \| (\S+) \| .* \| `([0-9a-f]{16})` \|$", text, flags=re.M)
    assert [int(r) for r, _, _ in rows] == [1, 2, 3]
    e1, e2, e3 = (e for _, e, _ in rows)
    tickets = {e: draw_reference.ticket(seed, plan, period, e) for _, e, _ in rows}
    for _, e, key in rows:
        assert tickets[e][:16] == key and is_valid(e)
    assert sorted(tickets, key=tickets.get) == [e1, e2, e3]  # ranks follow the tickets
    for p, key in re.findall(r"(SJ0\d|WJ0\d) `([0-9a-f]{16})`", text):
        assert format(reference.person_key(seed, plan, period, "inspector", p), "016x") == key
    people = ["SJ01", "SJ02", "SJ03", "WJ01", "WJ02"]
    for e in (e1, e2, e3):
        line = re.search(rf"^\| {e} \| (.*) \|$", text, flags=re.M).group(1)
        pairs = re.findall(r"`([0-9a-f]{16})`", line)
        assert pairs == [format(splitmix64(reference.task_key(tickets[e]) ^ reference.person_key(
            seed, plan, period, "inspector", p)), "016x") for p in people]
    sj, wj = "市场监管局", "卫健委"
    roster = [InspectorRec("SJ01", sj, frozenset({"食品"})), InspectorRec("SJ02", sj, frozenset({"食品"})),
              InspectorRec("SJ03", sj, frozenset()), InspectorRec("WJ01", wj, frozenset()),
              InspectorRec("WJ02", wj, frozenset())]
    experts = [ExpertRec("ZJ01", "冷链"), ExpertRec("ZJ02", "冷链")]
    tasks = [TaskSpec(e1, tickets[e1], 1, (sj, wj), {sj: frozenset({"食品"}), wj: frozenset()}, ("冷链",)),
             TaskSpec(e2, tickets[e2], 2, (sj,), {sj: frozenset()}),
             TaskSpec(e3, tickets[e3], 3, (wj,), {wj: frozenset()})]
    pol = MatchPolicy(team_size=2, policy="balanced", cap=2)
    args = (tasks, roster, experts, {("SJ02", e2)}, {e3: {"WJ01"}}, {"SJ01": 1})
    assert f"conflict with {e2}" in text and f"inspected {e3} last time" in text.replace("\n", " ")
    rt, rr, rx = ref_world(tasks, roster, experts)
    policy = lambda name: reference.Policy(pol.team_size, name, pol.cap, pol.expert_cap)
    ref = reference.match(seed, plan, period, rt, rr, rx, *args[3:], policy("balanced"))
    for res in (match(seed, plan, period, *args, pol), ref):
        teams = {e: [(m.person_id, m.slot) for m in ms] for e, ms in res.teams.items()}
        assert teams == {e1: [("SJ02", 1), ("WJ01", 2), ("ZJ02", 3)], e2: [("SJ03", 1), ("SJ01", 2)], e3: [("WJ02", 1)]}
        assert f"gives **WJ01**" in text and f"`{res.teams[e1][1].pair_ticket[:4]}…` gives" in text
        assert f"ZJ02 has the smaller pair ticket (`{res.teams[e1][2].pair_ticket}`" in text
        assert [(s.entity_id, s.slot, s.reason_code) for s in res.shortfalls] == [(e3, 2, ALL_CONFLICTED)]
        assert f"reason `{ALL_CONFLICTED}`" in text
        assert res.fairness == {"eligible_inspectors": 5, "load_min": 1, "load_mean": 1.0, "load_max": 1,
                                "distinct_partner_pairs": 2, "tasks": 3, "tasks_short_staffed": 1, "slots_short": 1}
    zj01 = splitmix64(reference.task_key(tickets[e1]) ^ reference.person_key(seed, plan, period, "expert", "ZJ01"))
    assert f"ZJ01 `{zj01:016x}`" in text
    uniform = reference.match(seed, plan, period, rt, rr, rx, *args[3:], policy("uniform"))
    assert uniform.teams[e1][0].person_id == "SJ01" and "under `uniform` SJ01 would lead" in text


# --------------------------------------------------------------------------- properties


@PROPS
@given(scenarios())
def test_engine_equals_reference(sc):
    """Every member (with role, department or field, slot and pair ticket), every shortfall and its
    reason, the loads and the fairness figures: what the certificate states, the reference recomputes."""
    seed, tasks, roster, experts, conflicts, last, prior, pol = sc
    res = match(seed, PLAN, PERIOD, tasks, roster, experts, conflicts, last, prior, pol)
    want = ref_result(seed, tasks, roster, experts, conflicts, last, prior, pol)
    member = lambda m: (m.person_id, m.kind, m.role, m.department, m.field, m.slot, m.pair_ticket)
    assert {e: [member(m) for m in ms] for e, ms in res.teams.items()} == \
        {e: [member(m) for m in ms] for e, ms in want.teams.items()}
    assert list(res.teams) == list(want.teams)  # draw order
    short = lambda s: (s.entity_id, s.slot, s.department, s.field, s.reason_code)
    assert [short(s) for s in res.shortfalls] == [short(s) for s in want.shortfalls]
    assert res.loads == want.loads
    assert res.fairness == want.fairness


@PROPS
@given(scenarios())
def test_teams_obey_every_rule(sc):
    seed, tasks, roster, experts, conflicts, last, prior, pol = sc
    res = match(seed, PLAN, PERIOD, tasks, roster, experts, conflicts, last, prior, pol)
    by_id = {r.inspector_id: r for r in roster}
    ex_by_id = {e.expert_id: e for e in experts}
    shorts = {(s.entity_id, s.slot): s for s in res.shortfalls}
    added = Counter()
    for t in tasks:
        team = res.teams[t.entity_id]
        size = max(pol.team_size, len(t.departments))
        ins = [m for m in team if m.kind == "inspector"]
        exs = [m for m in team if m.kind == "expert"]
        # every inspector slot is either filled or reported short; experts never fill them
        assert sorted([m.slot for m in ins] + [s for (e, s) in shorts if e == t.entity_id and s <= size]) \
            == list(range(1, size + 1))
        assert all(m.slot > size and m.role == "expert" and m.person_id in ex_by_id for m in exs)
        assert len({m.person_id for m in team}) == len(team)
        for m in ins:
            r = by_id[m.person_id]
            assert r.active
            assert m.department == r.department
            assert (m.person_id, t.entity_id) not in conflicts
            assert m.person_id not in last.get(t.entity_id, set())
            assert r.department in t.departments
            assert t.required[r.department] <= r.qualifications
            assert m.role == ("leader" if m.slot == 1 else "member")
            if m.slot <= len(t.departments):
                assert r.department == t.departments[m.slot - 1]
            added[m.person_id] += 1
        for m in exs:
            e = ex_by_id[m.person_id]
            assert e.active and e.field == m.field and m.field in t.expert_fields
            assert (m.person_id, t.entity_id) not in conflicts
            added[m.person_id] += 1
        # a department slot is short only if nobody of that department could take it
        for k, d in enumerate(t.departments, start=1):
            if (t.entity_id, k) in shorts:
                assert shorts[(t.entity_id, k)].department == d
    for pid, n in added.items():
        cap = pol.cap if pid in by_id else pol.expert_cap
        assert prior.get(pid, 0) + n <= cap
        assert res.loads[pid] == prior.get(pid, 0) + n
    assert res.fairness == mm.fairness(tasks, res.teams, res.shortfalls, roster)
    again = match(seed, PLAN, PERIOD, list(reversed(tasks)), list(reversed(roster)), experts, conflicts, last,
                  prior, pol)
    assert again.teams == res.teams and again.shortfalls == res.shortfalls


def test_blocks_and_chunks_do_not_change_teams():
    """Pair tickets are computed a block of tasks at a time and the teams handed on a chunk at a time
    (to be stored while the rest is matched): neither size may change a team or a shortfall. Several
    pools per block (joint tasks, qualification tags, experts), conflicts and prior loads."""
    roster = [InspectorRec(f"I{i:03d}", DEPTS[i % 3], frozenset(TAGS[: i % 3])) for i in range(40)]
    experts = [ExpertRec(f"E{i}", ("F1", "F2")[i % 2]) for i in range(6)]
    tasks = []
    for r in range(150):
        ds = (DEPTS[r % 3],) + ((DEPTS[(r + 1) % 3],) if r % 4 == 0 else ())
        ds = (ds[0], *sorted(ds[1:]))
        tasks.append(task(f"ENT{r:03d}", r + 1, ds, {ds[0]: TAGS[: r % 2]}, ("F1",) if r % 9 == 0 else ()))
    conflicts = {(roster[i].inspector_id, tasks[i * 3].entity_id) for i in range(0, 40, 3)}
    prior = {roster[i].inspector_id: i % 4 for i in range(0, 40, 5)}
    pol = MatchPolicy(2, "balanced", 12, 5)
    want_teams, want_shorts = ref_match(SEED, tasks, roster, experts, conflicts, {}, prior, pol)
    assert want_shorts, "the caps must leave some slots short, so that shortfalls are compared too"
    order = [t.entity_id for t in sorted(tasks, key=lambda t: t.rank)]
    for chunk, block in ((2048, 64), (32, 7), (10, 10), (1, 1), (150, 200), (5, 3)):
        m = mm._Matcher(SEED, PLAN, PERIOD, roster, experts, conflicts, {}, prior, pol)
        parts: list[list[str]] = []
        teams, shorts = m.run_all(mm._ordered(tasks), chunk=chunk, block_size=block,
                                  on_chunk=lambda part: parts.append(list(part)))
        assert {e: [(x.person_id, x.slot) for x in ms] for e, ms in teams.items()} == want_teams, (chunk, block)
        assert [(x.entity_id, x.slot) for x in shorts] == want_shorts, (chunk, block)
        # Every task handed on once, in draw order; every part but the last holds at least a chunk.
        assert [e for p in parts for e in p] == order, (chunk, block)
        assert all(chunk <= len(p) < chunk + block for p in parts[:-1]), (chunk, block)


def test_different_seed_gives_different_teams():
    roster = [InspectorRec(f"I{i:02d}", "D1", frozenset()) for i in range(20)]
    tasks = [task(f"E{r}", r + 1, ("D1",)) for r in range(10)]
    a = run(tasks, roster, seed="seed-A")
    b = run(tasks, roster, seed="seed-B")
    assert a.teams != b.teams
    assert run(tasks, roster, seed="seed-A").teams == a.teams


def test_joint_task_has_each_department_and_lead_leader():
    roster = [InspectorRec(f"{d}-{i}", d, frozenset({"food"} if i % 2 else ())) for d in ("SCJG", "WJW", "YJJ")
              for i in range(6)]
    t = task("E1", 1, ("WJW", "SCJG", "YJJ"), required={"SCJG": {"food"}})
    res = run([t], roster, policy=MatchPolicy(team_size=2))
    team = res.teams["E1"]
    assert [m.department for m in team] == ["WJW", "SCJG", "YJJ"]
    assert team[0].role == "leader" and all(m.role == "member" for m in team[1:])
    assert "food" in next(r for r in roster if r.inspector_id == team[1].person_id).qualifications
    res4 = run([t], roster, policy=MatchPolicy(team_size=4))
    assert len(res4.teams["E1"]) == 4 and res4.teams["E1"][3].department in ("WJW", "SCJG", "YJJ")


def test_experts_never_count_toward_inspectors():
    roster = [InspectorRec("I1", "D1", frozenset())]
    res = run([task("E1", 1, ("D1",), fields=("电梯",))], roster, experts=[ExpertRec("X1", "电梯")])
    assert [(m.person_id, m.kind, m.slot) for m in res.teams["E1"]] == [("I1", "inspector", 1), ("X1", "expert", 3)]
    assert [(s.slot, s.reason_code) for s in res.shortfalls] == [(2, NO_QUALIFIED)]


def test_policy_validation():
    with pytest.raises(ValueError, match="不得少于两人"):
        run([task("E1", 1, ("D1",))], [], policy=MatchPolicy(team_size=1))
    with pytest.raises(ValueError):
        run([task("E1", 1, ("D1",))], [], policy=MatchPolicy(policy="random"))
    with pytest.raises(ValueError):
        run([task("E1", 1, ("D1",)), task("E1", 2, ("D1",))], [])
    with pytest.raises(ValueError):
        run([task("E1", 1, ("D1",))], [InspectorRec("X", "D1", frozenset())], experts=[ExpertRec("X", "F")])


# --------------------------------------------------------------------------- shortfalls


def test_reason_no_department():
    res = run([task("E1", 1, ("D9",))], [InspectorRec("I1", "D1", frozenset()),
                                         InspectorRec("I2", "D9", frozenset(), active=False)])
    assert [(s.slot, s.department, s.reason_code) for s in res.shortfalls] == [(1, "D9", NO_DEPARTMENT),
                                                                               (2, None, NO_DEPARTMENT)]
    assert "D9" in res.shortfalls[0].reason and "没有在岗人员" in res.shortfalls[0].reason
    assert res.fairness["tasks_short_staffed"] == 1
    assert res.report[0]["departments"] == ["D9"] and "录入在岗执法检查人员" in res.report[0]["advice"][0]


def test_reason_no_qualified():
    roster = [InspectorRec("I1", "D1", frozenset({"a"})), InspectorRec("I2", "D1", frozenset())]
    res = run([task("E1", 1, ("D1",), required={"D1": {"a", "b"}})], roster)
    assert {s.reason_code for s in res.shortfalls} == {NO_QUALIFIED}
    rep = res.report[0]
    assert rep["qualifications"] == [["a", "b"]] and rep["slots_short"] == 2  # both slots draw on this pool
    assert "a、b" in rep["advice"][0]
    # one qualified inspector: leader found, second slot short for lack of qualified people
    res = run([task("E1", 1, ("D1",), required={"D1": {"a"}})], roster)
    assert [m.person_id for m in res.teams["E1"]] == ["I1"]
    assert [(s.slot, s.reason_code) for s in res.shortfalls] == [(2, NO_QUALIFIED)]


def test_reason_all_conflicted_and_rotated():
    roster = [InspectorRec("I1", "D1", frozenset()), InspectorRec("I2", "D1", frozenset()),
              InspectorRec("I3", "D1", frozenset())]
    res = run([task("E1", 1, ("D1",))], roster, conflicts={("I1", "E1")}, last={"E1": {"I2", "I3"}})
    assert res.teams["E1"] == []
    assert [s.reason_code for s in res.shortfalls] == [ALL_CONFLICTED, ALL_CONFLICTED]
    assert "回避" in res.shortfalls[0].reason
    res = run([task("E1", 1, ("D1",))], roster, last={"E1": {"I2"}})
    assert sorted(m.person_id for m in res.teams["E1"]) == ["I1", "I3"]


def test_reason_all_at_cap_and_prior_loads_count():
    roster = [InspectorRec(f"I{i}", "D1", frozenset()) for i in range(3)]
    tasks = [task(f"E{r}", r + 1, ("D1",)) for r in range(3)]
    res = run(tasks, roster, prior={"I0": 2}, policy=MatchPolicy(cap=2))
    assert all(m.person_id != "I0" for ms in res.teams.values() for m in ms)
    assert [len(res.teams[f"E{r}"]) for r in range(3)] == [2, 2, 0]
    assert [s.reason_code for s in res.shortfalls] == [ALL_AT_CAP, ALL_AT_CAP]
    assert "上限（2）" in res.shortfalls[0].reason
    assert "提高每期工作量上限" in res.report[0]["advice"][0]
    assert res.loads == {"I0": 2, "I1": 2, "I2": 2}


def test_expert_shortfalls():
    roster = [InspectorRec("I1", "D1", frozenset()), InspectorRec("I2", "D1", frozenset())]
    experts = [ExpertRec("X1", "压力容器"), ExpertRec("X2", "电梯", active=False)]
    tasks = [task("E1", 1, ("D1",), fields=("压力容器", "电梯")), task("E2", 2, ("D1",), fields=("压力容器",))]
    res = run(tasks, roster, experts=experts, policy=MatchPolicy(expert_cap=1))
    assert [m.person_id for m in res.teams["E1"] if m.kind == "expert"] == ["X1"]
    got = [(s.entity_id, s.slot, s.field, s.reason_code) for s in res.shortfalls]
    assert got == [("E1", 4, "电梯", NO_EXPERT), ("E2", 3, "压力容器", ALL_AT_CAP)]
    fields = {r["field"]: r for r in res.report}
    assert "为领域“电梯”增加专家" in fields["电梯"]["advice"][0]
    assert "提高专家每期工作量上限" in fields["压力容器"]["advice"][0]


# --------------------------------------------------------------------------- replacement


def test_replace_member_refills_the_slot_by_the_same_rule():
    roster = [InspectorRec(f"A{i}", "DA", frozenset()) for i in range(4)] + \
             [InspectorRec(f"B{i}", "DB", frozenset({"x"}) if i < 2 else frozenset()) for i in range(4)]
    t = task("E1", 1, ("DB", "DA"), required={"DB": {"x"}})
    pol = MatchPolicy(team_size=2)
    res = run([t], roster, conflicts={("A3", "E1")}, policy=pol)
    team = res.teams["E1"]
    leader = team[0]
    assert leader.department == "DB"
    new = replace_member(SEED, PLAN, PERIOD, t, team, leader.person_id, roster, [], {("A3", "E1")}, {}, res.loads, pol)
    assert isinstance(new, Member)
    assert new.slot == 1 and new.role == "leader" and new.department == "DB"
    assert new.person_id in {"B0", "B1"} - {leader.person_id}
    # the second member: DA, never the conflicted A3, never the current one; lowest (load, ticket) wins
    gone = team[1].person_id
    loads = dict(res.loads)
    new2 = replace_member(SEED, PLAN, PERIOD, t, team, gone, roster, [], {("A3", "E1")}, {}, loads, pol)
    cands = [f"A{i}" for i in range(3) if f"A{i}" != gone]
    want = min(cands, key=lambda p: (loads.get(p, 0),
                                     splitmix64(task_key(t.ticket) ^ inspector_key(SEED, PLAN, PERIOD, p)), p))
    assert new2.person_id == want and new2.slot == 2
    # with the other qualified inspector at the cap, the leader slot cannot be refilled
    other = ({"B0", "B1"} - {leader.person_id}).pop()
    loads[other] = pol.cap
    sf = replace_member(SEED, PLAN, PERIOD, t, team, leader.person_id, roster, [], set(), {}, loads, pol)
    assert isinstance(sf, Shortfall) and sf.reason_code == ALL_AT_CAP and sf.department == "DB"
    with pytest.raises(ValueError):
        replace_member(SEED, PLAN, PERIOD, t, team, "nobody", roster, [], set(), {}, loads, pol)


def test_replace_expert():
    roster = [InspectorRec("I1", "D1", frozenset()), InspectorRec("I2", "D1", frozenset())]
    experts = [ExpertRec("X1", "F"), ExpertRec("X2", "F")]
    t = task("E1", 1, ("D1",), fields=("F",))
    res = run([t], roster, experts=experts)
    x = [m for m in res.teams["E1"] if m.kind == "expert"][0]
    new = replace_member(SEED, PLAN, PERIOD, t, res.teams["E1"], x.person_id, roster, experts, set(), {}, res.loads,
                         MatchPolicy())
    assert new.kind == "expert" and new.person_id == ({"X1", "X2"} - {x.person_id}).pop() and new.slot == x.slot


# --------------------------------------------------------------------------- statistics


def test_uniform_gives_each_eligible_inspector_the_expected_rate():
    """2,000 tasks, 10 inspectors, no cap in reach: each slot is an independent
    uniform choice, so every inspector should serve 2,000 x 2 / 10 = 400 times.
    Fixed seed, so deterministic; chi-square (9 df) critical value at p=0.001 is 27.88."""
    roster = [InspectorRec(f"I{i}", "D1", frozenset()) for i in range(10)]
    tasks = [task(f"E{r:04d}", r + 1, ("D1",)) for r in range(2000)]
    for seed in ("stat-seed-1", "stat-seed-2"):
        res = run(tasks, roster, seed=seed, policy=MatchPolicy(policy="uniform", cap=10_000))
        counts = Counter(m.person_id for ms in res.teams.values() for m in ms)
        chi2 = sum((counts[r.inspector_id] - 400) ** 2 / 400 for r in roster)
        assert chi2 < 27.88, (seed, counts)
        leaders = Counter(ms[0].person_id for ms in res.teams.values())
        chi2 = sum((leaders[r.inspector_id] - 200) ** 2 / 200 for r in roster)
        assert chi2 < 27.88, (seed, leaders)


def test_balanced_loads_differ_by_at_most_one():
    roster = [InspectorRec(f"I{i:02d}", "D1", frozenset()) for i in range(13)]
    tasks = [task(f"E{r:03d}", r + 1, ("D1",)) for r in range(97)]
    for seed in ("bal-1", "bal-2", "bal-3"):
        res = run(tasks, roster, seed=seed, policy=MatchPolicy(cap=100))
        loads = [res.loads[r.inspector_id] for r in roster]
        assert max(loads) - min(loads) <= 1
        assert res.fairness["load_max"] - res.fairness["load_min"] <= 1
    uni = run(tasks, roster, seed="bal-1", policy=MatchPolicy(policy="uniform", cap=100))
    uloads = [uni.loads[r.inspector_id] for r in roster]
    assert max(uloads) - min(uloads) > 1  # uniform does not even out workloads


def test_tie_on_48_bit_prefix_resolved_on_full_ticket():
    roster = [InspectorRec(f"I{i}", "D1", frozenset()) for i in range(4)]
    m = mm._Matcher(SEED, PLAN, PERIOD, roster, [], set(), {}, {}, MatchPolicy())
    pool = m.ins.pool("D1", frozenset())
    tk = 0x1234
    full = [m.ins.ticket(tk, int(p)) for p in pool]
    hrow = np.array([5, 5, 5, 9], dtype=np.uint64)  # forced equal prefixes for the first three
    pk = mm._Picker(m.ins, pool, hrow, tk)
    order = []
    for _ in range(4):
        order.append(pk.pick(set(), None))
    assert order[:3] == sorted(range(3), key=lambda c: (full[c], c)) and order[3] == 3
    assert pk.pick(set(), None) is None


# --------------------------------------------------------------------------- canonical files, certificate


def _world():
    roster = [InspectorRec("I02", "市场监管局", frozenset({"食品", "特种设备"})), InspectorRec("I01", "卫健委", frozenset()),
              InspectorRec("I03", "市场监管局", frozenset({"食品"}), active=False),
              InspectorRec("I04", "市场监管局", frozenset()), InspectorRec("I05", "卫健委", frozenset())]
    experts = [ExpertRec("X2", "电梯"), ExpertRec("X1", "电梯", active=False)]
    conflicts = {("I04", "E2"), ("I01", "E1")}
    last = {"E1": {"I05"}, "E3": {"I02", "I04"}}
    prior = {"I02": 1, "I05": 0}
    tasks = [task("E1", 1, ("市场监管局", "卫健委"), required={"市场监管局": {"食品"}}),
             task("E2", 2, ("市场监管局",), fields=("电梯",)), task("E3", 3, ("卫健委",))]
    return roster, experts, conflicts, last, prior, tasks


def test_canonical_files_format_and_round_trip():
    roster, experts, conflicts, last, prior, _ = _world()
    assert canonical_roster(roster).decode() == (
        "I01,卫健委,,1\nI02,市场监管局,特种设备;食品,1\nI03,市场监管局,食品,0\nI04,市场监管局,,1\nI05,卫健委,,1\n")
    assert canonical_experts(experts) == "X1,电梯,0\nX2,电梯,1\n".encode()
    assert canonical_conflicts(conflicts) == b"I01,E1\nI04,E2\n"
    assert canonical_loads(prior) == b"I02,1\n"
    assert canonical_last(last) == b"E1,I05\nE3,I02\nE3,I04\n"
    # Read back by the verifier's reader (the reference's), as the records they were written from.
    _, rr, re_ = ref_world([], roster, experts)
    assert sorted(reference.parse_roster(canonical_roster(roster)), key=lambda r: r.inspector_id) == \
        sorted(rr, key=lambda r: r.inspector_id)
    assert set(reference.parse_experts(canonical_experts(experts))) == set(re_)
    assert reference.parse_conflicts(canonical_conflicts(conflicts)) == conflicts
    assert reference.parse_loads(canonical_loads(prior)) == {"I02": 1}
    assert reference.parse_last(canonical_last(last)) == last
    with pytest.raises(ValueError):
        reference.parse_conflicts(b"I04,E2\nI01,E1\n")  # not sorted
    with pytest.raises(ValueError):
        reference.parse_roster(b"I01,D,,2\n")
    with pytest.raises(ValueError):
        canonical_roster([InspectorRec("I,1", "D", frozenset())])


def recompute(cert, seed, plan, period, tasks, *files):
    """The verifier's recompute (the reference's) over the engine's task specs and files."""
    by_key = dict(zip(("roster", "experts", "conflicts", "loads", "last"), files))
    return reference.recompute(cert, seed, plan, period, ref_world(tasks, [], [])[0], by_key)


def test_certificate_recompute_accepts_and_detects_alteration():
    roster, experts, conflicts, last, prior, tasks = _world()
    pol = MatchPolicy(team_size=2, policy="balanced", cap=5, expert_cap=3)
    files = [canonical_roster(roster), canonical_experts(experts), canonical_conflicts(conflicts),
             canonical_loads(prior), canonical_last(last)]
    res = match(SEED, PLAN, PERIOD, tasks, roster, experts, conflicts, last, prior, pol)
    cert = matching_certificate_section(res, pol, **file_digests(*files))
    assert cert["team_size"] == 2 and cert["cap"] == 5 and cert["policy"] == "balanced"
    assert cert["tasks"][0]["team"][0]["role"] == "leader"
    assert recompute(cert, SEED, PLAN, PERIOD, tasks, *files) is None

    import copy
    bad = copy.deepcopy(cert)
    bad["tasks"][1]["team"][0]["person_id"] = "I99"
    msg = recompute(bad, SEED, PLAN, PERIOD, tasks, *files)
    assert msg is not None and "E2" in msg and "I99" in msg

    bad = copy.deepcopy(cert)
    bad["tasks"][0]["team"][0]["pair_ticket"] = "0" * 16
    assert "E1" in recompute(bad, SEED, PLAN, PERIOD, tasks, *files)

    assert "执法检查人员名录库" in recompute(cert, SEED, PLAN, PERIOD, tasks, files[0] + b"I09,D,,1\n", *files[1:])
    assert recompute(cert, "other-seed", PLAN, PERIOD, tasks, *files) is not None
    bad = copy.deepcopy(cert)
    bad["cap"] = 1  # I02 carries a prior load of 1: the recomputed teams change
    assert recompute(bad, SEED, PLAN, PERIOD, tasks, *files) is not None


@PROPS
@given(scenarios())
def test_reference_canonical_files_are_the_engines(sc):
    """The package's files, written by the engine, read back by the reference to the same records."""
    _, tasks, roster, experts, conflicts, last, prior, _ = sc
    _, rr, re_ = ref_world(tasks, roster, experts)
    files = [canonical_roster(roster), canonical_experts(experts), canonical_conflicts(conflicts),
             canonical_loads(prior), canonical_last(last)]
    assert files == [reference.canonical_roster(rr), reference.canonical_experts(re_),
                     reference.canonical_conflicts(conflicts), reference.canonical_loads(prior),
                     reference.canonical_last(last)]
    assert sorted(reference.parse_roster(files[0]), key=lambda r: r.inspector_id) == \
        sorted(rr, key=lambda r: r.inspector_id)
    assert reference.parse_conflicts(files[2]) == conflicts
    assert reference.parse_loads(files[3]) == {p: n for p, n in prior.items() if n}
    assert reference.parse_last(files[4]) == {e: ps for e, ps in last.items() if ps}


@pytest.mark.parametrize("parse, data, says", [
    ("parse_conflicts", b"I04,E2\nI01,E1\n", "回避关系文件不是规范格式（排序、去重或字段有误）"),
    ("parse_roster", b"I01,D,,2\n", "名录库文件的在岗标志必须是 0 或 1：'2'"),
    ("parse_roster", b"I01,D,a;;b,1\n", "资格 含有不允许的字符或为空：''"),
    ("parse_roster", b"I01,D,,1", "执法检查人员名录库文件末尾缺少换行"),
    ("parse_experts", b"X1,F\n", "专家库文件第 1 行应有 3 列"),
    ("parse_loads", b"I01,x\n", "已有工作量文件中的数量不是整数：'x'"),
    ("parse_last", b"E1,I01\nE1,I01\n", "上次检查人员文件不是规范格式（排序、去重或字段有误）"),
])
def test_reference_refuses_files_not_in_canonical_form(parse, data, says):
    with pytest.raises(ValueError) as refused:
        getattr(reference, parse)(data)
    assert str(refused.value) == says


def test_reference_recompute_names_every_alteration():
    """Every alteration of a certificate the engine wrote is reported, each in its own words."""
    import copy

    roster, experts, conflicts, last, prior, tasks = _world()
    pol = MatchPolicy(team_size=2, policy="balanced", cap=5, expert_cap=3)
    files = [canonical_roster(roster), canonical_experts(experts), canonical_conflicts(conflicts),
             canonical_loads(prior), canonical_last(last)]
    by_key = dict(zip(("roster", "experts", "conflicts", "loads", "last"), files))
    cert = matching_certificate_section(match(SEED, PLAN, PERIOD, tasks, roster, experts, conflicts, last, prior, pol),
                                        pol, **file_digests(*files))
    ref_tasks = ref_world(tasks, [], [])[0]

    def alter(path, value):
        c = copy.deepcopy(cert)
        *head, last_key = path
        node = c
        for k in head:
            node = node[k]
        node[last_key] = value
        return c

    cases = [cert, alter(("tasks", 1, "team", 0, "person_id"), "I99"), alter(("tasks", 0, "team", 0, "pair_ticket"), "0" * 16),
             alter(("tasks", 0, "short_staffed"), [{"slot": 9, "reason_code": ALL_AT_CAP}]), alter(("cap",), 1),
             alter(("team_size",), "2"),
             alter(("policy",), "random"), alter(("algorithm",), "DSR-2"), alter(("fairness", "load_max"), 9),
             alter(("roster_sha256",), "0" * 64), alter(("tasks",), cert["tasks"][:2])]
    said = [reference.recompute(c, SEED, PLAN, PERIOD, ref_tasks, by_key) for c in cases]
    assert said[0] is None and all(said[1:]), said
    assert len(set(said[1:])) == len(said) - 1  # each alteration is named for what it is


def _naive_match(seed, plan, period, tasks, roster, conflicts, prior, policy):
    """§4 steps 1-3 word for word, for one department without tags or experts: every slot takes
    the smallest (load, pair ticket, id) (balanced) or (pair ticket, id) (uniform) among the
    active, not on the team, not recused, below the cap. Returns [(entity, [person, ...])]."""
    loads = {r.inspector_id: prior.get(r.inspector_id, 0) for r in roster}
    out = []
    for t in sorted(tasks, key=lambda t: t.rank):
        tkey, team = reference.task_key(t.ticket), []
        for _ in range(policy.team_size):
            free = [r.inspector_id for r in roster if r.active and r.inspector_id not in team
                    and (r.inspector_id, t.entity_id) not in conflicts and loads[r.inspector_id] < policy.cap]
            if not free:
                continue
            p = min(free, key=lambda p: (loads[p] if policy.policy == "balanced" else 0,
                                         reference.splitmix64(tkey ^ reference.person_key(seed, plan, period, "inspector", p)),
                                         p))
            loads[p] += 1
            team.append(p)
        out.append((t.entity_id, team))
    return out


@pytest.mark.parametrize("policy", ["balanced", "uniform"])
@pytest.mark.parametrize("key_space", [1, 3, 1 << 64])
def test_reference_pick_equals_the_rule_word_for_word_even_when_person_keys_collide(monkeypatch, policy, key_space):
    """The reference picks by (load, pair ticket, id) without building a tuple per person; person
    keys reduced to `key_space` values make equal pair tickets common (1: all equal), and the
    id must still decide among them."""
    real = reference.person_key
    monkeypatch.setattr(reference, "person_key", lambda *a: real(*a) % key_space)
    roster = [reference.Inspector(f"I{i:02d}", "D", frozenset(), i % 7 != 3) for i in range(12)]
    tasks = [reference.Task(f"E{r}", hashlib.sha256(f"t{r}".encode()).hexdigest(), r + 1, ("D",), {})
             for r in range(40)]
    conflicts = {(f"I{i:02d}", f"E{r}") for i in range(12) for r in range(40) if (i * 7 + r) % 11 == 0}
    prior = {"I01": 2, "I05": 1}
    pol = reference.Policy(team_size=3, policy=policy, cap=9)
    got = reference.match(SEED, PLAN, PERIOD, tasks, roster, [], conflicts, {}, prior, pol)
    want = _naive_match(SEED, PLAN, PERIOD, tasks, roster, conflicts, prior, pol)
    assert [(e, [m.person_id for m in team]) for e, team in got.teams.items()] == want
