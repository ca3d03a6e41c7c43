"""DSR-1 inspector matching (执法检查人员随机匹配) as the normative text in code.

Read it beside docs/draw-algorithm.md §4 ("The algorithm", steps 1-4, and
"Canonical files"). It is the reference implementation: `dsr verify`
(scheduler/verify.py) re-runs the matching of an auditor package with it
(`check_package`), and property tests hold the fast engine
(scheduler/matching/fast.py) to it. Standard library only.

Inputs are checked as the engine checks them, with the same Chinese
messages. The Chinese reasons and advice of a shortfall are for planners and
not part of what a package proves; the reference computes the reason codes,
which the certificate's check compares.

Ids compare bytewise on their UTF-8 encoding (§4 step 3). Python compares
strings by code point and UTF-8 keeps code point order, so sorting `str` ids
sorts their bytes.

One step is written for speed, because a verifier needs a pair ticket for
every task and every person of its pools (80 million for the draw of 1M
entities): the pair tickets of one task with a whole pool are computed at once,
on the lanes of one Python integer (`_Lanes`). Tests compare them with the
one-value `splitmix64`, which is the definition. The pick then finds the smallest
(load, pair ticket, id) with C-level min/compress over the pool rather than a
tuple per person (`_People.pick`); a test holds it to §4 step 3 word for word.
"""

from __future__ import annotations

import hashlib
import struct
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, pairwise
from pathlib import Path

ALGORITHM = "DSR-1 matching"
POLICIES = ("balanced", "uniform")
MASK64 = (1 << 64) - 1

# §4 step 4: the reason an empty slot stays empty, the first rule (in this order) that empties its pool.
NO_DEPARTMENT = "no_department"
NO_QUALIFIED = "no_qualified"
ALL_CONFLICTED = "all_conflicted"
ALL_AT_CAP = "all_at_cap"
NO_EXPERT = "no_expert"

# §4 "Canonical files": the matching's files in the auditor package.
FILES = {
    "roster": "roster.csv",
    "experts": "experts.csv",
    "conflicts": "conflicts.csv",
    "loads": "loads.csv",
    "last": "last.csv",
}


@dataclass(frozen=True)
class Inspector:
    inspector_id: str
    department: str
    qualifications: frozenset[str]
    active: bool = True


@dataclass(frozen=True)
class Expert:
    expert_id: str
    field: str
    active: bool = True


@dataclass(frozen=True)
class Task:
    entity_id: str
    ticket: str  # the entity's draw ticket
    rank: int  # its place in the draw order
    departments: tuple[str, ...]  # lead department first, then by department code
    required: Mapping[str, frozenset[str]]  # department -> qualification tags its items require
    expert_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    team_size: int = 2
    policy: str = "balanced"
    cap: int = 20
    expert_cap: int = 20

    def validate(self) -> None:
        if self.team_size < 2:
            raise ValueError(f"每组执法检查人员不得少于两人（当前设置为 {self.team_size}）")
        if self.policy not in POLICIES:
            raise ValueError(f"未知的匹配方式：{self.policy}（可选 balanced 或 uniform）")
        if self.cap < 1 or self.expert_cap < 1:
            raise ValueError("每期工作量上限必须至少为 1")


@dataclass(frozen=True)
class Member:
    entity_id: str
    person_id: str
    kind: str  # "inspector" or "expert"
    department: str | None  # an inspector's department
    field: str | None  # an expert's field
    role: str  # "leader" (slot 1), "member" or "expert"
    slot: int
    pair_ticket: str  # 16 hex digits

    def certificate(self) -> dict:
        """The member as the certificate's `matching.tasks[].team` lists it (§4 "Canonical files")."""
        d = {"person_id": self.person_id, "kind": self.kind, "role": self.role, "slot": self.slot,
             "pair_ticket": self.pair_ticket}
        if self.kind == "expert":
            d["field"] = self.field
        else:
            d["department"] = self.department
        return d


@dataclass(frozen=True)
class Shortfall:
    entity_id: str
    slot: int
    department: str | None  # the department of a department slot, else None
    field: str | None  # the field of an expert slot, else None
    reason_code: str


