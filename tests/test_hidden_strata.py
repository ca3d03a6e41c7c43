"""The public package hides the risk classes (docs/draw-algorithm.md §3.2-§3.4).

An attacker who holds the public package tries to recover which entities share a
stratum. Against the former public certificate (strata S1..Sn with size, k and cutoff,
reserves by ticket) the cutoff heuristic pins entities to strata; against today's it
pins none, and two different partitions that give the same selection give public
packages that differ only in commitment values.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import pytest

from scheduler.draw import commitments as hs
from scheduler.draw import reference
from scheduler.draw.certificate import build_certificate, build_public_certificate, with_commitments, write_package
from scheduler.draw.certificate import write_public_package
from scheduler.draw.fast import StratumRule, run_draw
from scheduler.library.uscc import make
from scheduler.verify import Opening, opening_from_auditor, verify_own_case, verify_package

SEED = "31415926535897932384626433"
CLASSES = ["A", "B", "C", "D"]
RULES = {"A": StratumRule("0.03"), "B": StratumRule("0.05"), "C": StratumRule("0.15"), "D": StratumRule("0.5")}


def frame(n: int = 2000, classes=None) -> list[tuple[str, str]]:
    ids = [make("9", "1", "110117", f"MA{i:06d}") for i in range(n)]
    # A district's class mix: many A, few D.
    classes = classes or [CLASSES[0 if i % 10 < 6 else 1 if i % 10 < 8 else 2 if i % 10 < 9 else 3] for i in range(n)]
    return list(zip(ids, classes))


def auditor_cert(rows, rules=RULES):
    r = run_draw(SEED, "PG-2026-01", "2026-01", rows, rules, batches=3, reserve_ratio="0.2")
    cert = build_certificate(r, seed=SEED, seed_source="ceremony", plan_code="PG-2026-01", period="2026-01", items=[],
                             batches=3, software_version="t", frozen_at="2026-01-01T00:00:00+00:00",
                             drawn_at="2026-01-02T00:00:00+00:00")
    return r, cert


def packages(tmp_path: Path, rows, key: str | None = None, rules=RULES) -> tuple[Path, Path, dict]:
    r, cert = auditor_cert(rows, rules)
    full, commitments = with_commitments(cert, r.frame_bytes, key or secrets.token_hex(32))
    write_package(tmp_path / "auditor", full, r.frame_bytes)
    write_public_package(tmp_path / "public", build_public_certificate(full), r.public_frame_bytes, commitments)
    return tmp_path / "auditor", tmp_path / "public", full


def former_public_certificate(cert: dict) -> dict:
    """The public certificate as it was: strata S1..Sn by (cutoff, size, k), reserves by ticket."""
    order = sorted(cert["strata"], key=lambda s: (s["cutoff"] is None, s["cutoff"] or "", s["size"], s["k"]))
    return {
        "seed": cert["seed"], "plan_code": cert["plan_code"], "period": cert["period"],
        "strata": [{"label": f"S{i}", "size": s["size"], "k": s["k"], "cutoff": s["cutoff"]}
                   for i, s in enumerate(order, start=1)],
        "selected": [{k: s[k] for k in ("entity_id", "rank", "batch", "ticket")} for s in cert["selected"]],
        "reserves": sorted(({"entity_id": r["entity_id"], "ticket": r["ticket"]} for r in cert["reserves"]),
                           key=lambda r: r["ticket"]),
    }


def attack(cert: dict, ids: list[str]) -> dict[str, set[str]]:
    """The attacker: each entity's candidate public strata from what the certificate publishes.

    With per-stratum cutoffs, a selected entity can only be in a stratum whose cutoff is at
    least its ticket and an unselected one only in a stratum whose cutoff is below its ticket;
    the entity whose ticket is a cutoff is pinned. Without them, every entity may be in any
    stratum the certificate names (hidden_strata): nothing beyond the selection itself."""
    tickets = dict(zip(ids, reference.tickets(cert["seed"], cert["plan_code"], cert["period"], ids)))
    selected = {s["entity_id"] for s in cert["selected"]}
    strata = [s for s in cert.get("strata", []) if s.get("cutoff")]
    labels = {s["label"] for s in cert.get("strata", [])} | {h["label"] for h in cert.get("hidden_strata", [])}
    out = {}
    for e, t in tickets.items():
        if not strata:
            out[e] = set(labels)
            continue
        exact = {s["label"] for s in strata if s["cutoff"] == t}
        if exact:
            out[e] = exact
        elif e in selected:
            out[e] = {s["label"] for s in strata if s["cutoff"] >= t}
        else:
            out[e] = {s["label"] for s in strata if s["cutoff"] < t} | {s["label"] for s in cert["strata"] if not s["k"]}
    return out


def pinned(candidates: dict[str, set[str]]) -> int:
    return sum(1 for c in candidates.values() if len(c) == 1)


def test_the_cutoff_heuristic_pins_entities_in_the_former_package_and_none_in_todays(tmp_path):
    rows = frame()
    _, public, full = packages(tmp_path, rows)
    ids = [e for e, _ in sorted(rows)]
    before = attack(former_public_certificate(full), ids)
    assert pinned(before) >= 4  # the heuristic works: every stratum's top entity, and more
    cls = dict(rows)
    label_of = {s["label"]: s for s in former_public_certificate(full)["strata"]}
    assert all(any(label_of[lab]["cutoff"] == next(x["cutoff"] for x in full["strata"] if x["stratum"] == cls[e])
                   for lab in c) for e, c in before.items() if len(c) == 1)  # and is right
    now = json.loads((public / "certificate.json").read_text(encoding="utf-8"))
    after = attack(now, ids)
    assert pinned(after) == 0
    assert all(c == {"S1", "S2", "S3", "S4"} for c in after.values())


def test_two_partitions_with_the_same_selection_give_the_same_public_package_but_commitments(tmp_path):
    """Moving an unselected entity with a high ticket from class A to D changes the classes' sizes
    (which the former package published) but not the selection: today's public packages differ
    only in the commitment values."""
    rules = {lab: StratumRule(count=5) for lab in CLASSES}
    rows = frame(600)
    r, _ = auditor_cert(rows, rules)
    chosen = {s.entity_id for s in r.selected} | {x.entity_id for x in r.reserves}
    ids = [e for e, _ in rows]
    tk = dict(zip(ids, reference.tickets(SEED, "PG-2026-01", "2026-01", ids)))
    mover = max((e for e, c in rows if c == "A" and e not in chosen), key=tk.get)
    moved = [(e, "D" if e == mover else c) for e, c in rows]
    _, pa, fa = packages(tmp_path / "a", rows, rules=rules)
    _, pb, fb = packages(tmp_path / "b", moved, rules=rules)
    assert former_public_certificate(fa) != former_public_certificate(fb)  # the former package told them apart
    ca, cb = (json.loads((p / "certificate.json").read_text(encoding="utf-8")) for p in (pa, pb))
    hidden = ("commitments_sha256", "hidden_strata")
    assert {k: v for k, v in ca.items() if k not in hidden} == {k: v for k, v in cb.items() if k not in hidden}
    assert (pa / "public_frame.csv").read_bytes() == (pb / "public_frame.csv").read_bytes()
    assert [h["label"] for h in ca["hidden_strata"]] == [h["label"] for h in cb["hidden_strata"]]
    assert verify_package(pa).ok and verify_package(pb).ok


def test_commitments_cannot_be_opened_by_guessing_without_the_salt(tmp_path):
    rows = frame(300)
    _, public, _ = packages(tmp_path, rows)
    published = dict(hs.parse_commitments((public / "commitments.csv").read_bytes()))
    for e, _ in rows:
        guesses = {hashlib.sha256(f"{salt}|{c}|{e}".encode()).hexdigest()
                   for c in CLASSES for salt in ("", e, "0" * 64, SEED)}
        assert published[e] not in guesses
    assert len(set(published.values())) == len(published)


@pytest.mark.parametrize("key", [secrets.token_bytes(32), b"", b"k" * 64, secrets.token_bytes(65), b"\x00" * 100])
def test_commitments_csv_is_the_definition_line_by_line(key):
    """commitments_csv computes HMAC-SHA-256 on prefixed hashers (RFC 2104 split at its two
    hashes); it must equal hmac.digest through entity_salt and entity_commitment, for any key
    length (shorter than, equal to and longer than SHA-256's 64-byte block) and non-ASCII ids."""
    rows = frame(50) + [("检查对象甲", "A"), ("é", "B"), ("x" * 200, "C")]
    want = "".join(f"{e},{hs.entity_commitment(hs.entity_salt(key, e), s, e)}\n" for e, s in rows)
    assert hs.commitments_csv(key, rows) == want.encode("utf-8")


def test_the_auditor_package_recomputes_the_commitments(tmp_path):
    auditor, public, full = packages(tmp_path, frame(300))
    rep = verify_package(auditor)
    assert rep.ok and any("分层承诺" in c for c in rep.checks)
    bad = dict(full, hidden_strata=list(reversed(full["hidden_strata"])))
    write_package(tmp_path / "bad", bad, (auditor / "frame.csv").read_bytes())
    rep = verify_package(tmp_path / "bad")
    assert not rep.ok and "hidden_strata" in rep.first_difference


def _flip_last_digit(path):
    """Change the last hex digit of the file (whatever it was: the salts are random per draw)."""
    data = path.read_bytes()
    path.write_bytes(data[:-2] + (b"1" if data[-2:-1] == b"0" else b"0") + b"\n")


@pytest.mark.parametrize("tamper, says", [
    (lambda c, d: c["hidden_strata"].reverse(), "标签应为 S1"),
    (lambda c, d: c["hidden_strata"].__setitem__(slice(None), [dict(h, label=f"S{i}") for i, h in
                                                                enumerate(sorted(c["hidden_strata"], key=lambda h: h["commitment"], reverse=True), 1)]),
     "字节序"),
    (lambda c, d: c.__setitem__("strata", [{"label": "S1", "size": 1, "k": 1, "cutoff": None}]), "不得含字段 strata"),
    (lambda c, d: _flip_last_digit(d / "commitments.csv"),
     "commitments.csv 的 SHA-256"),
    (lambda c, d: c["selected"].reverse(), "rank"),
])
def test_the_public_verifier_refuses_a_tampered_package(tmp_path, tamper, says):
    _, public, _ = packages(tmp_path, frame(300))
    cert = json.loads((public / "certificate.json").read_text(encoding="utf-8"))
    tamper(cert, public)
    (public / "certificate.json").write_text(json.dumps(cert, ensure_ascii=False), encoding="utf-8")
    rep = verify_package(public)
    assert not rep.ok and says in rep.first_difference, rep.first_difference


def test_every_entity_checks_its_own_case_and_a_wrong_opening_fails(tmp_path):
    """If every entity checks its own case, every stratum's selection is its lower set of tickets."""
    rows = frame(120)
    _, public, full = packages(tmp_path, rows)
    selected = {s["entity_id"] for s in full["selected"]}
    for e, c in rows:
        own = verify_own_case(public, e, opening_from_auditor(full, e, c))
        assert own.ok, own.first_difference
        assert own.selected == (e in selected) and own.ticket == reference.ticket(SEED, "PG-2026-01", "2026-01", e)
    e, c = next((e, c) for e, c in rows if c == "A")
    wrong = opening_from_auditor(full, e, "D")
    own = verify_own_case(public, e, Opening(wrong.salt, "D", wrong.stratum_salt, wrong.k, wrong.cutoff))
    assert not own.ok and "承诺值" in own.first_difference
    right = opening_from_auditor(full, e, c)
    lie = Opening(right.salt, c, right.stratum_salt, right.k, "f" * 64)  # a cutoff the bureau did not commit to
    own = verify_own_case(public, e, lie)
    assert not own.ok and "hidden_strata" in own.first_difference


def test_dsr_verify_exits_non_zero_on_public_labels_out_of_order(tmp_path):
    """`dsr verify DIR` on a public package whose hidden strata are relabelled (S1 on the largest
    commitment: an order that could carry the class order) fails with exit 1."""
    import os
    import subprocess
    import sys

    _, public, _ = packages(tmp_path, frame(200))
    run = lambda: subprocess.run([sys.executable, "-m", "scheduler", "verify", str(public)], capture_output=True, text=True,
                                 timeout=120, env={**os.environ, "DSR_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert run().returncode == 0
    cert = json.loads((public / "certificate.json").read_text(encoding="utf-8"))
    n = len(cert["hidden_strata"])
    cert["hidden_strata"] = [dict(h, label=f"S{n - i}") for i, h in enumerate(cert["hidden_strata"])]
    (public / "certificate.json").write_text(json.dumps(cert, ensure_ascii=False), encoding="utf-8")
    proc = run()
    assert proc.returncode == 1 and "S1" in proc.stderr + proc.stdout
