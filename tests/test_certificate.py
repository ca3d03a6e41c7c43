"""Certificates and packages: fields, the public package hides strata, the doc's own verifier."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.draw.certificate import (
    build_certificate,
    build_public_certificate,
    stored_json,
    with_commitments,
    write_package,
    write_public_package,
)
from scheduler.draw.fast import DrawError, StratumRule, run_draw
from scheduler.library.uscc import make
from scheduler.verify import verify_package

SEED = "00271828182845904523536"
DOC = Path(__file__).resolve().parent.parent / "docs" / "draw-algorithm.md"
LABELS = ["A", "B/110117100", "C", "D"]
RULES = {"A": StratumRule("0.02"), "B/110117100": StratumRule("0.1"), "C": StratumRule(count=12), "D": StratumRule("0.5")}


def frame(n: int = 600) -> list[tuple[str, str]]:
    return [(make("9", "1", "110117", f"MA{i:06d}"), LABELS[(i * 7) % 4]) for i in range(n)]


def auditor(batches: int = 3, n: int = 600):
    r = run_draw(SEED, "PG-2025-03", "2025Q2", frame(n), RULES, batches=batches, reserve_ratio="0.2")
    cert = build_certificate(
        r, seed=SEED, seed_source="ceremony", plan_code="PG-2025-03", period="2025Q2",
        items=[{"code": "SC-01", "name": "食品经营许可情况的检查", "department": "区市场监管局", "ratio": "0.1"}],
        batches=batches, software_version="0.1.0", frozen_at="2025-04-01T01:00:00+00:00",
        drawn_at="2025-04-01T01:05:00+00:00", extra={"witness": "区纪委监委派驻纪检组"},
    )
    return r, cert


def test_auditor_certificate_fields():
    r, cert = auditor()
    for key in ("algorithm", "seed", "seed_source", "plan_code", "period", "frame_sha256", "public_frame_sha256",
                "frame_size", "strata", "batches", "selected", "reserves", "items", "software_version",
                "frozen_at", "drawn_at", "package_kind", "reserve_ratio"):
        assert key in cert
    assert cert["algorithm"] == "DSR-1" and cert["package_kind"] == "auditor"
    assert cert["seed"] == SEED and isinstance(cert["seed"], str)
    assert cert["frame_size"] == 600
    assert {s["stratum"] for s in cert["strata"]} == set(LABELS)
    c = next(s for s in cert["strata"] if s["stratum"] == "C")
    assert c["count"] == 12 and "ratio" not in c and c["k"] == 12
    assert [s["rank"] for s in cert["selected"]] == list(range(1, len(cert["selected"]) + 1))
    assert cert["selected"][0].keys() == {"entity_id", "stratum", "rank", "batch", "ticket"}
    assert cert["reserves"][0].keys() == {"entity_id", "stratum", "reserve_rank", "ticket"}
    assert cert["extra"] == {"witness": "区纪委监委派驻纪检组"}
    json.dumps(cert)


def test_certificate_refuses_bad_seed_source_and_batches():
    r, _ = auditor()
    kw = dict(seed=SEED, plan_code="P", period="Q", items=[], software_version="x", frozen_at="a", drawn_at="b")
    with pytest.raises(DrawError):
        build_certificate(r, seed_source="dice", batches=3, **kw)
    with pytest.raises(DrawError):
        build_certificate(r, seed_source="system", batches=2, **kw)


def test_package_files_are_exact(tmp_path):
    r, cert = auditor()
    write_package(tmp_path, cert, r.frame_bytes)
    assert (tmp_path / "frame.csv").read_bytes() == r.frame_bytes
    text = (tmp_path / "certificate.json").read_text(encoding="utf-8")
    assert "食品经营许可" in text and "\n  \"" in text  # UTF-8, not \u escapes; indented
    assert json.loads(text) == cert
    assert verify_package(tmp_path).ok


KEY = "5e" * 32


def test_public_certificate_hides_strata(tmp_path):
    r, cert = auditor()
    full, commitments = with_commitments(cert, r.frame_bytes, KEY)
    pub = build_public_certificate(full)
    assert pub["package_kind"] == "public"
    assert pub["public_frame_sha256"] == cert["public_frame_sha256"] and "frame_sha256" not in pub
    assert pub["public_frame_file"] == "public_frame.csv" and pub["commitments_file"] == "commitments.csv"
    assert [h["label"] for h in pub["hidden_strata"]] == ["S1", "S2", "S3", "S4"]
    assert "strata" not in pub and "reserves" not in pub and "commitment_key" not in pub
    assert all(s.keys() == {"entity_id", "rank", "batch", "ticket"} for s in pub["selected"])
    assert pub["items"] == [{"code": "SC-01", "name": "食品经营许可情况的检查", "department": "区市场监管局"}]
    assert "extra" not in pub
    write_public_package(tmp_path, pub, r.public_frame_bytes, commitments)
    blob = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    for lab in LABELS:
        assert f'"{lab}"' not in blob and f",{lab}" not in blob
    assert "stratum" not in blob and KEY not in blob
    for s in cert["strata"]:  # no cutoff, and no size, of any stratum
        assert s["cutoff"] not in json.dumps(pub["hidden_strata"]) and f'"size": {s["size"]}' not in blob
    rep = verify_package(tmp_path)
    assert rep.ok and rep.kind == "public" and rep.unchecked


def test_a_public_certificate_needs_the_commitments():
    _, cert = auditor()
    with pytest.raises(DrawError, match="分层承诺"):
        build_public_certificate(cert)


# ------------------------------------------------------------------ the documentation


def doc_verifier(tmp_path: Path) -> Path:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert text.rstrip().endswith("```"), "the doc must end with the verifier"
    code = blocks[-1]
    assert len(code.rstrip("\n").split("\n")) <= 40
    assert re.findall(r"^\s*(?:import|from) (\S+)", code, flags=re.M) and all(
        m.split(".")[0] in {"hashlib", "hmac", "itertools", "json", "math", "sys", "fractions", "pathlib"}
        for m in re.findall(r"^\s*(?:import|from) ([\w.]+)", code, flags=re.M)
    )
    p = tmp_path / "verify.py"
    p.write_text(code, encoding="utf-8")
    return p


def run_doc_verifier(script: Path, pkg: Path) -> str:
    out = subprocess.run([sys.executable, str(script), str(pkg)], capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def test_doc_verifier_accepts_a_real_package_and_rejects_tampering(tmp_path):
    script = doc_verifier(tmp_path)
    r, cert = auditor(batches=4)
    cert, _ = with_commitments(cert, r.frame_bytes, KEY)
    write_package(tmp_path / "ok", cert, r.frame_bytes)
    assert run_doc_verifier(script, tmp_path / "ok") == "OK"

    bad = json.loads(json.dumps(cert))
    bad["selected"][5]["batch"] = 4 if bad["selected"][5]["batch"] != 4 else 1
    write_package(tmp_path / "batch", bad, r.frame_bytes)
    assert run_doc_verifier(script, tmp_path / "batch").startswith("DIFFERENCE: selected #6")

    bad = dict(cert, seed="1" + SEED[1:])
    write_package(tmp_path / "seed", bad, r.frame_bytes)
    assert "cutoff" in run_doc_verifier(script, tmp_path / "seed")

    write_package(tmp_path / "frame", cert, r.frame_bytes.replace(b",A\n", b",D\n", 1))
    assert run_doc_verifier(script, tmp_path / "frame") == "DIFFERENCE: frame_sha256, frame_size"

    bad = dict(cert, hidden_strata=cert["hidden_strata"][::-1])
    write_package(tmp_path / "hidden", bad, r.frame_bytes)
    assert run_doc_verifier(script, tmp_path / "hidden") == "DIFFERENCE: commitments"


def test_doc_verifier_checks_a_public_package(tmp_path):
    """The doc's program on a public package: what dsr verify checks of it, without dsr."""
    script = doc_verifier(tmp_path)
    r, cert = auditor(batches=4)
    full, commitments = with_commitments(cert, r.frame_bytes, KEY)
    pub = build_public_certificate(full)

    def run(name, p=pub, frame=r.public_frame_bytes, com=commitments):
        write_public_package(tmp_path / name, p, frame, com)
        return run_doc_verifier(script, tmp_path / name), verify_package(tmp_path / name).ok

    assert run("ok") == ("OK", True)
    swapped = [dict(h, label=f"S{len(pub['hidden_strata']) - i}") for i, h in enumerate(pub["hidden_strata"])]
    assert run("labels", dict(pub, hidden_strata=swapped)) == ("DIFFERENCE: hidden_strata: labels, order", False)
    sel = json.loads(json.dumps(pub["selected"]))
    sel[0]["rank"], sel[1]["rank"] = 2, 1
    assert run("rank", dict(pub, selected=sel))[0].startswith("DIFFERENCE: selected #1")
    assert run("ticket", dict(pub, seed=SEED[:-1] + "9"))[0].startswith("DIFFERENCE: selected #")
    assert run("commitments", com=commitments.replace(b",", b",0", 1)) == ("DIFFERENCE: commitments", False)
    assert run("frame", frame=r.public_frame_bytes + b"91110117MC0000033X\n") == ("DIFFERENCE: frame", False)