@dataclass
class Matching:
    teams: dict[str, list[Member]]  # by entity, in draw order
    shortfalls: list[Shortfall]
    loads: dict[str, int]  # every person's load in the period afterwards (prior loads included)
    fairness: dict


# --------------------------------------------------------------------------- §4 step 2: keys


def splitmix64(x: int) -> int:
    """The SplitMix64 finaliser, all arithmetic mod 2^64 (§4 step 2)."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & MASK64
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & MASK64
    z ^= z >> 31
    return z


def task_key(ticket: str) -> int:
    """The first 16 hex digits of the entity's draw ticket, as an unsigned 64-bit integer."""
    head = ticket[:16]
    if len(head) != 16:
        raise ValueError(f"抽取号必须至少有 16 位十六进制数字：{ticket!r}")
    try:
        return int(head, 16)
    except ValueError:
        raise ValueError(f"抽取号不是十六进制数字：{ticket!r}") from None


def person_key(seed: str, plan_code: str, period: str, kind: str, person_id: str) -> int:
    """The first 16 hex digits of SHA-256(UTF-8("DSR1|seed|plan_code|period|" + kind + "|" + person_id)),
    kind being "inspector" or "expert"."""
    text = f"DSR1|{seed}|{plan_code}|{period}|{kind}|{person_id}"
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], 16)


class _Lanes:
    """64-bit values side by side in one Python integer, value j in bits [128 j, 128 j + 64)
    (its lane), the upper half of every lane zero: splitmix64 on all of them is then a dozen
    operations on one integer, in C, rather than a dozen per value in Python."""

    def __init__(self, values: Sequence[int]):
        if any(not 0 <= v <= MASK64 for v in values):
            raise ValueError("lanes hold unsigned 64-bit values")
        self.n = len(values)
        self.ones = int.from_bytes((1).to_bytes(16, "little") * self.n, "little")  # 1 in every lane
        self.mask = self.ones * MASK64
        self.packed = int.from_bytes(b"".join(v.to_bytes(16, "little") for v in values), "little")

    def pair_tickets(self, tkey: int) -> list[int]:
        """splitmix64(tkey XOR v) for every value v, in order.

        A sum with a constant below 2^64, or a product with one, stays below 2^128, inside its
        lane, and masking every lane to its low 64 bits is the "mod 2^64". A right shift by
        s < 64 moves the low s bits of the next lane to bits [128 - s, 128) of this one, above
        bit 64, which the mask clears. So every lane goes through `splitmix64` exactly."""
        if not 0 <= tkey <= MASK64:
            raise ValueError("a task key is an unsigned 64-bit value")
        if self.n == 0:
            return []
        ones, mask = self.ones, self.mask
        z = self.packed ^ (tkey * ones)
        z = (z + 0x9E3779B97F4A7C15 * ones) & mask
        z ^= (z >> 30) & mask
        z = (z * 0xBF58476D1CE4E5B9) & mask
        z ^= (z >> 27) & mask
        z = (z * 0x94D049BB133111EB) & mask
        z ^= (z >> 31) & mask
        return list(struct.unpack(f"<{2 * self.n}Q", z.to_bytes(16 * self.n, "little"))[::2])


def pair_tickets(tkey: int, keys: Sequence[int]) -> list[int]:
    """The pair tickets splitmix64(task_key XOR person_key) of one task with each of `keys`."""
    return _Lanes(keys).pair_tickets(tkey)


# --------------------------------------------------------------------------- people


class _Pool:
    """The people a slot is filled from: indices into their `_People`, ascending (= by id)."""

    def __init__(self, members: list[int], keys: Sequence[int]):
        self.members = members
        self.lanes = _Lanes([keys[i] for i in members])


