"""DSR-1 engine: tickets, seeds, frames, k, cutoffs, batches, reserves, against the reference
implementation (scheduler/draw/reference.py)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scheduler.draw import fast as draw
from scheduler.draw import reference
from scheduler.draw.fast import (
    DrawError,
    StratumRule,
    canonical_frame,
    canonical_public_frame,
    new_system_seed,
    run_draw,
    stratum_k,
    ticket,
    tickets_digests,
    validate_seed,
)

SEED = "31415926535897932384"


def make_frame(n: int, strata: str = "ABCD", seed: int = 0) -> list[tuple[str, str]]:
    rnd = random.Random(seed)
    return [(f"9111011700{i:07d}X", rnd.choice(strata)) for i in range(n)]


def reference_draw(seed, plan, period, frame, rules, batches=1, reserve_ratio="0.1"):
    """The reference's draw, as the tuples of `as_tuples`."""
    ref_rules = {lab: reference.Rule(r.ratio, r.count) for lab, r in rules.items()}
    return as_tuples(reference.draw(seed, plan, period, frame, ref_rules, batches, reserve_ratio))


def as_tuples(result):
    strata = {s.stratum: (s.size, s.k, s.cutoff, s.reserve_count) for s in result.strata}
    sel = [(s.entity_id, s.stratum, s.rank, s.batch, s.ticket) for s in result.selected]
    res = [(r.entity_id, r.stratum, r.reserve_rank, r.ticket) for r in result.reserves]
    return strata, sel, res


RULES = {"A": StratumRule("0.02"), "B": StratumRule("0.1"), "C": StratumRule(count=25), "D": StratumRule("1")}


# ------------------------------------------------------------------ seeds


def test_seed_accepts_20_and_64_digits():
    assert validate_seed("0" * 20) == "0" * 20
    assert validate_seed("9" * 64) == "9" * 64


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("1" * 19, "19 位"),
        ("1" * 65, "65 位"),
        ("1234567890123456789a", "半角数字"),
        ("１２３４５６７８９０１２３４５６７８９０", "全角"),
        (" 12345678901234567890", "半角数字"),
        ("", "不能为空"),
    ],
)
def test_invalid_seeds_rejected_in_chinese(bad, fragment):
    with pytest.raises(DrawError) as e:
        validate_seed(bad)
    assert fragment in str(e.value)


def test_seed_must_be_a_string():
    with pytest.raises(DrawError):
        validate_seed(12345678901234567890)  # type: ignore[arg-type]


def test_leading_zeros_make_a_different_seed():
    e = "91110108551385082Q"
    assert ticket("00" + "1" * 20, "P", "2025", e) != ticket("1" * 20, "P", "2025", e)
    assert ticket("0" + "1" * 21, "P", "2025", e) != ticket("1" * 22, "P", "2025", e)


def test_system_seed_is_32_ascii_digits_and_varies():
    seeds = {new_system_seed() for _ in range(5)}
    assert len(seeds) == 5
    for s in seeds:
        assert len(s) == 32 and validate_seed(s) == s


# ------------------------------------------------------------------ tickets and frames


def test_ticket_is_sha256_of_the_normative_preimage():
    e = "914403001922038216"
    want = hashlib.sha256(f"DSR1|{SEED}|PG-1|2025Q1|{e}".encode("utf-8")).hexdigest()
    assert ticket(SEED, "PG-1", "2025Q1", e) == want
    assert tickets_digests(SEED, "PG-1", "2025Q1", [e]) == [bytes.fromhex(want)]


def test_plan_and_period_give_independent_tickets():
    e = "914403001922038216"
    assert len({ticket(SEED, p, q, e) for p in ("P1", "P2") for q in ("2025Q1", "2025Q2")}) == 4


@pytest.mark.parametrize("bad", ["P|1", "P\n1", ""])
def test_plan_code_with_separator_rejected(bad):
    with pytest.raises(DrawError):
        ticket(SEED, bad, "2025", "914403001922038216")


