"""verify_package: a real package verifies; every kind of tampering is caught and named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduler.draw import reference
from scheduler.draw.certificate import (build_certificate, build_public_certificate, with_commitments, write_package,
                                        write_public_package)
from scheduler.draw.fast import StratumRule, canonical_frame, canonical_public_frame, parse_frame, run_draw, sha256_hex
from scheduler.library.uscc import make
from scheduler.verify import opening_from_auditor, verify_own_case, verify_package

SEED = "99999999990000000000123"
PLAN, PERIOD = "PG-2025-09", "2025"
RULES = {"A": StratumRule("0.05"), "B": StratumRule("0.1"), "C": StratumRule("0.3"), "D": StratumRule("1")}


def rows(n: int = 500) -> list[tuple[str, str]]:
    return [(make("9", "1", "110117", f"MB{i:06d}"), "ABCD"[(i * 5 + i // 7) % 4]) for i in range(n)]


def make_cert(frame, batches=3, seed=SEED):
    r = run_draw(seed, PLAN, PERIOD, frame, RULES, batches=batches)
    cert = build_certificate(r, seed=seed, seed_source="system", plan_code=PLAN, period=PERIOD, items=[],
                             batches=batches, software_version="0.1.0", frozen_at="2025-01-02T00:00:00+00:00",
                             drawn_at="2025-01-02T00:10:00+00:00")
    return r, cert


@pytest.fixture(scope="module")
def base():
    frame = rows()
    r, cert = make_cert(frame)
    return frame, r, cert


def write(tmp_path: Path, cert: dict, frame_bytes: bytes) -> Path:
    d = tmp_path / "pkg"
    write_package(d, cert, frame_bytes)
    return d


def copy(cert: dict) -> dict:
    return json.loads(json.dumps(cert))


def test_untouched_package_verifies(tmp_path, base):
    _, r, cert = base
    rep = verify_package(write(tmp_path, cert, r.frame_bytes))
    assert rep.ok and rep.kind == "auditor" and rep.first_difference is None and rep.unchecked == []
    assert any("cutoff" in c for c in rep.checks) and any("备选" in c for c in rep.checks)


def fails(tmp_path, cert, frame_bytes) -> str:
    rep = verify_package(write(tmp_path, cert, frame_bytes))
    assert not rep.ok
    assert rep.first_difference
    return rep.first_difference


def test_changed_seed_fails_naming_the_ticket(tmp_path, base):
    _, r, cert = base
    c = copy(cert)
    c["seed"] = "0" + SEED  # leading zero: a different seed
    msg = fails(tmp_path, c, r.frame_bytes)
    assert "抽签号" in msg and c["selected"][0]["entity_id"] in msg and "随机种子" in msg


def test_changed_plan_code_fails(tmp_path, base):
    _, r, cert = base
    c = copy(cert)
    c["plan_code"] = "PG-2025-10"
    assert "抽签号" in fails(tmp_path, c, r.frame_bytes)


def test_invalid_seed_fails(tmp_path, base):
    _, r, cert = base
    c = copy(cert)
    c["seed"] = "１" * 20
    assert "seed" in fails(tmp_path, c, r.frame_bytes)


@pytest.mark.parametrize("change", ["add", "remove", "restratify"])
def test_changed_frame_fails(tmp_path, base, change):
    frame, r, cert = base
    f = list(frame)
    sel = {s.entity_id for s in r.selected}
    if change == "add":
        f.append((make("9", "1", "110117", "MC000001"), "A"))
    elif change == "remove":
        f = [x for x in f if x[0] not in sel or x[0] != r.selected[0].entity_id]
    else:
        i = next(i for i, x in enumerate(f) if x[1] == "D" and x[0] in sel)
        f[i] = (f[i][0], "A")
    fb = canonical_frame(f)
    # The file alone changed: the digest gives it away.
    assert "frame_sha256" in fails(tmp_path, cert, fb)
    # The file and its digest changed together: the recomputation gives it away.
    c = copy(cert)
    c["frame_sha256"] = sha256_hex(fb)
    msg = fails(tmp_path, c, fb)
    if change == "add":
        assert "frame_size" in msg
    elif change == "remove":
        assert "frame_size" in msg
    else:
        assert "分层" in msg


def test_consistent_frame_and_size_change_still_caught(tmp_path, base):
    frame, r, cert = base
    f = frame + [(make("9", "1", "110117", "MC000002"), "B")]
    fb = canonical_frame(f)
    c = copy(cert)
    c["frame_sha256"], c["frame_size"] = sha256_hex(fb), len(f)
    msg = fails(tmp_path, c, fb)
    assert "public_frame_sha256" in msg
    c["public_frame_sha256"] = sha256_hex(canonical_public_frame([e for e, _ in f]))
    msg = fails(tmp_path, c, fb)
    assert "分层 B" in msg and "size" in msg


def test_swapped_selection_fails_naming_entity(tmp_path, base):
    frame, r, cert = base
    c = copy(cert)
    stratum = dict(frame)
    victim = next(s for s in c["selected"] if s["stratum"] != "D")
    sel = {s["entity_id"] for s in c["selected"]}
    other = next(e for e, s in frame if s == stratum[victim["entity_id"]] and e not in sel)
    victim["entity_id"] = other
    msg = fails(tmp_path, c, r.frame_bytes)
    assert other in msg


def test_dropped_selected_entity_fails(tmp_path, base):
    _, r, cert = base
    c = copy(cert)
    gone = c["selected"].pop(10)["entity_id"]
    assert gone in fails(tmp_path, c, r.frame_bytes)


@pytest.mark.parametrize("field", ["rank", "batch"])
def test_changed_rank_or_batch_fails(tmp_path, base, field):
    _, r, cert = base
    c = copy(cert)
    s = c["selected"][7]
    s[field] = s[field] + 1
    msg = fails(tmp_path, c, r.frame_bytes)
    assert field in msg and "第 8 位" in msg


def test_swapped_order_fails(tmp_path, base):
    _, r, cert = base
    c = copy(cert)
    c["selected"][0], c["selected"][1] = c["selected"][1], c["selected"][0]
    msg = fails(tmp_path, c, r.frame_bytes)
    assert "第 1 位" in msg


@pytest.mark.parametrize("field, value", [("cutoff", "0" * 64), ("k", 1), ("size", 3), ("reserves", 99)])
def test_changed_stratum_field_fails(tmp_path, base, field, value):
    _, r, cert = base
    c = copy(cert)
    c["strata"][1][field] = value
    msg = fails(tmp_path, c, r.frame_bytes)
    assert field in msg and c["strata"][1]["stratum"] in msg


def test_changed_ratio_fails(tmp_path, base):
    _, r, cert = base
    c = copy(cert)
    c["strata"][0]["ratio"] = "0.06"
    assert "分层 A" in fails(tmp_path, c, r.frame_bytes)


def test_changed_reserve_fails(tmp_path, base):
    _, r, cert = base
    c = copy(cert)
    c["reserves"][0]["reserve_rank"] = 2
    assert "reserve_rank" in fails(tmp_path, c, r.frame_bytes)
    c = copy(cert)
    c["reserves"].pop()
    assert "备选" in fails(tmp_path, c, r.frame_bytes)


def test_non_canonical_frame_fails(tmp_path, base):
    _, r, cert = base
    lines = r.frame_bytes.split(b"\n")[:-1]
    fb = b"\n".join(reversed(lines)) + b"\n"
    c = copy(cert)
    c["frame_sha256"] = sha256_hex(fb)
    assert "规范" in fails(tmp_path, c, fb)


def test_missing_and_broken_files(tmp_path, base):
    _, r, cert = base
    d = write(tmp_path, cert, r.frame_bytes)
    (d / "frame.csv").unlink()
    assert "frame.csv" in verify_package(d).first_difference
    (d / "certificate.json").write_text("{", encoding="utf-8")
    rep = verify_package(d)
    assert not rep.ok and "certificate.json" in rep.first_difference
    assert not verify_package(tmp_path / "nowhere").ok


def test_parse_frame_round_trip(base):
    frame, r, _ = base
    assert canonical_frame(parse_frame(r.frame_bytes)) == r.frame_bytes
    assert sorted(parse_frame(r.frame_bytes)) == sorted(frame)


# ------------------------------------------------------------------ public package


KEY = "a1" * 32


def public(tmp_path: Path, cert: dict, pfb: bytes) -> Path:
    d = tmp_path / "pub"
    write_public_package(d, cert, pfb, COMMITMENTS[0])
    return d


COMMITMENTS: list[bytes] = [b""]


def public_cert(r, cert) -> dict:
    full, COMMITMENTS[0] = with_commitments(cert, r.frame_bytes, KEY)
    return build_public_certificate(full)


def test_public_package_verifies(tmp_path, base):
    _, r, cert = base
    rep = verify_package(public(tmp_path, public_cert(r, cert), r.public_frame_bytes))
    assert rep.ok and rep.kind == "public"
    assert any("分层承诺值" in c for c in rep.checks)
    assert any("分层" in u for u in rep.unchecked)


def test_a_skipped_low_ticket_is_caught_by_the_entity_itself(tmp_path, base):
    """Drop the lowest ticket and promote another entity in its place, fixing ranks and batches:
    the public package alone cannot tell (it does not know the strata); the skipped entity,
    with the opening of its commitment, can."""
    f, r, cert = base
    pub = public_cert(r, cert)
    full, _ = with_commitments(cert, r.frame_bytes, KEY)
    chosen = {s["entity_id"] for s in pub["selected"]}
    other = next(e for e, _ in sorted(f) if e not in chosen)
    sel = pub["selected"][1:] + [{"entity_id": other, "ticket": reference.ticket(SEED, PLAN, PERIOD, other)}]
    sel.sort(key=lambda s: s["ticket"])
    K, B = len(sel), pub["batches"]
    pub["selected"] = [dict(s, rank=i + 1, batch=i * B // K + 1) for i, s in enumerate(sel)]
    d = public(tmp_path, pub, r.public_frame_bytes)
    assert verify_package(d).ok
    skipped = r.selected[0]
    own = verify_own_case(d, skipped.entity_id, opening_from_auditor(full, skipped.entity_id, skipped.stratum))
    assert not own.ok and "按规则应入选" in own.first_difference


def test_public_package_tampering(tmp_path, base):
    _, r, cert = base
    pub0 = public_cert(r, cert)

    def fail(pub, pfb=r.public_frame_bytes) -> str:
        rep = verify_package(public(tmp_path, pub, pfb))
        assert not rep.ok
        return rep.first_difference

    p = copy(pub0); p["seed"] = SEED[:-1] + "4"
    assert "抽签号" in fail(p)
    p = copy(pub0); p["selected"][2]["batch"] += 1
    assert "batch" in fail(p)
    p = copy(pub0); p["hidden_strata"][0]["commitment"] = "f" * 64
    assert "字节序" in fail(p)
    p = copy(pub0); p["commitments_sha256"] = "0" * 64
    assert "commitments.csv" in fail(p)
    assert "public_frame_sha256" in fail(pub0, r.public_frame_bytes + b"91110117MC0000033X\n")