class _People:
    """The inspectors, or the experts, sorted by id: a smaller index is a smaller id,
    so that among equal (load, ticket) the smaller index wins (§4 step 3)."""

    def __init__(self, kind: str, rows: list[tuple[str, str, frozenset[str], bool]], seed: str, plan_code: str,
                 period: str, cap: int, balanced: bool, prior_loads: Mapping[str, int]):
        rows = sorted(rows, key=lambda r: r[0])
        self.ids = [r[0] for r in rows]
        for a, b in pairwise(self.ids):
            if a == b:
                raise ValueError(f"{'执法检查人员' if kind == 'inspector' else '专家'}编号重复：{a}")
        # The engine refuses a cap of 2^15 or more (its pick key holds the load above a 48-bit
        # ticket prefix): no certificate can carry one, and the reference refuses it in the same words.
        if cap >= 1 << 15:
            raise ValueError("每期工作量上限过大（不得超过 32767）")
        self.index = {p: i for i, p in enumerate(self.ids)}
        self.groups = [r[1] for r in rows]  # department, or expert field
        self.tags = [r[2] for r in rows]
        self.keys = [person_key(seed, plan_code, period, kind, p) for p in self.ids]
        self.cap = cap
        self.balanced = balanced
        self.loads = [int(prior_loads.get(p, 0)) for p in self.ids]
        if any(v < 0 for v in self.loads):
            raise ValueError("已有工作量不能为负数")
        self.prior = list(self.loads)
        self.standing = [self._standing(v) for v in self.loads]
        self.active_in: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            if r[3]:
                self.active_in.setdefault(r[1], []).append(i)
        self._pools: dict[tuple[tuple[str, frozenset[str]], ...], _Pool] = {}

    def _standing(self, load: int) -> int:
        """What the policy compares first, below the cap: `balanced` the load, `uniform` nothing
        (0). At the cap it is the cap itself: nobody whose standing is the cap is eligible."""
        if load >= self.cap:
            return self.cap
        return load if self.balanced else 0

    def add_task(self, i: int) -> None:
        self.loads[i] += 1
        self.standing[i] = self._standing(self.loads[i])

    def pool(self, parts: tuple[tuple[str, frozenset[str]], ...]) -> _Pool:
        """The active people of any part's group holding every tag that part requires."""
        p = self._pools.get(parts)
        if p is None:
            members = sorted(i for g, tags in parts for i in self.active_in.get(g, ()) if tags <= self.tags[i])
            p = self._pools[parts] = _Pool(members, self.keys)
        return p

    def pick(self, pool: _Pool, tickets: list[int], excluded: set[int]) -> int | None:
        """§4 step 3: among the eligible of `pool`, the smallest (load, pair ticket, id) under
        `balanced`, the smallest (pair ticket, id) under `uniform`; None if nobody is eligible.
        `tickets[j]` is the pair ticket of pool.members[j]; `excluded`: on the team or recused."""
        members = pool.members
        if not members:
            return None
        standing = list(map(self.standing.__getitem__, members))
        for i in excluded:
            j = bisect_left(members, i)
            if j < len(members) and members[j] == i:
                standing[j] = self.cap
        low = min(standing)
        if low >= self.cap:
            return None
        # The smallest ticket among those at the lowest standing, without a (standing, ticket, id)
        # tuple per member: compress and min iterate in C. Pair tickets of one task are distinct
        # unless two person keys are equal (splitmix64 is a bijection); then compare all three.
        best = min(compress(tickets, map(low.__eq__, standing)))
        if tickets.count(best) == 1:
            return members[tickets.index(best)]
        return min(zip(standing, tickets, members))[2]

    def why_empty(self, parts: tuple[tuple[str, frozenset[str]], ...], team: set[int], recused: set[int]) -> str:
        """§4 step 4: the first rule that empties the slot's pool."""
        if not any(self.active_in.get(g) for g, _ in parts):
            return NO_DEPARTMENT
        qualified = set(self.pool(parts).members) - team
        if not qualified:
            return NO_QUALIFIED
        if not qualified - recused:
            return ALL_CONFLICTED
        return ALL_AT_CAP


def _task_parts(task: Task) -> tuple[tuple[str, frozenset[str]], ...]:
    """(department, required tags) for each of the task's departments, lead first."""
    if not task.departments:
        raise ValueError(f"任务 {task.entity_id} 没有承担部门")
    if len(set(task.departments)) != len(task.departments):
        raise ValueError(f"任务 {task.entity_id} 的部门重复")
    return tuple((d, frozenset(task.required.get(d, frozenset()))) for d in task.departments)