def test_canonical_frame_sorted_bytewise_without_header():
    rows = [("b2", "B"), ("a1", "A/110117100"), ("B0", "C"), ("中1", "D")]
    text = canonical_frame(rows).decode("utf-8")
    assert text == "B0,C\na1,A/110117100\nb2,B\n中1,D\n"
    assert canonical_public_frame([r[0] for r in rows]) == b"B0\na1\nb2\n\xe4\xb8\xad1\n"
    assert canonical_frame([]) == b""


def test_variable_length_ids_sort_bytewise():
    ids = ["a", "ab", "a" * 9, "b", "a" * 17, "aa", "Z", "a\u00e9", "a~"]
    got = canonical_public_frame(ids).decode("utf-8").split("\n")[:-1]
    assert got == sorted(ids, key=lambda x: x.encode("utf-8"))


@pytest.mark.parametrize(
    "rows",
    [
        [("a,1", "A")],
        [("a|1", "A")],
        [("a\n1", "A")],
        [("a\r1", "A")],
        [("a\u20281", "A")],
        [("a1", "A,B")],
        [("a1", "A|B")],
        [("a1", "A\nB")],
        [("", "A")],
        [("a1", "")],
        [("a1", "A"), ("a1", "B")],
    ],
)
def test_bad_frames_rejected(rows):
    with pytest.raises(DrawError):
        canonical_frame(rows)


def test_duplicate_id_named():
    with pytest.raises(DrawError, match="91110108551385082Q"):
        run_draw(SEED, "P", "2025", [("91110108551385082Q", "A"), ("x", "A"), ("91110108551385082Q", "B")],
                 {"A": StratumRule("1"), "B": StratumRule("1")})


# ------------------------------------------------------------------ k


def test_stratum_k_examples():
    assert stratum_k(5, "0.25", None) == 2
    assert stratum_k(100, "0.03", None) == 3
    assert stratum_k(101, "0.03", None) == 4
    assert stratum_k(3, "0.333333", None) == 1
    assert stratum_k(1_000_001, "0.000001", None) == 2
    assert stratum_k(7, "1", None) == 7 and stratum_k(7, "1.0", None) == 7
    assert stratum_k(7, "0", None) == 0
    assert stratum_k(7, None, 3) == 3 and stratum_k(2, None, 3) == 2
    assert stratum_k(0, "0.5", None) == 0


@pytest.mark.parametrize("bad", ["1.5", "0.1234567", "-0.1", "0,1", "1e-2", ".5", "０.5", " 0.5"])
def test_bad_ratios_rejected(bad):
    with pytest.raises(DrawError):
        stratum_k(10, bad, None)


def test_rule_needs_exactly_one_of_ratio_and_count():
    with pytest.raises(DrawError):
        stratum_k(10, "0.1", 3)
    with pytest.raises(DrawError):
        stratum_k(10, None, None)
    with pytest.raises(DrawError):
        stratum_k(10, 0.1, None)  # type: ignore[arg-type]


