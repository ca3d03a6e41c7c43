"""Inspector matching (执法检查人员随机匹配), the second random of double random — DSR-1.

Pure: no database, no clock, no randomness but the seed. Given the tasks of a
draw (in draw order, each with the entity's draw ticket), the inspector roster,
the expert pool, the declared conflicts, the last check's inspectors and the
loads already carried in the period, it assigns each task a team:

1. Tasks are matched in draw order (rank 1 first).
2. task_key = first 16 hex digits of the entity's draw ticket (uint64);
   inspector_key = first 16 hex digits of SHA-256("DSR1|seed|plan|period|inspector|id");
   pair ticket = splitmix64(task_key XOR inspector_key).
3. One slot per task department (lead first, then by code), then the remaining
   slots from the qualified inspectors of all the task's departments. Per slot,
   among eligible inspectors not yet on the team: `balanced` takes the smallest
   (load, pair ticket, id), `uniform` the smallest (pair ticket, id). An
   inspector at the cap is not eligible.
4. A slot nobody can fill stays empty and is reported with the rule that
   emptied it; no rule is ever relaxed.
5. `replace_member` re-fills one slot by the same rule.

The verifier re-runs `match` from the canonical files (`canonical_*`), so the
byte formats below are part of the published algorithm.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Literal, Mapping, Sequence

import numpy as np

from scheduler.errors import DsrError
from scheduler.runtime import cores

MASK64 = (1 << 64) - 1
_U64_MAX = np.uint64(MASK64)
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB

POLICIES = ("balanced", "uniform")
ALGORITHM = "DSR-1 matching"

# reason codes of an empty slot, in the order the rules are applied
NO_DEPARTMENT = "no_department"  # nobody active in the department
NO_QUALIFIED = "no_qualified"  # nobody (left) holding the department's required tags
ALL_CONFLICTED = "all_conflicted"  # every qualified one is recused (conflict or rotation)
ALL_AT_CAP = "all_at_cap"  # every remaining one has reached the period's cap
NO_EXPERT = "no_expert"  # no active expert in the field


class MatchingError(DsrError, ValueError):
    """Matching inputs a user can produce (policy, roster, conflicts, package fields) that the rule refuses."""

    code = "matching.input_invalid"


# --------------------------------------------------------------------------- records


def qualified(bureau_code: str | None, local_id: str) -> str:
    """市抽县查: in the matching of a city plan, whose tasks go to several district
    bureaus, every person id, department and expert field carries the code of its
    bureau (``110117/SCJGJ``), so that a task is staffed only from the roster of the
    bureau that carries it out. The algorithm itself is unchanged."""
    return f"{bureau_code}/{local_id}" if bureau_code else local_id


@dataclass(frozen=True)
class InspectorRec:
    inspector_id: str
    department: str
    qualifications: frozenset[str]
    active: bool = True


@dataclass(frozen=True)
class ExpertRec:
    expert_id: str
    field: str
    active: bool = True


@dataclass(frozen=True)
class TaskSpec:
    entity_id: str
    ticket: str
    rank: int
    departments: tuple[str, ...]  # lead department first, then by department code
    required: Mapping[str, frozenset[str]]  # department -> qualification tags its items require
    expert_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchPolicy:
    team_size: int = 2
    policy: str = "balanced"
    cap: int = 20
    expert_cap: int = 20

    def validate(self) -> None:
        if self.team_size < 2:
            raise MatchingError(f"每组执法检查人员不得少于两人（当前设置为 {self.team_size}）")
        if self.policy not in POLICIES:
            raise MatchingError(f"未知的匹配方式：{self.policy}（可选 balanced 或 uniform）")
        if self.cap < 1 or self.expert_cap < 1:
            raise MatchingError("每期工作量上限必须至少为 1")


@dataclass(frozen=True)
class Member:
    task_entity_id: str
    person_id: str
    kind: Literal["inspector", "expert"]
    department: str | None
    field: str | None
    role: Literal["leader", "member", "expert"]
    slot: int  # 1-based; slot 1 is the team leader (组长)
    pair_ticket: str  # 16 hex digits


@dataclass(frozen=True)
class Shortfall:
    entity_id: str
    slot: int
    department: str | None  # None for a remaining (non-department) slot or an expert slot
    reason_code: str
    reason: str  # Chinese, for planners
    field: str | None = None  # expert field, for expert slots


@dataclass
class MatchResult:
    teams: dict[str, list[Member]]
    shortfalls: list[Shortfall]
    loads: dict[str, int]
    fairness: dict
    report: list[dict]


# --------------------------------------------------------------------------- keys


def splitmix64(x: int) -> int:
    """The SplitMix64 finaliser (Steele, Lea, Flood 2014) on one 64-bit integer."""
    z = (x + _GOLDEN) & MASK64
    z ^= z >> 30
    z = (z * _M1) & MASK64
    z ^= z >> 27
    z = (z * _M2) & MASK64
    z ^= z >> 31
    return z


def splitmix64_np(x: np.ndarray) -> np.ndarray:
    """Vectorised `splitmix64` over a uint64 array (numpy uint64 arithmetic wraps mod 2^64)."""
    z = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = z + np.uint64(_GOLDEN)
        z ^= z >> np.uint64(30)
        z *= np.uint64(_M1)
        z ^= z >> np.uint64(27)
        z *= np.uint64(_M2)
        z ^= z >> np.uint64(31)
    return z


def task_key(ticket: str) -> int:
    """The first 16 hex digits of the entity's draw ticket as an unsigned 64-bit integer."""
    head = ticket[:16]
    if len(head) != 16:
        raise MatchingError(f"抽取号必须至少有 16 位十六进制数字：{ticket!r}")
    try:
        return int(head, 16)
    except ValueError:
        raise MatchingError(f"抽取号不是十六进制数字：{ticket!r}") from None