# --------------------------------------------------------------------------- §4 the matching


def _fill(people: _People, parts: tuple[tuple[str, frozenset[str]], ...], tkey: int, tickets: dict[int, list[int]],
          on_team: set[int], recused: set[str]) -> int | str:
    """Fill one slot from the pool of `parts`: the index of the person picked (now on the team,
    their load counted), or the reason code of the empty slot. `tickets` caches the task's pair
    tickets per pool (by identity)."""
    pool = people.pool(parts)
    row = tickets.get(id(pool))
    if row is None:
        row = tickets[id(pool)] = pool.lanes.pair_tickets(tkey)
    rec = {people.index[p] for p in recused if p in people.index}
    i = people.pick(pool, row, on_team | rec)
    if i is None:
        return people.why_empty(parts, on_team, rec)
    people.add_task(i)
    on_team.add(i)
    return i


def match(seed: str, plan_code: str, period: str, tasks: Sequence[Task], roster: Sequence[Inspector],
          experts: Sequence[Expert], conflicts: Iterable[tuple[str, str]], last_inspectors: Mapping[str, set[str]],
          prior_loads: Mapping[str, int], policy: Policy = Policy()) -> Matching:
    """Match a team to every task, in draw order (§4 steps 1-4)."""
    policy.validate()
    balanced = policy.policy == "balanced"
    ins = _People("inspector", [(r.inspector_id, r.department, frozenset(r.qualifications), bool(r.active))
                                for r in roster], seed, plan_code, period, policy.cap, balanced, prior_loads)
    exp = _People("expert", [(e.expert_id, e.field, frozenset(), bool(e.active)) for e in experts],
                  seed, plan_code, period, policy.expert_cap, balanced, prior_loads)
    both = set(ins.ids) & set(exp.ids)
    if both:
        raise ValueError(f"编号同时出现在执法检查人员名录库和专家库中：{min(both)}")

    recused = _recusals(conflicts, last_inspectors)

    entities = [t.entity_id for t in tasks]
    if len(set(entities)) != len(entities):
        raise ValueError("同一检查对象在任务中出现多次")
    if len({t.rank for t in tasks}) != len(tasks):
        raise ValueError("任务的抽取顺序号重复")

    teams: dict[str, list[Member]] = {}
    shortfalls: list[Shortfall] = []
    pairs: set[tuple[str, str]] = set()  # inspectors who served together
    eligible: set[int] = set()  # inspectors qualified for a department slot of some task
    counted: set[int] = set()  # the pools (by identity) already in `eligible`: added once, not per task
    for task in sorted(tasks, key=lambda t: t.rank):  # step 1: in draw order
        tkey = task_key(task.ticket)
        parts = _task_parts(task)
        eid = task.entity_id
        rec = recused.get(eid, set())
        tickets: dict[int, list[int]] = {}
        team: list[Member] = []
        # Step 3: one slot per department, lead first, then the remaining slots from the
        # qualified inspectors of all the task's departments.
        on_team: set[int] = set()
        size = max(policy.team_size, len(parts))
        for slot in range(1, size + 1):
            dept_slot = slot <= len(parts)
            slot_parts = (parts[slot - 1],) if dept_slot else parts
            if dept_slot:
                pool = ins.pool(slot_parts)
                if id(pool) not in counted:
                    counted.add(id(pool))
                    eligible.update(pool.members)
            got = _fill(ins, slot_parts, tkey, tickets, on_team, rec)
            if isinstance(got, str):
                shortfalls.append(Shortfall(eid, slot, parts[slot - 1][0] if dept_slot else None, None, got))
                continue
            team.append(Member(eid, ins.ids[got], "inspector", ins.groups[got], None,
                               "leader" if slot == 1 else "member", slot,
                               format(splitmix64(tkey ^ ins.keys[got]), "016x")))
        # Then one slot per expert field, in the task's order (a field listed twice is matched once).
        on_team_experts: set[int] = set()
        for slot, f in enumerate(dict.fromkeys(task.expert_fields), start=size + 1):
            got = _fill(exp, ((f, frozenset()),), tkey, tickets, on_team_experts, rec)
            if isinstance(got, str):
                code = NO_EXPERT if got in (NO_DEPARTMENT, NO_QUALIFIED) else got
                shortfalls.append(Shortfall(eid, slot, None, f, code))
                continue
            team.append(Member(eid, exp.ids[got], "expert", None, f, "expert", slot,
                               format(splitmix64(tkey ^ exp.keys[got]), "016x")))
        teams[eid] = team
        sworn = sorted(m.person_id for m in team if m.kind == "inspector")
        pairs.update((a, b) for n, a in enumerate(sworn) for b in sworn[n + 1:])

    loads = dict(prior_loads)
    for people in (ins, exp):
        loads.update(zip(people.ids, people.loads))
    return Matching(teams, shortfalls, loads, _fairness(ins, eligible, pairs, len(tasks), shortfalls))