def test_doc_worked_example_is_what_the_code_computes():
    text = DOC.read_text(encoding="utf-8")
    ids = [make("9", "1", "110117", f"MA0{i:05d}") for i in range(1, 9)]
    rows = list(zip(ids, ["A", "A", "D", "A", "D", "A", "A", "D"]))
    r = run_draw("20250117083015271828", "PG-2025-01", "2025-Q1", rows,
                 {"A": StratumRule("0.25"), "D": StratumRule("0.5")}, batches=2)
    assert r.frame_sha256 in text
    for s in r.strata:
        assert f"cutoff `{s.cutoff[:16]}…`" in text.replace("\n  ", " ")
    for s in r.selected:
        assert f"| {s.entity_id} | {s.stratum} | `{s.ticket[:16]}…` | selected, rank {s.rank}, batch {s.batch} |" in text
    for x in r.reserves:
        assert f"| {x.entity_id} | {x.stratum} | `{x.ticket[:16]}…` | reserve {x.reserve_rank} |" in text


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                    max_leaves=20))
def test_stored_json_is_ascii_and_reads_back_the_same(obj):
    """Whatever the text (Chinese names, emoji beyond the BMP, quotes, control characters),
    the stored certificate JSON is ASCII and parses back to the same value."""
    data = stored_json(obj)
    assert data.isascii()
    assert json.loads(data) == obj


def test_stored_json_finds_characters_across_its_scan_chunks():
    from scheduler.draw import certificate

    obj = {"a": "x" * 37 + "检查组" + "y" * 50 + "缺员\U0001F600"}
    data = certificate.orjson.dumps(obj)
    runs = certificate._non_ascii_runs(data, chunk=7)
    assert [data[s:e].decode("utf-8") for s, e in runs] == ["检查组", "缺员\U0001F600"]
    assert json.loads(certificate.stored_json(obj)) == obj