def inspector_key(seed: str, plan_code: str, period: str, person_id: str, kind: str = "inspector") -> int:
    """First 16 hex digits of SHA-256("DSR1|seed|plan_code|period|kind|person_id")."""
    if kind not in ("inspector", "expert"):
        raise AssertionError(f"unknown person kind {kind!r}")
    text = f"DSR1|{seed}|{plan_code}|{period}|{kind}|{person_id}"
    return int(cores.sha256(text.encode("utf-8")).hexdigest()[:16], 16)  # (may run in a forked child)


def pair_ticket(seed: str, plan_code: str, period: str, ticket: str, person_id: str, kind: str = "inspector") -> int:
    """The pair ticket of one (task, person): splitmix64(task_key XOR inspector_key)."""
    return splitmix64(task_key(ticket) ^ inspector_key(seed, plan_code, period, person_id, kind))


# --------------------------------------------------------------------------- pools


def _tags_text(tags: Iterable[str]) -> str:
    tags = sorted(tags)
    return "、".join(tags) if tags else "无特定资格要求"


_SHIFT_LOAD = 48
_HI = np.uint64(64 - _SHIFT_LOAD)  # a pick key keeps the top 48 bits of the pair ticket
_BLOCK = 32768  # elements per splitmix block: fits in cache, which triples numpy's speed here
_C_GOLDEN, _C_M1, _C_M2 = np.uint64(_GOLDEN), np.uint64(_M1), np.uint64(_M2)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _splitmix_inplace(z: np.ndarray, tmp: np.ndarray) -> None:
    np.add(z, _C_GOLDEN, out=z)
    np.right_shift(z, _S30, out=tmp)
    z ^= tmp
    np.multiply(z, _C_M1, out=z)
    np.right_shift(z, _S27, out=tmp)
    z ^= tmp
    np.multiply(z, _C_M2, out=z)
    np.right_shift(z, _S31, out=tmp)
    z ^= tmp