@given(size=st.integers(0, 10**9), num=st.integers(0, 10**6))
def test_k_is_exact_ceiling_never_above_n(size, num):
    ratio = "1" if num == 10**6 else "0." + f"{num:06d}"
    k = stratum_k(size, ratio, None)
    assert 0 <= k <= size
    assert k == -((-size * num) // 10**6)
    assert k * 10**6 >= size * num > (k - 1) * 10**6 or k == 0
    assert stratum_k(size, "1", None) == size


# ------------------------------------------------------------------ the draw vs the reference


@pytest.mark.parametrize("n, batches, seed", [(0, 1, 0), (1, 3, 1), (57, 1, 2), (400, 4, 3), (3000, 7, 4)])
def test_run_draw_matches_the_reference(n, batches, seed):
    frame = make_frame(n, seed=seed)
    rules = dict(RULES)
    got = as_tuples(run_draw(SEED, "PG-7", "2025Q3", frame, rules, batches=batches, reserve_ratio="0.15"))
    assert got == reference_draw(SEED, "PG-7", "2025Q3", frame, rules, batches, "0.15")


# Ids and labels of every width and script: ASCII, two- and three-byte UTF-8, and characters that
# sort differently by UTF-16 than by UTF-8 (U+FF21 against U+1F600), so the order is really bytewise.
ID_CHARS = st.sampled_from(list("0123456789ABXYZabz~-_") + ["é", "中", "Ｚ", "\U0001F600"])
LABELS = ["A", "B", "D/110117100", "风险C", "Ｚ"]


@st.composite
def draws(draw_):
    ids = draw_(st.lists(st.text(ID_CHARS, min_size=1, max_size=20), max_size=80, unique=True))
    frame = [(e, draw_(st.sampled_from(LABELS))) for e in ids]
    rules = {}
    for lab in sorted({s for _, s in frame} | set(draw_(st.lists(st.sampled_from(LABELS), max_size=2)))):
        if draw_(st.booleans()):
            num = draw_(st.integers(0, 10**6))
            rules[lab] = StratumRule(ratio="1" if num == 10**6 else f"0.{num:06d}".rstrip("0").rstrip(".") or "0")
        else:
            rules[lab] = StratumRule(count=draw_(st.integers(0, 90)))
    seed = draw_(st.text("0123456789", min_size=20, max_size=64))
    plan = draw_(st.sampled_from(["PG-1", "计划-2026", "P"]))
    reserve_ratio = draw_(st.sampled_from(["0", "0.1", "0.05", "0.5", "1", "2.5"]))
    return seed, plan, frame, rules, draw_(st.integers(1, 9)), reserve_ratio


@settings(max_examples=150, deadline=None)
@given(draws())
def test_engine_equals_the_reference(case):
    """The fast engine and the reference agree on everything a certificate states."""
    seed, plan, frame, rules, batches, reserve_ratio = case
    got = run_draw(seed, plan, "2026-12", frame, rules, batches=batches, reserve_ratio=reserve_ratio)
    ref_rules = {lab: reference.Rule(r.ratio, r.count) for lab, r in rules.items()}
    want = reference.draw(seed, plan, "2026-12", frame, ref_rules, batches, reserve_ratio)
    assert as_tuples(got) == as_tuples(want)
    assert (got.frame_sha256, got.public_frame_sha256, got.frame_size) == \
        (want.frame_sha256, want.public_frame_sha256, want.frame_size)
    assert got.frame_bytes == reference.canonical_frame(frame)
    assert sorted(reference.parse_frame(got.frame_bytes)) == sorted(frame)
    ids = [e for e, _ in frame]
    assert reference.tickets(seed, plan, "2026-12", ids) == [d.hex() for d in tickets_digests(seed, plan, "2026-12", ids)]


@pytest.mark.parametrize(
    "call",
    [
        dict(seed="１" * 20),
        dict(seed="1" * 19),
        dict(plan="P|1"),
        dict(period=""),
        dict(frame=[("a,1", "A")]),
        dict(frame=[("a|1", "A")]),
        dict(frame=[("a\r1", "A")]),
        dict(frame=[("a\u20281", "A")]),
        dict(frame=[("", "A")]),
        dict(frame=[("a1", "A|B")]),
        dict(frame=[("a1", "")]),
        dict(frame=[("b1", "A"), ("a1", "A"), ("b1", "A")]),
        dict(rules={"A": StratumRule("1.5")}),
        dict(rules={"A": StratumRule("0.1234567")}),
        dict(rules={"A": StratumRule(0.5)}),
        dict(rules={"A": StratumRule(count=-1)}),
        dict(rules={"A": StratumRule("0.5", 3)}),
        dict(rules={}),
        dict(rules={"A": StratumRule("1"), "Z,": StratumRule("1")}),
        dict(batches=0),
        dict(reserve_ratio="0,1"),
    ],
)
def test_engine_and_reference_refuse_bad_input_in_the_same_words(call):
    """The verifier reports a malformed package with the reference's messages: they are the engine's."""
    args = dict(seed=SEED, plan="P", period="2026-12", frame=[("a1", "A"), ("b1", "A")], rules={"A": StratumRule("1")},
                batches=1, reserve_ratio="0.1")
    args.update(call)
    with pytest.raises(DrawError) as fast_error:
        run_draw(args["seed"], args["plan"], args["period"], args["frame"], args["rules"], batches=args["batches"],
                 reserve_ratio=args["reserve_ratio"])
    with pytest.raises(reference.DrawError) as ref_error:
        reference.draw(args["seed"], args["plan"], args["period"], args["frame"],
                       {lab: reference.Rule(r.ratio, r.count) for lab, r in args["rules"].items()},
                       args["batches"], args["reserve_ratio"])
    assert str(ref_error.value) == str(fast_error.value)


def test_reference_computes_the_documented_example():
    """docs/draw-algorithm.md §2, read from the text and recomputed by the reference (tests/test_certificate.py
    holds the engine to it): valid seed, plan code, period, entity ids and rules, every number as printed."""
    import re

    from scheduler.draw.service import validate_period
    from scheduler.library.uscc import is_valid

    doc = (Path(__file__).resolve().parent.parent / "docs" / "draw-algorithm.md").read_text(encoding="utf-8")
    text = doc[doc.index("## 2. Worked example"):doc.index("## 3.")]
    seed, plan, period = re.search(r"Seed `([0-9]+)`, plan code `([^`]+)`, period `([^`]+)`", text).groups()
    validate_period(period)
    ratios = dict(re.findall(r"`([A-D])` with ratio `([0-9.]+)`", text))
    batches = int(re.search(r"(\d+) batches", text).group(1))
    table = re.findall(r"^\| (\S+) \| ([A-D]) \| `([0-9a-f]{16})…` \| (.*) \|$", text, flags=re.M)
    assert len(table) == 8 and all(is_valid(e) for e, _, _, _ in table)
    r = reference.draw(seed, plan, period, [(e, st) for e, st, _, _ in table],
                       {lab: reference.Rule(p) for lab, p in ratios.items()}, batches=batches)
    assert r.frame_sha256 in text
    result = {s.entity_id: f"selected, rank {s.rank}, batch {s.batch}" for s in r.selected}
    result |= {x.entity_id: f"reserve {x.reserve_rank}" for x in r.reserves}
    for e, _, t, printed in table:
        assert reference.ticket(seed, plan, period, e)[:16] == t and result.get(e, "-") == printed
    for st in r.strata:
        assert f"cutoff `{st.cutoff[:16]}…`" in text.replace("\n  ", " ")
        assert f"`N = {st.size}`" in text and f"= {st.k}`" in text.replace("\n  ", " ")


def test_row_order_does_not_matter():
    frame = make_frame(800)
    shuffled = frame[:]
    random.Random(9).shuffle(shuffled)
    a = run_draw(SEED, "P", "2025", frame, RULES, batches=3)
    b = run_draw(SEED, "P", "2025", shuffled, RULES, batches=3)
    assert as_tuples(a) == as_tuples(b)
    assert a.frame_sha256 == b.frame_sha256 and a.frame_bytes == b.frame_bytes


def test_larger_ratio_keeps_smaller_selection_as_prefix():
    frame = make_frame(1500, strata="AB")
    small = run_draw(SEED, "P", "2025", frame, {"A": StratumRule("0.05"), "B": StratumRule("0.1")})
    large = run_draw(SEED, "P", "2025", frame, {"A": StratumRule("0.2"), "B": StratumRule("0.3")})
    for lab in "AB":
        s = [x.entity_id for x in small.selected if x.stratum == lab]
        big = [x.entity_id for x in large.selected if x.stratum == lab]
        assert len(big) > len(s) > 0 and big[: len(s)] == s
        # The reserves of the small draw are the next ones of the large draw.
        res = [x.entity_id for x in small.reserves if x.stratum == lab]
        assert big[len(s) : len(s) + len(res)] == res


def test_removing_an_unrelated_entity_changes_no_other_ticket():
    frame = make_frame(300)
    full = {s.entity_id: s.ticket for s in run_draw(SEED, "P", "2025", frame, {}, default_rule=StratumRule("1")).selected}
    gone = frame[17][0]
    rest = run_draw(SEED, "P", "2025", frame[:17] + frame[18:], {}, default_rule=StratumRule("1"))
    assert len(rest.selected) == 299
    assert all(full[s.entity_id] == s.ticket for s in rest.selected)
    assert gone not in {s.entity_id for s in rest.selected}


def test_stratum_without_rule_is_an_error_unless_default():
    frame = [("a1", "A"), ("b1", "B")]
    with pytest.raises(DrawError, match="B"):
        run_draw(SEED, "P", "2025", frame, {"A": StratumRule("1")})
    r = run_draw(SEED, "P", "2025", frame, {"A": StratumRule("1")}, default_rule=StratumRule(count=0))
    assert [(s.stratum, s.k) for s in r.strata] == [("A", 1), ("B", 0)]


def test_rule_for_absent_stratum_gives_empty_stratum():
    r = run_draw(SEED, "P", "2025", [("a1", "A")], {"A": StratumRule("1"), "Z": StratumRule("0.5")})
    z = r.strata[1]
    assert (z.stratum, z.size, z.k, z.cutoff, z.reserve_count) == ("Z", 0, 0, None, 0)


def test_reserves_count_and_cap():
    frame = [(f"e{i:03d}", "A") for i in range(10)]
    r = run_draw(SEED, "P", "2025", frame, {"A": StratumRule(count=9)}, reserve_ratio="0.5")
    assert r.strata[0].reserve_count == 1  # ceil(4.5) = 5, capped by the 1 left
    r = run_draw(SEED, "P", "2025", frame, {"A": StratumRule(count=3)}, reserve_ratio="0")
    assert r.strata[0].reserve_count == 1  # at least one reserve when k > 0
    r = run_draw(SEED, "P", "2025", frame, {"A": StratumRule(count=0)})
    assert r.strata[0].reserve_count == 0 and r.reserves == []


def test_exact_order_resolves_equal_8_byte_prefixes():
    # Craft digests sharing their first 8 bytes (impossible to get from SHA-256
    # on purpose) to exercise the exact tie path, including a full-digest tie.
    same = b"\x00" * 8
    digests = [same + b"\x09" * 24, same + b"\x01" * 24, b"\x00" * 7 + b"\x01" + b"\x00" * 24,
               same + b"\x01" * 24, b"\xff" * 32]
    ids = np.array([b"e0", b"e1", b"e2", b"e0a", b"e4"])
    tk = draw._Tickets(b"".join(digests), ids)
    order = tk.exact_order(np.arange(5)).tolist()
    assert order == sorted(range(5), key=lambda i: (digests[i], bytes(ids[i])))
    assert order == [3, 1, 0, 2, 4]  # "e0a" < "e1" breaks the full-digest tie
    assert tk.smallest(np.arange(5), 2).tolist() == [3, 1]


# ------------------------------------------------------------------ properties


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 60), min_size=1, max_size=4),
    nums=st.lists(st.integers(0, 10**6), min_size=4, max_size=4),
    batches=st.integers(1, 9),
    seed=st.text("0123456789", min_size=20, max_size=64),
)
def test_cutoff_and_batches_invariants(sizes, nums, batches, seed):
    frame, rules = [], {}
    for j, n in enumerate(sizes):
        lab = f"S{j}"
        frame += [(f"{lab}-{i}", lab) for i in range(n)]
        rules[lab] = StratumRule("1" if nums[j] == 10**6 else f"0.{nums[j]:06d}")
    r = run_draw(seed, "P", "2025", frame, rules, batches=batches)
    tk = dict(zip((e for e, _ in frame), (d.hex() for d in tickets_digests(seed, "P", "2025", [e for e, _ in frame]))))
    selected = {s.entity_id for s in r.selected}
    for s in r.strata:
        assert s.k == stratum_k(s.size, s.ratio, None)
        members = [e for e, lab in frame if lab == s.stratum]
        assert {e for e in members if s.cutoff is not None and tk[e] <= s.cutoff} == selected & set(members)
    K = len(r.selected)
    assert K == sum(s.k for s in r.strata)
    assert [s.rank for s in r.selected] == list(range(1, K + 1))
    assert [s.ticket for s in r.selected] == sorted(s.ticket for s in r.selected)
    b = [s.batch for s in r.selected]
    assert b == sorted(b)
    if K:
        counts = [b.count(x) for x in range(1, batches + 1)]
        assert max(counts) - min(counts) <= 1
        if K >= batches:
            assert set(b) == set(range(1, batches + 1))