def _recusals(conflicts: Iterable[tuple[str, str]], last_inspectors: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Who may not inspect each entity (回避): the declared conflicts, and the last check's team (rotation)."""
    recused: dict[str, set[str]] = {}
    for pid, eid in list(conflicts) + [(p, e) for e, ps in last_inspectors.items() for p in ps]:
        recused.setdefault(eid, set()).add(pid)
    return recused


def _fairness(ins: _People, eligible: set[int], pairs: set[tuple[str, str]], tasks: int,
              shortfalls: list[Shortfall]) -> dict:
    """The fairness figures (§4 "Canonical files"): the tasks this matching gave each eligible inspector."""
    given = [ins.loads[i] - ins.prior[i] for i in eligible]
    return {
        "eligible_inspectors": len(given),
        "load_min": min(given, default=0),
        "load_mean": round(sum(given) / len(given), 4) if given else 0.0,
        "load_max": max(given, default=0),
        "distinct_partner_pairs": len(pairs),
        "tasks": tasks,
        "tasks_short_staffed": len({s.entity_id for s in shortfalls}),
        "slots_short": len(shortfalls),
    }


# --------------------------------------------------------------------------- §4 canonical files


def _check_field(value: str, what: str) -> str:
    # Four `in` tests rather than a generator over the characters: it runs for every field of every file.
    if "," in value or ";" in value or "\n" in value or "\r" in value or value != value.strip() or not value:
        raise ValueError(f"{what} 含有不允许的字符或为空：{value!r}")
    return value


def _lines(rows: Iterable[str]) -> bytes:
    """One line per row, each ending in a newline, sorted bytewise."""
    return "".join(f"{r}\n" for r in sorted(rows)).encode("utf-8")


def canonical_roster(roster: Sequence[Inspector]) -> bytes:
    """`inspector_id,department,qualifications,active` lines, tags `;`-joined and sorted, by id."""
    rows = []
    for r in roster:
        tags = ";".join(sorted(_check_field(t, "资格") for t in r.qualifications))
        pid = _check_field(r.inspector_id, "执法检查人员编号")
        rows.append((pid, f"{pid},{_check_field(r.department, '部门')},{tags},{1 if r.active else 0}"))
    rows.sort(key=lambda t: t[0])
    return "".join(f"{line}\n" for _, line in rows).encode("utf-8")


def canonical_experts(experts: Sequence[Expert]) -> bytes:
    """`expert_id,field,active` lines, by id."""
    rows = []
    for e in experts:
        pid = _check_field(e.expert_id, "专家编号")
        rows.append((pid, f"{pid},{_check_field(e.field, '专家领域')},{1 if e.active else 0}"))
    rows.sort(key=lambda t: t[0])
    return "".join(f"{line}\n" for _, line in rows).encode("utf-8")


def canonical_conflicts(conflicts: Iterable[tuple[str, str]]) -> bytes:
    """`person_id,entity_id` lines."""
    return _lines({f"{_check_field(p, '人员编号')},{_check_field(e, '检查对象编号')}" for p, e in conflicts})


def canonical_loads(prior_loads: Mapping[str, int]) -> bytes:
    """`person_id,load` lines, non-zero loads only."""
    return _lines(f"{_check_field(p, '人员编号')},{int(n)}" for p, n in prior_loads.items() if int(n) != 0)


def canonical_last(last_inspectors: Mapping[str, set[str]]) -> bytes:
    """`entity_id,person_id` lines: the most recent check's team of each entity."""
    return _lines({f"{_check_field(e, '检查对象编号')},{_check_field(p, '人员编号')}"
                   for e, ps in last_inspectors.items() for p in ps})


def _split(data: bytes, ncols: int, what: str) -> list[list[str]]:
    text = data.decode("utf-8")
    if text and not text.endswith("\n"):
        raise ValueError(f"{what}文件末尾缺少换行")
    rows = []
    for n, line in enumerate(text.split("\n")[:-1] if text else [], start=1):
        cols = line.split(",")
        if len(cols) != ncols:
            raise ValueError(f"{what}文件第 {n} 行应有 {ncols} 列")
        rows.append(cols)
    return rows


def _active(v: str, what: str) -> bool:
    if v not in ("0", "1"):
        raise ValueError(f"{what}文件的在岗标志必须是 0 或 1：{v!r}")
    return v == "1"


# Each parser refuses a file that is not exactly in canonical form: re-serialising must give the same bytes.


def parse_roster(data: bytes) -> list[Inspector]:
    out = [Inspector(c[0], c[1], frozenset(c[2].split(";")) if c[2] else frozenset(), _active(c[3], "名录库"))
           for c in _split(data, 4, "执法检查人员名录库")]
    if canonical_roster(out) != data:
        raise ValueError("执法检查人员名录库文件不是规范格式（排序、去重或字段有误）")
    return out


def parse_experts(data: bytes) -> list[Expert]:
    out = [Expert(c[0], c[1], _active(c[2], "专家库")) for c in _split(data, 3, "专家库")]
    if canonical_experts(out) != data:
        raise ValueError("专家库文件不是规范格式（排序、去重或字段有误）")
    return out


def parse_conflicts(data: bytes) -> set[tuple[str, str]]:
    out = {(c[0], c[1]) for c in _split(data, 2, "回避关系")}
    if canonical_conflicts(out) != data:
        raise ValueError("回避关系文件不是规范格式（排序、去重或字段有误）")
    return out


def parse_loads(data: bytes) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in _split(data, 2, "已有工作量"):
        try:
            out[c[0]] = int(c[1])
        except ValueError:
            raise ValueError(f"已有工作量文件中的数量不是整数：{c[1]!r}") from None
    if canonical_loads(out) != data:
        raise ValueError("已有工作量文件不是规范格式（排序、去重或字段有误）")
    return out


def parse_last(data: bytes) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in _split(data, 2, "上次检查人员"):
        out.setdefault(c[0], set()).add(c[1])
    if canonical_last(out) != data:
        raise ValueError("上次检查人员文件不是规范格式（排序、去重或字段有误）")
    return out


# --------------------------------------------------------------------------- the package check

_DIGESTS = {  # certificate field -> (file key, name in messages)
    "roster_sha256": ("roster", "执法检查人员名录库"),
    "experts_sha256": ("experts", "专家库"),
    "conflicts_sha256": ("conflicts", "回避关系"),
    "loads_sha256": ("loads", "已有工作量"),
    "last_sha256": ("last", "上次检查人员"),
}


def tasks_from_certificate(cert: Mapping) -> list[Task]:
    """The tasks as the certificate gives them: tickets from `selected`, departments,
    requirements and expert fields from `matching.task_specs`."""
    tickets = {s["entity_id"]: s["ticket"] for s in cert["selected"]}
    return [Task(entity_id=t["entity_id"], ticket=tickets[t["entity_id"]], rank=int(t["rank"]),
                 departments=tuple(t["departments"]), required={d: frozenset(v) for d, v in t["required"].items()},
                 expert_fields=tuple(t["expert_fields"]))
            for t in cert["matching"]["task_specs"]]


def _describe(m: Mapping | None) -> str:
    if m is None:
        return "无"
    return f"{m.get('person_id')}（{m.get('role')}，第 {m.get('slot')} 位，配对号 {m.get('pair_ticket')}）"


def recompute(section: Mapping, seed: str, plan_code: str, period: str, tasks: Sequence[Task],
              files: Mapping[str, bytes]) -> str | None:
    """Re-run the matching from the package's files (`files` by FILES key) and compare it with the
    certificate's `matching` section: the first difference in Chinese, or None."""
    for field, (key, name) in _DIGESTS.items():
        digest = hashlib.sha256(files[key]).hexdigest()
        if section.get(field) != digest:
            return f"{name}文件的 SHA-256 与证书不符（证书 {section.get(field)}，文件 {digest}）"
    if section.get("algorithm") != ALGORITHM:
        return f"证书的匹配算法为 {section.get('algorithm')!r}，本验证程序实现的是 {ALGORITHM}"
    try:
        policy = Policy(int(section["team_size"]), str(section["policy"]), int(section["cap"]),
                        int(section["expert_cap"]))
        result = match(seed, plan_code, period, tasks, parse_roster(files["roster"]), parse_experts(files["experts"]),
                       parse_conflicts(files["conflicts"]), parse_last(files["last"]), parse_loads(files["loads"]),
                       policy)
    except (KeyError, ValueError) as e:
        return f"无法按证书重新匹配：{e}"
    got = list(section.get("tasks", []))
    if len(got) != len(result.teams):
        return f"证书列出 {len(got)} 个任务，重新匹配得到 {len(result.teams)} 个"
    short: dict[str, list[tuple[int, str]]] = {}
    for s in result.shortfalls:
        short.setdefault(s.entity_id, []).append((s.slot, s.reason_code))
    for n, (g, (eid, team)) in enumerate(zip(got, result.teams.items()), start=1):
        if g.get("entity_id") != eid:
            return f"第 {n} 个任务：证书为检查对象 {g.get('entity_id')}，重新匹配为 {eid}"
        gt, wt = g.get("team", []), [m.certificate() for m in team]
        for k in range(max(len(gt), len(wt))):
            gm = gt[k] if k < len(gt) else None
            wm = wt[k] if k < len(wt) else None
            if gm != wm:
                return f"检查对象 {eid} 的检查组第 {k + 1} 名成员：证书为 {_describe(gm)}，重新匹配为 {_describe(wm)}"
        gs = [(s.get("slot"), s.get("reason_code")) for s in g.get("short_staffed", [])]
        if gs != short.get(eid, []):
            return f"检查对象 {eid} 的缺员情况：证书为 {gs}，重新匹配为 {short.get(eid, [])}"
    again = {"policy": policy.policy, "team_size": policy.team_size, "cap": policy.cap, "expert_cap": policy.expert_cap}
    for k, v in again.items():
        if section.get(k) != v:
            return f"证书字段 {k} 不一致"
    if dict(section.get("fairness", {})) != result.fairness:
        return f"均衡性指标不一致：证书为 {section.get('fairness')}，重新计算为 {result.fairness}"
    return None


def check_package(directory: Path, cert: dict) -> list[str] | str | None:
    """The matching part of `dsr verify`: what was verified (a list), the first difference (a
    string), or None when the certificate has no matching. The public package carries only the
    files' digests, so its matching cannot be re-run."""
    section = cert.get("matching")
    if not section:
        return None
    if cert.get("package_kind") == "public":
        return ["证书含检查组匹配的输入摘要与策略（公开包不含名录文件，检查组未重算）"]
    try:
        files = {k: (directory / name).read_bytes() for k, name in FILES.items()}
    except FileNotFoundError as e:
        return f"核验包缺少匹配输入文件：{Path(e.filename).name}"
    try:
        tasks = tasks_from_certificate(cert)
    except (KeyError, TypeError) as e:
        return f"证书的匹配部分结构错误：{e}"
    diff = recompute(section, cert["seed"], cert["plan_code"], cert["period"], tasks, files)
    if diff:
        return diff
    return [f"检查组匹配可由名录库、回避关系、已有工作量与上次检查人员文件重算（{len(section.get('tasks', []))} 个任务全部一致）"]
