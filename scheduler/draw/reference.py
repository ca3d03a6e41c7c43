"""DSR-1, the draw of entities to inspect, as the normative text in code.

Read it beside docs/draw-algorithm.md: each step cites its place in the text
(§1.3: section 1, step 3, the ticket). It is the reference implementation: `dsr verify`
(scheduler/verify.py) recomputes every draw with it, and property tests hold
the fast engine (scheduler/draw/fast.py) to it. Standard library only, no
shortcuts: where the engine sorts 8-byte prefixes with numpy, this sorts
(ticket, entity_id) pairs, as the text says.

Inputs are checked as the engine checks them, with the same Chinese messages,
so a verifier built on this module reports a malformed package in the same
words as the engine would refuse it.

One fact is used throughout: Python compares strings by code point, and UTF-8
keeps code point order, so ordering `str` ids is ordering their UTF-8 bytes
(the "bytewise" order of §1.2).
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from operator import itemgetter

ALGORITHM = "DSR-1"
TICKET_TAG = "DSR1"
DEFAULT_RESERVE_RATIO = "0.1"

# `[0-9]` rather than `\d`: \d also matches full-width and other Unicode digits.
_SEED = re.compile(r"[0-9]{20,64}")
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]{1,6}))?")
# §1.2: the separators of the canonical CSV and of the ticket preimage, every
# character str.splitlines() breaks on, and NUL.
FORBIDDEN = (",", "|", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00")


class DrawError(ValueError):
    """Invalid input to the draw; the message is Chinese. The reference's own class
    (it imports nothing from the engine), with the engine's messages."""


# ---------------------------------------------------------------- §1.1 seed


def validate_seed(seed: str) -> str:
    """§1.1: 20 to 64 ASCII digits, kept as text ("007..." and "7..." differ)."""
    if not isinstance(seed, str):
        raise DrawError(f"随机种子必须是文本（数字串），不能是 {type(seed).__name__} 类型")
    if not _SEED.fullmatch(seed):
        if not seed:
            raise DrawError("随机种子不能为空")
        if not all("0" <= c <= "9" for c in seed):
            raise DrawError("随机种子只能由半角数字 0-9 组成（不得含全角数字、空格或其他字符）")
        raise DrawError(f"随机种子须为 20 至 64 位数字，当前为 {len(seed)} 位")
    return seed


# ---------------------------------------------------------------- §1.2 frame, §1.3 tickets


def check_token(value: str, what: str) -> None:
    """§1.2, §1.3: a plan code, period or stratum label is non-empty text without a forbidden character."""
    if not isinstance(value, str) or not value:
        raise DrawError(f"{what}不能为空")
    for ch in FORBIDDEN:
        if ch in value:
            raise DrawError(f"{what}“{value!r}”含有不允许的字符 {ch!r}（不得含逗号、竖线、换行）")


def check_ids(ids: Sequence[str], what: str = "对象标识") -> None:
    """§1.2: every id is non-empty text without a forbidden character.

    The forbidden characters are looked for in all ids joined by a newline (one
    scan in C rather than one per id); the message names the first id, in the
    given order, holding the first forbidden character, in FORBIDDEN's order."""
    try:
        joined = "\n".join(ids)
    except TypeError:
        raise DrawError(f"{what}必须是文本") from None
    for ch in FORBIDDEN:
        if ch != "\n" and ch in joined:
            bad = next(x for x in ids if ch in x)
            raise DrawError(f"{what}“{bad!r}”含有不允许的字符 {ch!r}（不得含逗号、竖线、换行）")
    if ids and joined.count("\n") != len(ids) - 1:
        raise DrawError(f"{what}不得含换行符")
    if "" in ids:
        raise DrawError(f"{what}不能为空")
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        raise DrawError(f"{what}含有无法以 UTF-8 编码的字符") from None


