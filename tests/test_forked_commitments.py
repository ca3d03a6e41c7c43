"""The commitments (§3.2) of a large frame are hashed in a forked child from the command line.

`dsr verify` of an auditor package hashes them in a child while it recomputes the draw and
the matching: the report must be the one the sequential order gives (the same checks, the
first difference in the same turn), a failed child made good in the parent, and no fork at
all in a process with other threads (OpenSSL's locks). `dsr package` hashes half of them in
a child: the same commitments.csv and certificate either way."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.draw.certificate import write_package
from scheduler.verify import verify_package
from tests.test_hidden_strata import frame, packages

ROOT = Path(__file__).resolve().parent.parent
OTHER_KEY = "ab" * 32

# Both runners count the forks of a fresh interpreter (one thread, as the command line).
FORK_COUNTER = r"""
import os
forks = []
real_fork = os.fork
def counted_fork():
    forks.append(1)
    return real_fork()
os.fork = counted_fork
"""

# Every package verified with the fork threshold at 1; prints the reports and the forks as JSON.
RUNNER = FORK_COUNTER + r"""
import dataclasses, json, signal, sys, threading
import scheduler.verify as v
from scheduler.draw import commitments as hs
from scheduler.runtime import cores

cores.MIN_SPLIT = 1

mode = sys.argv[1]
parent = os.getpid()
if mode == "kill-child":  # the child dies as soon as it starts hashing
    real_csv = hs.commitments_csv
    def dying(key, rows):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_csv(key, rows)
    hs.commitments_csv = dying
if mode == "threaded":  # another thread alive, as in the app's server
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()

out = []
for d in sys.argv[2:]:
    r = dataclasses.asdict(v.verify_package(d))
    try:
        left = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        left = None
    out.append({"report": r, "forks": len(forks), "child_left": left})
    forks.clear()
print(json.dumps(out, ensure_ascii=False))
"""


def run(mode: str, *dirs: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", RUNNER, mode, *map(str, dirs)], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, dict]:
    auditor, _, full = packages(tmp_path_factory.mktemp("forked"), frame(3000))
    return auditor, full


def variant(tmp_path: Path, good: tuple[Path, dict], name: str, **changes) -> Path:
    auditor, full = good
    write_package(tmp_path / name, {**full, **changes}, (auditor / "frame.csv").read_bytes())
    return tmp_path / name


def test_forked_and_in_process_give_the_same_reports(tmp_path, good):
    auditor, full = good
    wrong_key = variant(tmp_path, good, "wrong-key", commitment_key=OTHER_KEY)
    bad_ticket = dict(full["selected"][0], ticket="f" * 64)
    # A ticket and the key both wrong: the draw's difference comes first, as in sequence.
    both = variant(tmp_path, good, "both", commitment_key=OTHER_KEY, selected=[bad_ticket, *full["selected"][1:]])
    # The matching's difference (its files missing) and the key: the commitments' comes first.
    matching_and_key = variant(tmp_path, good, "matching-and-key", commitment_key=OTHER_KEY,
                               matching={"tasks": []})
    matching_only = variant(tmp_path, good, "matching-only", matching={"tasks": []})
    dirs = [auditor, wrong_key, both, matching_and_key, matching_only]
    runs = run("plain", *dirs)
    assert [r["forks"] for r in runs] == [1] * len(dirs)
    assert [r["child_left"] for r in runs] == [None] * len(dirs)  # every child reaped, none left running
    assert [r["report"] for r in runs] == [dataclasses.asdict(verify_package(d)) for d in dirs]
    firsts = [r["report"]["first_difference"] for r in runs]
    assert runs[0]["report"]["ok"] and firsts[0] is None
    assert any("分层承诺" in c for c in runs[0]["report"]["checks"])
    assert "commitments_sha256 不一致" in firsts[1]
    assert "抽签号" in firsts[2] and "commitments" not in firsts[2]
    assert "commitments_sha256 不一致" in firsts[3]
    assert "匹配输入文件" in firsts[4]


def test_a_child_that_dies_is_made_good_in_the_parent(tmp_path, good):
    auditor, _ = good
    wrong_key = variant(tmp_path, good, "wrong-key", commitment_key=OTHER_KEY)
    runs = run("kill-child", auditor, wrong_key)
    assert [r["forks"] for r in runs] == [1, 1]
    assert [r["report"] for r in runs] == [dataclasses.asdict(verify_package(auditor)),
                                           dataclasses.asdict(verify_package(wrong_key))]
    assert runs[0]["report"]["ok"] and not runs[1]["report"]["ok"]


def test_no_fork_beside_another_thread(good):
    auditor, _ = good
    [r] = run("threaded", auditor)
    assert r["forks"] == 0 and r["report"]["ok"]
    assert r["report"] == dataclasses.asdict(verify_package(auditor))


PACKAGE_RUNNER = FORK_COUNTER + r"""
import json, sys
import scheduler.draw.certificate as certs
from scheduler.runtime import cores

cores.MIN_SPLIT = 1
cert, data = certs.with_commitments(json.loads(sys.argv[1]), open(sys.argv[2], "rb").read(), sys.argv[3])
sys.stdout.buffer.write(json.dumps([cert, len(forks)]).encode() + b"\n" + data)
"""


def test_a_package_s_commitments_are_the_same_with_half_in_a_child(good):
    from scheduler.draw.certificate import with_commitments

    auditor, full = good
    frame_bytes = (auditor / "frame.csv").read_bytes()
    plain = {k: v for k, v in full.items() if k not in ("commitment_key", "commitments_file", "commitments_sha256",
                                                         "hidden_strata")}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", PACKAGE_RUNNER, json.dumps(plain), str(auditor / "frame.csv"),
                           full["commitment_key"]], env=env, capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    head, _, data = proc.stdout.partition(b"\n")
    cert, forks = json.loads(head)
    assert forks == 1
    assert (cert, data) == with_commitments(plain, frame_bytes, full["commitment_key"])
    assert cert["commitments_sha256"] == full["commitments_sha256"]
    assert data.count(b"\n") == full["frame_size"]