@given(st.lists(st.tuples(st.text("0123456789ABCDEFGH", min_size=1, max_size=18), st.sampled_from("ABCD")),
                min_size=0, max_size=60, unique_by=lambda r: r[0]),
       st.sampled_from(["0", "0.1", "0.5", "1"]), st.integers(1, 4))
def test_frozen_archive_path_equals_run_draw(rows, ratio, batches):
    """`rank` on the frame of the canonical bytes (`frame_of_archive`) gives exactly run_draw's result."""
    rules = {c: draw.StratumRule(ratio=ratio) for c in "ABCD"}
    a = draw.run_draw(SEED, "P", "2026-12", rows, rules, batches=batches)
    fb = draw.canonical_frame(rows)
    b = draw.rank(SEED, "P", "2026-12", draw.frame_of_archive(fb), rules, batches=batches)
    assert a == b and a.public_frame_sha256 == b.public_frame_sha256


def test_frozen_archive_path_refuses_non_canonical_bytes():
    with pytest.raises(draw.DrawError, match="规范格式"):
        draw.rank(SEED, "P", "2026-12", draw.frame_of_archive(b"B1,A\nA1,A\n"), {"A": draw.StratumRule(ratio="1")})
    with pytest.raises(draw.DrawError, match="规范格式"):
        draw.rank(SEED, "P", "2026-12", draw.frame_of_archive(b"A1,A\nB1"), {"A": draw.StratumRule(ratio="1")})