def ticket_prefix(seed: str, plan_code: str, period: str) -> bytes:
    """§1.3: UTF-8 of "DSR1|seed|plan_code|period|", the part of the preimage all entities share."""
    validate_seed(seed)
    check_token(plan_code, "计划编号")
    check_token(period, "抽查期间")
    return f"{TICKET_TAG}|{seed}|{plan_code}|{period}|".encode("utf-8")


def tickets(seed: str, plan_code: str, period: str, ids: Sequence[str]) -> list[str]:
    """§1.3: ticket = SHA-256(UTF-8("DSR1|" + seed + "|" + plan_code + "|" + period + "|" + entity_id)),
    as 64 lowercase hex digits, for each id in the given order."""
    prefix = ticket_prefix(seed, plan_code, period)
    check_ids(ids)
    return _tickets(prefix, ids)


def _tickets(prefix: bytes, ids: Sequence[str]) -> list[str]:
    """§1.3 for ids already checked, `prefix` from `ticket_prefix`."""
    # A copy of a hasher already fed the prefix, rather than hashing prefix + id anew: the
    # same bytes hashed, without building the preimage (a verifier does this per entity).
    head = hashlib.sha256(prefix)
    out = []
    for e in ids:
        h = head.copy()
        h.update(e.encode("utf-8"))
        out.append(h.hexdigest())
    return out


def ticket(seed: str, plan_code: str, period: str, entity_id: str) -> str:
    """§1.3: the ticket of one entity."""
    return tickets(seed, plan_code, period, [entity_id])[0]


def parse_frame(data: bytes) -> list[tuple[str, str]]:
    """§1.2: the (entity_id, stratum) rows of frame.csv: UTF-8 lines "entity_id,stratum\\n", no header.

    Raises UnicodeDecodeError for bytes that are not UTF-8. Whether the rows are in
    canonical form is `canonical_frame(rows) == data`, or `is_canonical(rows)`."""
    text = data.decode("utf-8")
    if not text:
        return []
    if not text.endswith("\n"):
        raise DrawError("抽查名录文件必须以换行结尾")
    body = text[:-1]
    # One split of the whole text rather than one per line (a frame has a million lines): the
    # fields alternate id, stratum. That pairing is the lines' exactly when every line has one
    # comma, which holds when the pairs joined back give the text; otherwise the per-line
    # reading below names the first bad line.
    flat = body.replace("\n", ",").split(",")
    rows = list(zip(flat[0::2], flat[1::2]))
    if len(flat) == 2 * len(rows) and "\n".join(map(",".join, rows)) == body:
        return rows
    rows = []
    for no, line in enumerate(body.split("\n"), start=1):
        parts = line.split(",")
        if len(parts) != 2:
            raise DrawError(f"抽查名录第 {no} 行格式错误：应为“对象标识,分层”")
        rows.append((parts[0], parts[1]))
    return rows