class _People:
    """One kind of people (inspectors or experts), sorted by id so that the
    lowest index is the smallest id: `argmin` then breaks ties by id.

    Each person has a pick key prefix `lkey` so that one `argmin` over
    `lkey[pool] | (pair ticket >> 16)` finds the smallest (load, ticket) under
    `balanced` (lkey = load << 48) or the smallest ticket among those under the
    cap under `uniform` (lkey = 2^63 at the cap, else 0). Equal 48-bit prefixes
    are detected and resolved on the full tickets, so the rule stays exact."""

    def __init__(self, ids: list[str], groups: list[str], quals: list[frozenset[str]], active: list[bool],
                 keys: list[int], cap: int, balanced: bool, loads0: Mapping[str, int]):
        if cap >= 1 << 15:
            raise MatchingError("每期工作量上限过大（不得超过 32767）")
        self.ids = ids
        self.index = {p: i for i, p in enumerate(ids)}
        self.groups = groups
        self.quals = quals
        self.active = active
        self.key_ints = keys
        self.keys = np.array(keys, dtype=np.uint64)
        self.cap = cap
        self.balanced = balanced
        self.loads = [int(loads0.get(p, 0)) for p in ids]
        if any(v < 0 for v in self.loads):
            raise MatchingError("已有工作量不能为负数")
        self.prior = list(self.loads)
        if balanced:
            self.limit = cap << _SHIFT_LOAD
            self.lkey = np.array([min(v, cap) << _SHIFT_LOAD for v in self.loads], dtype=np.uint64)
        else:
            self.limit = 1 << 63
            self.lkey = np.array([(1 << 63) if v >= cap else 0 for v in self.loads], dtype=np.uint64)
        by_group: dict[str, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            if active[i]:
                by_group[g].append(i)
        self.by_group = {g: np.array(v, dtype=np.int64) for g, v in by_group.items()}
        self._pools: dict[tuple[str, frozenset[str]], np.ndarray] = {}
        self._unions: dict[tuple, np.ndarray] = {}
        self._qsets: dict[tuple, frozenset[int]] = {}

    def add_load(self, i: int) -> None:
        v = self.loads[i] = self.loads[i] + 1
        if self.balanced:
            self.lkey[i] = min(v, self.cap) << _SHIFT_LOAD
        elif v >= self.cap:
            self.lkey[i] = 1 << 63

    def pool(self, group: str, tags: frozenset[str]) -> np.ndarray:
        """Active members of `group` holding every tag in `tags` (sorted indices)."""
        key = (group, tags)
        p = self._pools.get(key)
        if p is None:
            members = self.by_group.get(group, np.empty(0, dtype=np.int64))
            if tags:
                members = np.array([i for i in members if tags <= self.quals[i]], dtype=np.int64)
            p = self._pools[key] = members
        return p

    def union(self, parts: tuple[tuple[str, frozenset[str]], ...]) -> np.ndarray:
        if len(parts) == 1:
            return self.pool(*parts[0])
        u = self._unions.get(parts)
        if u is None:
            u = self._unions[parts] = np.sort(np.concatenate([self.pool(*pt) for pt in parts]))
        return u

    def qualified_set(self, parts: tuple[tuple[str, frozenset[str]], ...]) -> frozenset[int]:
        """The pools of `parts` as one set of indices (cached: `_why_empty` asks per empty slot)."""
        q = self._qsets.get(parts)
        if q is None:
            q = self._qsets[parts] = frozenset(int(i) for g, tags in parts for i in self.pool(g, tags))
        return q

    def hi_rows(self, pool: np.ndarray, tks: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(len(tks) x len(pool)) top 48 bits of the pair tickets, computed in cache-sized blocks.

        `out`: a buffer of at least that many elements to write them into. Reusing one buffer
        for every chunk of a matching matters: the first write to fresh memory faults in its
        pages, which took longer than computing the tickets (1M draw: 0.19 of 0.28 s)."""
        n = pool.size
        if out is None or out.size < tks.size * n:
            out = np.empty((tks.size, n), dtype=np.uint64)
        else:
            out = out.reshape(-1)[: tks.size * n].reshape(tks.size, n)
        if n == 0:
            return out
        keys = self.keys[pool]
        step = max(1, _BLOCK // n)
        tmp = np.empty((step, n), dtype=np.uint64)
        for r in range(0, tks.size, step):
            z = out[r:r + step]
            np.bitwise_xor(tks[r:r + step, None], keys[None, :], out=z)
            _splitmix_inplace(z, tmp[:z.shape[0]])
            np.right_shift(z, _HI, out=z)
        return out

    def ticket(self, tk: int, i: int) -> int:
        return splitmix64(tk ^ self.key_ints[i])


def _build_people(kind: str, recs: Sequence, seed: str, plan_code: str, period: str, cap: int, balanced: bool,
                  prior_loads: Mapping[str, int]) -> _People:
    if kind == "inspector":
        rows = sorted(((r.inspector_id.encode("utf-8"), r) for r in recs), key=lambda t: t[0])
        ids = [r.inspector_id for _, r in rows]
        groups = [r.department for _, r in rows]
        quals = [frozenset(r.qualifications) for _, r in rows]
    else:
        rows = sorted(((r.expert_id.encode("utf-8"), r) for r in recs), key=lambda t: t[0])
        ids = [r.expert_id for _, r in rows]
        groups = [r.field for _, r in rows]
        quals = [frozenset() for _ in rows]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(p for p in ids if p in seen or seen.add(p))
        raise MatchingError(f"{'执法检查人员' if kind == 'inspector' else '专家'}编号重复：{dup}")
    active = [bool(r.active) for _, r in rows]
    keys = [inspector_key(seed, plan_code, period, p, kind) for p in ids]
    return _People(ids, groups, quals, active, keys, cap, balanced, prior_loads)


class _Picker:
    """Successive picks from one pool for one task.

    One `argmin` over `lkey[pool] | (ticket >> 16)` finds the next candidate. After a
    pick, only the picked person's load changed and they are now on the team, so
    the same key array serves the task's next slot from this pool; the `argmin`
    that checks for a tie is the next slot's candidate. `pool` is sorted by index
    (= by id) and `argmin` returns the first minimum, so ties go to the smaller id;
    equal 48-bit prefixes are resolved on the full (ticket, id)."""

    __slots__ = ("people", "pool", "comp", "tk", "nxt")

    def __init__(self, people: _People, pool: np.ndarray, hrow: np.ndarray, tk: int):
        """`hrow` (this task's row of pair-ticket prefixes for `pool`) becomes the key array: it
        serves this one picker, so it is overwritten in place rather than copied."""
        self.people = people
        self.pool = pool
        self.tk = tk
        # A pool of everyone (sorted, unique indices) is 0..n-1: no gather needed.
        lk = people.lkey if pool.size == people.lkey.size else people.lkey[pool]
        self.comp = np.bitwise_or(hrow, lk, out=hrow)
        self.nxt = -1

    def pick(self, team: set[int], recused: set[int] | None) -> int | None:
        """Index into `pool` of the person the policy picks, or None if nobody is eligible."""
        pool, comp = self.pool, self.comp
        if pool.size == 0:
            return None
        limit = self.people.limit
        while True:
            j = self.nxt if self.nxt >= 0 else int(comp.argmin())
            self.nxt = -1
            v = int(comp[j])
            if v >= limit:
                return None
            comp[j] = _U64_MAX
            p = int(pool[j])
            if p in team or (recused and p in recused):
                continue
            j2 = int(comp.argmin())
            if int(comp[j2]) != v:
                self.nxt = j2
                return j
            cand = [j] + [int(c) for c in np.flatnonzero(comp == v)
                          if not (int(pool[c]) in team or (recused and int(pool[c]) in recused))]
            best = min(cand, key=lambda c: (self.people.ticket(self.tk, int(pool[c])), c))
            comp[j] = v
            comp[best] = _U64_MAX
            return best


def _why_empty(people: _People, parts: tuple[tuple[str, frozenset[str]], ...], team: set[int],
               recused: set[int]) -> str:
    """Which rule emptied the pool, applied in order: department, qualification, recusal, cap."""
    if not any(people.by_group.get(g) is not None and people.by_group[g].size for g, _ in parts):
        return NO_DEPARTMENT
    # Counted on the (small) team and recusals rather than by copying the qualified pool, which
    # can hold thousands: a plan short of qualified people has tens of thousands of empty slots.
    qualified = people.qualified_set(parts)
    if len(qualified) == sum(1 for i in team if i in qualified):
        return NO_QUALIFIED
    if recused and len(qualified) == sum(1 for i in team | recused if i in qualified):
        return ALL_CONFLICTED
    return ALL_AT_CAP


@functools.lru_cache(maxsize=4096)  # one text per (rule, pool): tens of thousands of empty slots share a few
def _reason_text(code: str, parts: tuple[tuple[str, frozenset[str]], ...], cap: int, expert: bool) -> str:
    if expert:
        fld = parts[0][0]
        return {
            NO_EXPERT: f"专家库中没有领域“{fld}”的在册专家",
            ALL_CONFLICTED: f"领域“{fld}”的专家均须回避（存在利害关系或上次检查已参加）",
            ALL_AT_CAP: f"领域“{fld}”的专家本期工作量均已达上限（{cap}）",
        }[code]
    if len(parts) == 1:
        dept, tags = parts[0]
        where = f"部门“{dept}”"
        need = f"持有所需资格（{_tags_text(tags)}）的"
    else:
        where = "联合检查各部门（" + "、".join(f"{d}：{_tags_text(t)}" for d, t in parts) + "）"
        need = "持有所需资格的"
    return {
        NO_DEPARTMENT: f"{where}在执法检查人员名录库中没有在岗人员",
        NO_QUALIFIED: f"{where}{need}执法检查人员不足",
        ALL_CONFLICTED: f"{where}{need}执法检查人员均须回避（存在利害关系或上次检查已参加）",
        ALL_AT_CAP: f"{where}{need}执法检查人员本期工作量均已达上限（{cap}）",
    }[code]


def _advice(code: str, parts: tuple[tuple[str, frozenset[str]], ...], cap: int, expert: bool) -> str:
    if expert:
        fld = parts[0][0]
        if code == ALL_AT_CAP:
            return f"提高专家每期工作量上限（当前 {cap}），或为领域“{fld}”增加专家"
        return f"为领域“{fld}”增加专家"
    depts = "、".join(f"“{d}”" for d, _ in parts)
    tags = "；".join(_tags_text(t) for _, t in parts)
    if code == NO_DEPARTMENT:
        return f"为部门{depts}录入在岗执法检查人员"
    if code == NO_QUALIFIED:
        return f"为部门{depts}增加持有所需资格（{tags}）的执法检查人员"
    if code == ALL_CONFLICTED:
        return f"为部门{depts}增加持有所需资格（{tags}）的执法检查人员，使回避后仍有人可派"
    return f"提高每期工作量上限（当前 {cap}），或为部门{depts}增加持有所需资格（{tags}）的执法检查人员"


# --------------------------------------------------------------------------- matching


def _task_parts(task: TaskSpec) -> list[tuple[str, frozenset[str]]]:
    if not task.departments:
        raise MatchingError(f"任务 {task.entity_id} 没有承担部门")
    if len(set(task.departments)) != len(task.departments):
        raise MatchingError(f"任务 {task.entity_id} 的部门重复")
    return [(d, frozenset(task.required.get(d, frozenset()))) for d in task.departments]


class _Matcher:
    def __init__(self, seed: str, plan_code: str, period: str, roster: Sequence[InspectorRec],
                 experts: Sequence[ExpertRec], conflicts: Iterable[tuple[str, str]],
                 last_inspectors: Mapping[str, set[str]], prior_loads: Mapping[str, int], policy: MatchPolicy):
        policy.validate()
        self.policy = policy
        bal = policy.policy == "balanced"
        self.ins = _build_people("inspector", roster, seed, plan_code, period, policy.cap, bal, prior_loads)
        self.exp = _build_people("expert", experts, seed, plan_code, period, policy.expert_cap, bal, prior_loads)
        both = set(self.ins.index) & set(self.exp.index)
        if both:
            raise MatchingError(f"编号同时出现在执法检查人员名录库和专家库中：{sorted(both)[0]}")
        # recusal by entity, as roster indices, kept sparse: only entities that have any
        self._plans: dict = {}
        self._ran_for: Sequence[TaskSpec] | None = None  # the task list of the last run_all, and its distinct plans
        self._ran_plans: dict[int, tuple] = {}
        self.pairs: set[tuple[int, int]] = set()  # inspector pairs that served together
        self.rec_ins: dict[str, set[int]] = defaultdict(set)
        self.rec_exp: dict[str, set[int]] = defaultdict(set)
        pairs = list(conflicts) + [(pid, eid) for eid, ps in last_inspectors.items() for pid in ps]
        for pid, eid in pairs:
            i = self.ins.index.get(pid)
            if i is not None:
                self.rec_ins[eid].add(i)
            else:
                i = self.exp.index.get(pid)
                if i is not None:
                    self.rec_exp[eid].add(i)

    def team_size(self, task: TaskSpec) -> int:
        return max(self.policy.team_size, len(task.departments))

    def fill(self, picker: _Picker, task: TaskSpec, slot: int, parts: tuple, team: set[int],
             recused: set[int] | None, dept_slot: bool, expert: bool) -> Member | Shortfall:
        """Fill one slot: the pick, or the reason nobody could fill it."""
        people = picker.people
        j = picker.pick(team, recused)
        if j is None:
            return self.short(people, task, slot, parts, team, recused, dept_slot, expert)
        p = int(picker.pool[j])
        ticket = format(people.ticket(picker.tk, p), "016x")
        if expert:
            return Member(task.entity_id, people.ids[p], "expert", None, parts[0][0], "expert", slot, ticket)
        return Member(task.entity_id, people.ids[p], "inspector", people.groups[p], None,
                      "leader" if slot == 1 else "member", slot, ticket)

    def short(self, people: _People, task: TaskSpec, slot: int, parts: tuple, team: set[int],
              recused: set[int] | None, dept_slot: bool, expert: bool) -> Shortfall:
        """The shortfall of an empty slot, with the rule that emptied its pool."""
        code = _why_empty(people, parts, team, recused)
        if expert:
            code = NO_EXPERT if code in (NO_DEPARTMENT, NO_QUALIFIED) else code
            return Shortfall(task.entity_id, slot, None, code, _reason_text(code, parts, people.cap, True),
                             field=parts[0][0])
        return Shortfall(task.entity_id, slot, parts[0][0] if dept_slot else None, code,
                         _reason_text(code, parts, people.cap, False))

    def plan(self, task: TaskSpec) -> tuple[list, list[str], list[np.ndarray], list[tuple[_People, np.ndarray]]]:
        """The task's inspector slots as (parts, pool, is-department-slot), its expert
        fields and pools, and its distinct pools. Tasks with the same departments,
        requirements and expert fields share one plan."""
        sig = (task.departments, tuple(task.required.get(d) for d in task.departments), task.expert_fields)
        try:
            cached = self._plans.get(sig)
        except TypeError:  # unhashable requirement values: no caching
            cached, sig = None, None
        if cached is not None:
            return cached
        parts = _task_parts(task)
        pool = self.ins.pool
        slots = [((pt,), pool(*pt), True) for pt in parts]
        size = self.team_size(task)
        if size > len(parts):
            allp = tuple(parts)
            u = self.ins.union(allp)
            slots.extend([(allp, u, False)] * (size - len(parts)))
        slots = [(pt, pl, ds, id(pl)) for pt, pl, ds in slots]
        efields = list(dict.fromkeys(task.expert_fields))
        epools = [self.exp.pool(f, frozenset()) for f in efields]
        distinct = {id(sl[1]): (self.ins, sl[1]) for sl in slots}
        distinct.update({id(ep): (self.exp, ep) for ep in epools})
        out = (slots, efields, epools, list(distinct.values()))
        if sig is not None:
            self._plans[sig] = out
        return out

    def fairness(self, ordered: Sequence[TaskSpec], shortfalls: Sequence[Shortfall]) -> dict:
        """The same figures as the public `fairness`, from the matcher's own state."""
        ins = self.ins
        plans = self._ran_plans.values() if self._ran_for is ordered else (self.plan(t) for t in ordered)
        dept_pools = [pool for pl in plans for _, pool, ds, _ in pl[0] if ds]
        uniq = {id(p): p for p in dept_pools}
        idx = np.unique(np.concatenate(list(uniq.values()))) if uniq else np.empty(0, dtype=np.int64)
        if idx.size:
            added = np.array(ins.loads, dtype=np.int64)[idx] - np.array(ins.prior, dtype=np.int64)[idx]
            lmin, lmean, lmax = int(added.min()), round(float(added.mean()), 4), int(added.max())
        else:
            lmin = lmax = 0
            lmean = 0.0
        return {
            "eligible_inspectors": int(idx.size),
            "load_min": lmin,
            "load_mean": lmean,
            "load_max": lmax,
            "distinct_partner_pairs": len(self.pairs),
            "tasks": len(ordered),
            "tasks_short_staffed": len({s.entity_id for s in shortfalls}),
            "slots_short": len(shortfalls),
        }

    def run_all(self, ordered: Sequence[TaskSpec], chunk: int = 2048, block_size: int = 64,
                on_chunk: Callable[[dict[str, list[Member]]], None] | None = None,
                ) -> tuple[dict[str, list[Member]], list[Shortfall]]:
        """Match every task in order; `on_chunk` gets the teams of each chunk of tasks as it is done.

        Pair tickets are computed a block of tasks at a time, one (tasks x pool) array
        per distinct pool, so numpy is called per block rather than per task and no
        tasks x roster matrix is ever built. The picks stay sequential: each one moves
        the loads the next one sees."""
        teams: dict[str, list[Member]] = {}
        shortfalls: list[Shortfall] = []
        self._ran_for, self._ran_plans = ordered, {}
        buffers: dict[int, np.ndarray] = {}  # per pool (by id): the pair-ticket rows of a block
        done: list[TaskSpec] = []  # matched, not yet handed to on_chunk
        # Pair tickets a block of `block_size` tasks at a time, right before the block's picks: the rows
        # are still in the CPU cache when the picks read them. (Blocks of a whole chunk, 2,048 tasks x
        # 3,000 inspectors = 49 MB of rows, went to memory and back: 26,495 tasks, best of 7, two runs
        # each on a noisy machine, 0.92 / 1.19 -> 0.84 / 0.99 s.)
        for start in range(0, len(ordered), block_size):
            block = ordered[start:start + block_size]
            tks, plans, rows = self._block_tickets(block, buffers)
            self._match_block(block, tks, plans, rows, teams, shortfalls)
            if on_chunk is not None:
                done.extend(block)
                if len(done) >= chunk or start + block_size >= len(ordered):
                    on_chunk({t.entity_id: teams[t.entity_id] for t in done})
                    done = []
        return teams, shortfalls

    def _block_tickets(self, block: Sequence[TaskSpec], buffers: dict[int, np.ndarray],
                       ) -> tuple[list[int], list[tuple], list[dict[int, np.ndarray]]]:
        """A block's task keys, plans, and per task {pool id: its row of pair tickets over that pool}.

        One (tasks x pool) array per distinct pool of the block; `buffers` keeps each
        pool's array for the next block (the previous block's tasks are done with their rows)."""
        tks = [task_key(t.ticket) for t in block]
        plans = [self.plan(t) for t in block]
        ran_plans = self._ran_plans
        for pl in plans:
            ran_plans[id(pl)] = pl
        users: dict[int, tuple[_People, np.ndarray, list[int]]] = {}
        for n, pl in enumerate(plans):
            for people, pool in pl[3]:
                u = users.get(id(pool))
                if u is None:
                    users[id(pool)] = (people, pool, [n])
                else:
                    u[2].append(n)
        rows: list[dict[int, np.ndarray]] = [{} for _ in block]
        for pid, (people, pool, who) in users.items():
            buf = buffers.get(pid)
            mat = people.hi_rows(pool, np.array([tks[n] for n in who], dtype=np.uint64), buf)
            if buf is None or mat.base is not buf:
                buffers[pid] = mat
            for r, n in enumerate(who):
                rows[n][pid] = mat[r]
        return tks, plans, rows

    def _match_block(self, block: Sequence[TaskSpec], tks: list[int], plans: list[tuple],
                     rows: list[dict[int, np.ndarray]], teams: dict[str, list[Member]],
                     shortfalls: list[Shortfall]) -> None:
        """The picks of one block, task after task: inspector slots (the leader first), then experts.

        The hot loop: the load update of `_People.add_load` is inlined and the
        roster's arrays are held in locals."""
        ins = self.ins
        ins_ids, ins_groups, ins_keys = ins.ids, ins.groups, ins.key_ints
        ins_loads, ins_lkey, cap, balanced = ins.loads, ins.lkey, ins.cap, ins.balanced
        rec_get = self.rec_ins.get
        pairs = self.pairs
        for n, t in enumerate(block):
            slots, efields, epools, _ = plans[n]
            tk = tks[n]
            row = rows[n]
            eid = t.entity_id
            members: list[Member] = []
            team: set[int] = set()
            recused = rec_get(eid)
            pickers: dict[int, _Picker] = {}
            k = 0
            for parts, pool, dept_slot, pid in slots:
                k += 1
                pk = pickers.get(pid)
                if pk is None:
                    pk = pickers[pid] = _Picker(ins, pool, row[pid], tk)
                j = pk.pick(team, recused)
                if j is None:
                    shortfalls.append(self.short(ins, t, k, parts, team, recused, dept_slot, False))
                    continue
                p = int(pool[j])
                team.add(p)
                v = ins_loads[p] = ins_loads[p] + 1  # inline of _People.add_load
                if balanced:
                    ins_lkey[p] = min(v, cap) << _SHIFT_LOAD
                elif v >= cap:
                    ins_lkey[p] = 1 << 63
                members.append(Member(eid, ins_ids[p], "inspector", ins_groups[p], None,
                                      "leader" if k == 1 else "member", k,
                                      format(splitmix64(tk ^ ins_keys[p]), "016x")))
            if efields:
                self._pick_experts(t, k, tk, row, efields, epools, members, shortfalls)
            teams[eid] = members
            if len(team) == 2:
                a, b = team
                pairs.add((a, b) if a < b else (b, a))
            elif len(team) > 2:
                tl = sorted(team)
                pairs.update((tl[x], tl[y]) for x in range(len(tl)) for y in range(x + 1, len(tl)))

    def _pick_experts(self, t: TaskSpec, k: int, tk: int, row: dict[int, np.ndarray], efields: list[str],
                      epools: list[np.ndarray], members: list[Member], shortfalls: list[Shortfall]) -> None:
        """One expert per field of the task, numbered after its `k` inspector slots."""
        exp = self.exp
        eteam: set[int] = set()
        erec = self.rec_exp.get(t.entity_id)
        for f, pool in zip(efields, epools):
            k += 1
            pk = _Picker(exp, pool, row[id(pool)], tk)
            r = self.fill(pk, t, k, ((f, frozenset()),), eteam, erec, False, True)
            if type(r) is Member:
                i = exp.index[r.person_id]
                eteam.add(i)
                exp.add_load(i)
                members.append(r)
            else:
                shortfalls.append(r)


def _ordered(tasks: Sequence[TaskSpec]) -> list[TaskSpec]:
    ents = [t.entity_id for t in tasks]
    if len(set(ents)) != len(ents):
        raise MatchingError("同一检查对象在任务中出现多次")
    ranks = [t.rank for t in tasks]
    if len(set(ranks)) != len(ranks):
        raise MatchingError("任务的抽取顺序号重复")
    return sorted(tasks, key=lambda t: t.rank)


def match(seed: str, plan_code: str, period: str, tasks: Sequence[TaskSpec], roster: Sequence[InspectorRec],
          experts: Sequence[ExpertRec], conflicts: Iterable[tuple[str, str]],
          last_inspectors: Mapping[str, set[str]], prior_loads: Mapping[str, int],
          policy: MatchPolicy = MatchPolicy(),
          on_chunk: Callable[[dict[str, list[Member]]], None] | None = None) -> MatchResult:
    """Match a team to every task, in draw order (DSR-1 matching).

    `on_chunk`: called with the teams of each successive chunk of tasks (a few thousand) as soon
    as they are final, so a caller can store them while the rest is matched."""
    m = _Matcher(seed, plan_code, period, roster, experts, conflicts, last_inspectors, prior_loads, policy)
    ordered = _ordered(tasks)
    teams, shortfalls = m.run_all(ordered, on_chunk=on_chunk)
    loads = dict(prior_loads)
    for people in (m.ins, m.exp):
        for i, p in enumerate(people.ids):
            loads[p] = int(people.loads[i])
    fair = m.fairness(ordered, shortfalls)
    report = shortfall_report(ordered, shortfalls, m)
    return MatchResult(teams, shortfalls, loads, fair, report)


def fairness(tasks: Sequence[TaskSpec], teams: Mapping[str, Sequence[Member]], shortfalls: Sequence[Shortfall],
             roster: Sequence[InspectorRec]) -> dict:
    """Load spread over the eligible roster, distinct partner pairs, short-staffed tasks.

    The eligible roster is every active inspector qualified for a department slot of
    at least one task; loads are the tasks this matching gave them (prior loads apart)."""
    by_dept: dict[str, list[InspectorRec]] = defaultdict(list)
    for r in roster:
        if r.active:
            by_dept[r.department].append(r)
    needs: set[tuple[str, frozenset[str]]] = set()
    for t in tasks:
        for d in t.departments:
            needs.add((d, frozenset(t.required.get(d, ()))))
    eligible = {r.inspector_id for d, tags in needs for r in by_dept.get(d, ()) if tags <= r.qualifications}
    added: dict[str, int] = defaultdict(int)
    pairs = set()
    for ms in teams.values():
        ids = [m.person_id for m in ms if m.kind == "inspector"]
        for p in ids:
            added[p] += 1
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                x, y = ids[a], ids[b]
                pairs.add((x, y) if x < y else (y, x))
    if eligible:
        vals = np.array([added.get(p, 0) for p in eligible], dtype=np.int64)
        lmin, lmean, lmax = int(vals.min()), round(float(vals.mean()), 4), int(vals.max())
    else:
        lmin = lmax = 0
        lmean = 0.0
    return {
        "eligible_inspectors": len(eligible),
        "load_min": lmin,
        "load_mean": lmean,
        "load_max": lmax,
        "distinct_partner_pairs": len(pairs),
        "tasks": len(tasks),
        "tasks_short_staffed": len({s.entity_id for s in shortfalls}),
        "slots_short": len(shortfalls),
    }


def shortfall_report(tasks: Sequence[TaskSpec], shortfalls: Sequence[Shortfall], matcher: _Matcher) -> list[dict]:
    """One entry per pool (department + required tags, joint remaining pool, or expert field)."""
    by_ent = {t.entity_id: t for t in tasks}
    groups: dict[tuple, dict] = {}
    parts_of: dict[tuple, tuple] = {}  # (departments, id of requirements) -> parts: specs share their mappings
    for s in shortfalls:
        t = by_ent[s.entity_id]
        pk = (t.departments, id(t.required))
        parts = parts_of.get(pk)
        if parts is None:
            parts = parts_of[pk] = tuple(_task_parts(t))
        if s.field is not None:
            key = ("expert", ((s.field, frozenset()),))
        elif s.slot <= len(t.departments):
            key = ("inspector", (parts[s.slot - 1],))
        else:
            key = ("inspector", parts)
        g = groups.setdefault(key, {"slots": 0, "tasks": set(), "reasons": defaultdict(int)})
        g["slots"] += 1
        g["tasks"].add(s.entity_id)
        g["reasons"][s.reason_code] += 1
    out = []
    for (kind, parts), g in groups.items():
        expert = kind == "expert"
        people = matcher.exp if expert else matcher.ins
        qualified = set()
        for grp, tags in parts:
            qualified.update(int(i) for i in people.pool(grp, tags))
        reasons = dict(sorted(g["reasons"].items()))
        main = max(reasons, key=lambda c: (reasons[c], c))
        cap = people.cap
        entry = {
            "kind": kind,
            "departments": None if expert else [d for d, _ in parts],
            "qualifications": None if expert else [sorted(t) for _, t in parts],
            "field": parts[0][0] if expert else None,
            "pool_size": len(qualified),
            "slots_short": g["slots"],
            "tasks_short": len(g["tasks"]),
            "reasons": reasons,
            "advice": [_advice(c, parts, cap, expert) for c in sorted(reasons, key=lambda c: (-reasons[c], c))],
            "summary": _summary(kind, parts, g["slots"], len(g["tasks"]), main, cap, expert),
        }
        out.append(entry)
    out.sort(key=lambda e: (-e["slots_short"], e["kind"], str(e["departments"]), str(e["field"])))
    return out


def _summary(kind: str, parts, slots: int, ntasks: int, main: str, cap: int, expert: bool) -> str:
    if expert:
        head = f"专家领域“{parts[0][0]}”"
    elif len(parts) == 1:
        head = f"部门“{parts[0][0]}”（资格：{_tags_text(parts[0][1])}）"
    else:
        head = "联合检查补足名额（" + "、".join(f"{d}：{_tags_text(t)}" for d, t in parts) + "）"
    return f"{head}：{ntasks} 个任务共缺 {slots} 人，主要原因：{_reason_text(main, parts, cap, expert)}；建议：{_advice(main, parts, cap, expert)}"


# --------------------------------------------------------------------------- replacement


def replace_member(seed: str, plan_code: str, period: str, task: TaskSpec, team: Sequence[Member], leaving: str,
                   roster: Sequence[InspectorRec], experts: Sequence[ExpertRec],
                   conflicts: Iterable[tuple[str, str]], last_inspectors: Mapping[str, set[str]],
                   loads: Mapping[str, int], policy: MatchPolicy = MatchPolicy()) -> Member | Shortfall:
    """Re-fill the slot of `leaving` by the same rule, with `loads` as they stand.

    `loads` are the current period loads (prior draws plus this one). The leaving
    person is excluded as unavailable; the rest of the team stays. The caller
    records the returned member and adds one to their load."""
    old = [m for m in team if m.person_id == leaving]
    if not old:
        raise MatchingError(f"{leaving} 不在该任务的检查组中")
    old_m = old[0]
    mt = _Matcher(seed, plan_code, period, roster, experts, conflicts, last_inspectors, loads, policy)
    tk = task_key(task.ticket)
    tks = np.array([tk], dtype=np.uint64)
    expert = old_m.kind == "expert"
    people = mt.exp if expert else mt.ins
    recused = (mt.rec_exp if expert else mt.rec_ins).get(task.entity_id)
    # the whole current team stays excluded, the leaving person included
    stay = {people.index[m.person_id] for m in team if m.kind == old_m.kind and m.person_id in people.index}
    if expert:
        parts = ((old_m.field or "", frozenset()),)
        pool = people.pool(*parts[0])
        dept_slot = False
    else:
        tparts = _task_parts(task)
        if old_m.slot <= len(tparts):
            parts = (tparts[old_m.slot - 1],)
            pool = people.pool(*parts[0])
            dept_slot = True
        else:
            parts = tuple(tparts)
            pool = people.union(parts)
            dept_slot = False
    picker = _Picker(people, pool, people.hi_rows(pool, tks)[0], tk)
    return mt.fill(picker, task, old_m.slot, parts, stay, recused, dept_slot, expert)


# --------------------------------------------------------------------------- canonical files
# Written here for the package; read back only by the verifier, through scheduler/matching/reference.py.


def _check_field(value: str, what: str) -> str:
    if any(c in value for c in ",;\n\r") or value != value.strip() or not value:
        raise MatchingError(f"{what} 含有不允许的字符或为空：{value!r}")
    return value


def _lines(rows: Iterable[str]) -> bytes:
    enc = sorted(r.encode("utf-8") for r in rows)
    return b"".join(e + b"\n" for e in enc)


def canonical_roster(roster: Sequence[InspectorRec]) -> bytes:
    """`inspector_id,department,qualifications,active` lines, tags ';'-joined sorted, sorted by id bytewise."""
    rows = []
    for r in roster:
        tags = sorted(_check_field(t, "资格") for t in r.qualifications)
        rows.append((r.inspector_id.encode("utf-8"),
                     f"{_check_field(r.inspector_id, '执法检查人员编号')},{_check_field(r.department, '部门')},"
                     f"{';'.join(tags)},{1 if r.active else 0}"))
    rows.sort(key=lambda t: t[0])
    return b"".join(line.encode("utf-8") + b"\n" for _, line in rows)


def canonical_experts(experts: Sequence[ExpertRec]) -> bytes:
    rows = sorted(((e.expert_id.encode("utf-8"),
                    f"{_check_field(e.expert_id, '专家编号')},{_check_field(e.field, '专家领域')},{1 if e.active else 0}")
                   for e in experts), key=lambda t: t[0])
    return b"".join(line.encode("utf-8") + b"\n" for _, line in rows)


def canonical_conflicts(conflicts: Iterable[tuple[str, str]]) -> bytes:
    return _lines({f"{_check_field(p, '人员编号')},{_check_field(e, '检查对象编号')}" for p, e in conflicts})


def canonical_loads(prior_loads: Mapping[str, int]) -> bytes:
    return _lines(f"{_check_field(p, '人员编号')},{int(n)}" for p, n in prior_loads.items() if int(n) != 0)


def canonical_last(last_inspectors: Mapping[str, set[str]]) -> bytes:
    return _lines({f"{_check_field(e, '检查对象编号')},{_check_field(p, '人员编号')}"
                   for e, ps in last_inspectors.items() for p in ps})


def sha256_hex(data: bytes) -> str:
    return cores.sha256(data).hexdigest()


def file_digests(roster_file: bytes, experts_file: bytes, conflicts_file: bytes, loads_file: bytes,
                 last_file: bytes) -> dict[str, str]:
    """SHA-256 of the five canonical input files, keyed as in the certificate."""
    return {
        "roster_sha256": sha256_hex(roster_file),
        "experts_sha256": sha256_hex(experts_file),
        "conflicts_sha256": sha256_hex(conflicts_file),
        "loads_sha256": sha256_hex(loads_file),
        "last_sha256": sha256_hex(last_file),
    }


# --------------------------------------------------------------------------- certificate


def _member_cert(m: Member) -> dict:
    d = {"person_id": m.person_id, "kind": m.kind, "role": m.role, "slot": m.slot, "pair_ticket": m.pair_ticket}
    if m.kind == "expert":
        d["field"] = m.field
    else:
        d["department"] = m.department
    return d


def matching_certificate_section(result: MatchResult, policy: MatchPolicy, *, roster_sha256: str,
                                 experts_sha256: str, conflicts_sha256: str, loads_sha256: str,
                                 last_sha256: str) -> dict:
    """The matching part of the verification certificate (JSON-ready).

    `loads_sha256` is the digest of the prior-loads file (loads carried into this draw)."""
    tasks = []
    short_by: dict[str, list[Shortfall]] = defaultdict(list)
    for s in result.shortfalls:
        short_by[s.entity_id].append(s)
    short_get = short_by.get
    for eid, members in result.teams.items():
        # `_member_cert` inlined for inspectors (the same keys in the same order): ~0.5M members at 10M.
        tasks.append({
            "entity_id": eid,
            "team": [{"person_id": m.person_id, "kind": m.kind, "role": m.role, "slot": m.slot,
                      "pair_ticket": m.pair_ticket, "department": m.department}
                     if m.kind != "expert" else _member_cert(m) for m in members],
            "short_staffed": [
                {"slot": s.slot, "department": s.department, "field": s.field, "reason_code": s.reason_code,
                 "reason": s.reason}
                for s in short_get(eid, ())
            ],
        })
    return {
        "algorithm": ALGORITHM,
        "roster_sha256": roster_sha256,
        "experts_sha256": experts_sha256,
        "conflicts_sha256": conflicts_sha256,
        "loads_sha256": loads_sha256,
        "last_sha256": last_sha256,
        "policy": policy.policy,
        "team_size": policy.team_size,
        "cap": policy.cap,
        "expert_cap": policy.expert_cap,
        "tasks": tasks,
        "fairness": dict(result.fairness),
    }


__all__ = [
    "ALGORITHM", "InspectorRec", "ExpertRec", "TaskSpec", "MatchPolicy", "Member", "Shortfall", "MatchResult",
    "splitmix64", "splitmix64_np", "task_key", "inspector_key", "pair_ticket", "match", "replace_member",
    "fairness", "shortfall_report", "canonical_roster", "canonical_experts", "canonical_conflicts",
    "canonical_loads", "canonical_last", "file_digests", "sha256_hex", "matching_certificate_section",
]