def _parse_frame_line_by_line(data: bytes) -> list[tuple[str, str]]:
    """parse_frame as §1.2 reads it, one line at a time (the reference reads the whole text at once)."""
    text = data.decode("utf-8")
    if not text:
        return []
    if not text.endswith("\n"):
        raise reference.DrawError("抽查名录文件必须以换行结尾")
    rows = []
    for no, line in enumerate(text[:-1].split("\n"), start=1):
        parts = line.split(",")
        if len(parts) != 2:
            raise reference.DrawError(f"抽查名录第 {no} 行格式错误：应为“对象标识,分层”")
        rows.append((parts[0], parts[1]))
    return rows


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab,\n", max_size=6), max_size=6))
def test_parse_frame_and_is_canonical_equal_their_line_by_line_definition(lines):
    """Lines of 0 and 2 commas that pair up when the text is split at once are still refused,
    naming the same line; is_canonical(rows) is canonical_frame(rows) == data."""
    data = "".join(f"{x}\n" for x in lines).encode("utf-8")
    try:
        want = _parse_frame_line_by_line(data)
    except reference.DrawError as exc:
        with pytest.raises(reference.DrawError) as got:
            reference.parse_frame(data)
        assert str(got.value) == str(exc)
        return
    rows = reference.parse_frame(data)
    assert rows == want
    try:
        canonical = reference.canonical_frame(rows) == data
    except reference.DrawError as exc:
        with pytest.raises(reference.DrawError) as got:
            reference.is_canonical(rows)
        assert str(got.value) == str(exc)
        return
    assert reference.is_canonical(rows) == canonical


def test_a_line_without_comma_beside_one_with_two_is_refused():
    with pytest.raises(reference.DrawError, match="第 1 行"):
        reference.parse_frame(b"a\nb,A,c\n")


def test_draw_canonical_equals_draw():
    rows = sorted(make_frame(3000), key=lambda r: r[0])
    data = reference.canonical_frame(rows)
    rules = {s: reference.Rule(ratio="0.05") for s in "ABCD"}
    assert reference.is_canonical(reference.parse_frame(data))
    assert (reference.draw_canonical(SEED, "PG-1", "2026-01", reference.parse_frame(data), rules, 3, "0.2", data)
            == reference.draw(SEED, "PG-1", "2026-01", rows, rules, 3, "0.2"))