def _sorted_checked(rows: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """§1.2: the rows checked (ids, labels, no duplicate id) and sorted by entity_id."""
    check_ids([e for e, _ in rows])
    for label in {s for _, s in rows}:
        if not isinstance(label, str):
            raise DrawError(f"分层标签必须是文本，当前为 {type(label).__name__}")
        check_token(label, "分层标签")
    out = sorted(rows, key=itemgetter(0))
    for (a, _), (b, _) in pairwise(out):
        if a == b:
            raise DrawError(f"抽查名录中对象 {a} 重复出现")
    return out


def canonical_frame(rows: Sequence[tuple[str, str]]) -> bytes:
    """§1.2: the canonical frame: "entity_id,stratum\\n" lines sorted by entity_id, UTF-8, no header."""
    return "".join(f"{e},{s}\n" for e, s in _sorted_checked(rows)).encode("utf-8")


def is_canonical(rows: list[tuple[str, str]]) -> bool:
    """§1.2: whether the rows `parse_frame(data)` read are a canonical frame, i.e.
    `canonical_frame(rows) == data`, raising as canonical_frame does (ids, labels, duplicates).

    The same test without writing the frame out again: parse_frame reads exactly the lines
    of `data`, and writing them back in their order gives `data`, so the bytes are canonical
    exactly when the rows are already in canonical order."""
    return _sorted_checked(rows) == rows


# ---------------------------------------------------------------- §1.4 k, §1.6 reserves


def parse_decimal(text: str, *, what: str = "抽查比例", max_one: bool = True) -> Fraction:
    """§1.4: the exact value of a decimal string with at most 6 decimals ("0.05", "1", "0.333333")."""
    if not isinstance(text, str):
        raise DrawError(f"{what}须以文本形式给出（如 \"0.05\"），当前为 {type(text).__name__}")
    m = _DECIMAL.fullmatch(text)
    if not m:
        raise DrawError(f"{what}“{text}”格式错误：须为最多 6 位小数的十进制数，如 0.05")
    whole, frac = m.group(1), m.group(2) or ""
    value = Fraction(int(whole + frac), 10 ** len(frac))
    if max_one and value > 1:
        raise DrawError(f"{what}“{text}”不能大于 1")
    return value


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def stratum_k(size: int, ratio: str | None, count: int | None) -> int:
    """§1.4: k = ceil(N × p), exactly (a Fraction, no floating point), or min(c, N) for a count c."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise DrawError("分层规模必须是非负整数")
    if (ratio is None) == (count is None):
        raise DrawError("每个分层须且只须指定抽查比例或抽查数量之一")
    if ratio is not None:
        return _ceil(size * parse_decimal(ratio))
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise DrawError("抽查数量必须是非负整数")
    return min(count, size)


def reserve_count(k: int, available: int, reserve_ratio: str) -> int:
    """§1.6: r = max(1, ceil(k × reserve_ratio)) when k > 0, at most the `available` entities left; 0 when k = 0."""
    if k == 0:
        return 0
    r = max(1, _ceil(k * parse_decimal(reserve_ratio, what="备选比例", max_one=False)))
    return min(r, available)


def batch_of(position: int, batches: int, total: int) -> int:
    """§1.5: the batch of the entity at 0-based `position` of `total` selected: floor(i × B / K) + 1."""
    return position * batches // total + 1


# ---------------------------------------------------------------- the draw


@dataclass(frozen=True)
class Rule:
    """A stratum's rule: a ratio (decimal text) or a count, exactly one of them."""

    ratio: str | None = None
    count: int | None = None


@dataclass(frozen=True)
class Stratum:
    stratum: str
    size: int
    ratio: str | None
    count: int | None
    k: int
    cutoff: str | None  # the k-th smallest ticket; None when k = 0
    reserve_count: int


@dataclass(frozen=True)
class Selected:
    entity_id: str
    stratum: str
    rank: int  # 1-based position in the draw order
    batch: int  # 1-based
    ticket: str


@dataclass(frozen=True)
class Reserve:
    entity_id: str
    stratum: str
    reserve_rank: int  # 1-based, within its stratum
    ticket: str


@dataclass(frozen=True)
class Draw:
    frame_sha256: str
    public_frame_sha256: str
    frame_size: int
    strata: list[Stratum]  # by label
    selected: list[Selected]  # in draw order
    reserves: list[Reserve]  # by stratum label, then reserve_rank
    batches: int
    reserve_ratio: str


def draw(
    seed: str,
    plan_code: str,
    period: str,
    frame: Sequence[tuple[str, str]],
    rules: Mapping[str, Rule],
    batches: int = 1,
    reserve_ratio: str = DEFAULT_RESERVE_RATIO,
) -> Draw:
    """DSR-1 on the frozen frame [(entity_id, stratum), ...] (any row order), §1.1-§1.6.

    Every stratum of the frame needs a rule; a rule for a stratum absent from the
    frame gives a stratum of size 0."""
    _check_parameters(seed, plan_code, period, rules, batches, reserve_ratio)
    return _draw_sorted(seed, plan_code, period, _sorted_checked(frame), rules, batches, reserve_ratio, None)


def draw_canonical(seed: str, plan_code: str, period: str, rows: Sequence[tuple[str, str]], rules: Mapping[str, Rule],
                   batches: int, reserve_ratio: str, frame_bytes: bytes) -> Draw:
    """`draw` on a frame read from canonical bytes: `rows` as `parse_frame(frame_bytes)` read
    them, `is_canonical(rows)` true (sorted, checked). A verifier has read and checked frame.csv already; this
    does not check, sort and write out its million rows a second time."""
    _check_parameters(seed, plan_code, period, rules, batches, reserve_ratio)
    return _draw_sorted(seed, plan_code, period, rows, rules, batches, reserve_ratio, frame_bytes)


def _check_parameters(seed: str, plan_code: str, period: str, rules: Mapping[str, Rule], batches: int,
                      reserve_ratio: str) -> None:
    ticket_prefix(seed, plan_code, period)  # checks the seed (§1.1), plan code and period (§1.3) first
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 1:
        raise DrawError("检查批次数必须是不小于 1 的整数")
    parse_decimal(reserve_ratio, what="备选比例", max_one=False)
    for label in rules:
        check_token(label, "分层标签")


def _draw_sorted(seed: str, plan_code: str, period: str, rows: Sequence[tuple[str, str]], rules: Mapping[str, Rule],
                 batches: int, reserve_ratio: str, frame_bytes: bytes | None) -> Draw:
    """§1.2-§1.6 on rows sorted and checked; `frame_bytes` their canonical bytes if known."""
    # §1.2: the frame and the public frame, canonical, and their digests.
    if frame_bytes is None:
        frame_bytes = "".join(f"{e},{s}\n" for e, s in rows).encode("utf-8")
    ids = [e for e, _ in rows]
    public_bytes = "".join(("\n".join(ids), "\n") if ids else ()).encode("utf-8")

    labels = sorted({s for _, s in rows} | set(rules))
    for label in labels:
        rule = rules.get(label)
        if rule is None:
            raise DrawError(f"分层“{label}”没有抽查比例或数量（请为其设置规则或默认规则）")
        if (rule.ratio is None) == (rule.count is None):
            raise DrawError(f"分层“{label}”须且只须指定抽查比例或抽查数量之一")

    # §1.3: each entity's ticket, beside its id, in the list of its stratum.
    members: dict[str, list[tuple[str, str]]] = {label: [] for label in labels}
    for (e, s), t in zip(rows, _tickets(ticket_prefix(seed, plan_code, period), ids)):
        members[s].append((t, e))

    strata: list[Stratum] = []
    chosen: list[tuple[str, str, str]] = []  # (ticket, entity_id, stratum)
    reserves: list[Reserve] = []
    for label in labels:
        rule = rules[label]
        size = len(members[label])
        k = stratum_k(size, rule.ratio, rule.count)  # §1.4
        r = reserve_count(k, size - k, reserve_ratio)  # §1.6
        # §1.4, §1.6: the k + r smallest (ticket, entity_id) of the stratum, in that order
        # (nsmallest is sorted(...)[:k + r] without sorting the rest).
        first = heapq.nsmallest(k + r, members[label])
        cutoff = first[k - 1][0] if k else None
        strata.append(Stratum(label, size, rule.ratio, rule.count, k, cutoff, r))
        chosen += [(t, e, label) for t, e in first[:k]]
        reserves += [Reserve(e, label, i, t) for i, (t, e) in enumerate(first[k:], start=1)]

    # §1.5: all selected by (ticket, entity_id); batches follow the draw order.
    chosen.sort()
    total = len(chosen)
    selected = [Selected(e, label, i + 1, batch_of(i, batches, total), t) for i, (t, e, label) in enumerate(chosen)]
    return Draw(
        frame_sha256=hashlib.sha256(frame_bytes).hexdigest(),
        public_frame_sha256=hashlib.sha256(public_bytes).hexdigest(),
        frame_size=len(rows),
        strata=strata,
        selected=selected,
        reserves=reserves,
        batches=batches,
        reserve_ratio=reserve_ratio,
    )
