"""`cores.split_fill`: the second half in a forked child gives the same bytes as one core,
and a child that fails costs time, never the result."""

from __future__ import annotations

import os

import numpy as np
import pytest

from scheduler.runtime import cores
from scheduler.draw import fast as dsr1

needs_fork = pytest.mark.skipif(not hasattr(os, "fork") or cores.usable_cores() < 2, reason="needs fork and 2 cores")


def _squares(out: memoryview, start: int, stop: int) -> None:
    out[8 * start:8 * stop] = np.arange(start, stop, dtype="<u8").__pow__(2).tobytes()


def test_small_inputs_stay_in_this_process():
    buf = cores.split_fill(10, 8, _squares)
    assert isinstance(buf, bytearray)
    assert np.frombuffer(buf, dtype="<u8").tolist() == [i * i for i in range(10)]


@needs_fork
def test_both_halves_are_filled_when_split():
    buf = cores.split_fill(1001, 8, _squares, min_split=2)
    assert np.frombuffer(buf, dtype="<u8").tolist() == [i * i for i in range(1001)]


@needs_fork
@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_failing_child_is_replaced_by_the_parent(how):
    parent = os.getpid()

    def fill(out, start, stop):
        if os.getpid() != parent:
            if how == "raise":
                raise MemoryError("the child ran out of memory")
            os._exit(9)
        _squares(out, start, stop)

    buf = cores.split_fill(500, 8, fill, min_split=2)
    assert np.frombuffer(buf, dtype="<u8").tolist() == [i * i for i in range(500)]


@needs_fork
def test_tickets_split_over_two_processes_equal_the_one_process_tickets(monkeypatch):
    ids = [f"9111011700000{i:04d}{'0123456789ABCDEFGHJKLMNPQRTUWXY'[i % 31]}" for i in range(3000)]
    prefix = dsr1._ticket_prefix("31415926535897932384", "P-1", "2026-12")
    arr = dsr1._encode_ids(ids)
    monkeypatch.setattr(cores, "MIN_SPLIT", 10**9)
    one = bytes(dsr1._digests_bytes(prefix, arr))
    monkeypatch.setattr(cores, "MIN_SPLIT", 2)
    two = dsr1._digests_bytes(prefix, arr)
    assert not isinstance(two, bytearray)  # really forked
    assert bytes(two) == one
    assert one[32 * 2999:] == bytes.fromhex(dsr1.ticket("31415926535897932384", "P-1", "2026-12", ids[-1]))


@needs_fork
def test_forked_returns_what_the_child_computed():
    with cores.Forked(lambda send: (os.getpid(), b"x" * 3_000_000)) as job:  # more than a pipe holds
        pid, data = job.result()
    assert pid != os.getpid() and data == b"x" * 3_000_000


@needs_fork
@pytest.mark.parametrize("how", ["raise", "exit", "hang"])
def test_a_failed_or_stuck_child_is_replaced_by_the_parent(how):
    parent = os.getpid()

    def work(send):
        if os.getpid() != parent:
            if how == "raise":
                raise RuntimeError("boom")
            if how == "exit":
                os._exit(3)
            import time

            time.sleep(60)
        return "computed here"

    job = cores.Forked(work, timeout=0.5 if how == "hang" else 60)
    child = job.pid
    assert child is not None
    assert job.result() == "computed here"
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # reaped


@needs_fork
def test_a_result_never_asked_for_is_reaped():
    import time

    with cores.Forked(lambda send: time.sleep(60)) as job:
        child = job.pid
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)


def test_without_fork_the_work_is_done_on_asking():
    job = cores.Forked(lambda send: os.getpid(), fork=False)
    assert job.pid is None and job.result() == os.getpid()


def _counting(parent: int, fail_after: int | None):
    def work(send):
        for i in range(5):
            if os.getpid() != parent and fail_after is not None and i == fail_after:
                os._exit(4)  # the child dies after sending `fail_after` parts
            send(("part", i))
        return "final"
    return work


@pytest.mark.parametrize("fork", [True, False])
@pytest.mark.parametrize("fail_after", [None, 0, 3])
def test_parts_arrive_in_order_once_each_whatever_happens_to_the_child(fork, fail_after):
    if fork and (not hasattr(os, "fork") or cores.usable_cores() < 2):
        pytest.skip("needs fork and 2 cores")
    with cores.Forked(_counting(os.getpid(), fail_after), fork=fork) as job:
        assert (job.pid is not None) == fork
        got = list(job.parts())
        assert job.result() == "final"
    assert got == [("part", i) for i in range(5)]
