"""The draw's fast paths give exactly the bytes of the general paths.

* `draw.canonical_frames_bytes` (frame lines from the database, any order) equals
  `draw.canonical_frames` on the rows, or declines (None) so that the caller takes
  the general path;
* `rank` on a fixed-width archive (`frame_of_archive`: numpy split) equals `run_draw` on the rows;
* `frames.read_frame_lines` (SQLite group_concat / PostgreSQL string_agg) holds exactly
  the lines of `frames.read_frame`'s rows, on both back-ends; on SQLite the lines laid out
  by numpy from the two joined columns (`frames.lines_of_columns`) are exactly the rows' lines.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import Session

from scheduler.draw import fast as draw
from scheduler.draw import service as draws
from scheduler.draw import frame_service as frames
from scheduler.plans.service import PlanInput, load_plan
from tests.factories import save_approved
from tests.factories import add_enterprises, world

SEED = "27182818284590452353602874713526"


def _rows(n: int, seed: int, labels=("A", "B", "C", "D"), width: int = 18) -> list[tuple[str, str]]:
    rnd = random.Random(seed)
    ids = {"".join(rnd.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(width)) for _ in range(n)}
    return [(i, rnd.choice(labels)) for i in ids]


def _canonical(rows):
    rows = list(rows)
    return draw.canonical_frames([r[0] for r in rows], [r[1] for r in rows])


@pytest.mark.parametrize("labels", [("A", "B", "C", "D"), ("B/110117100", "A/110117101"), ("Z",), ("AB", "B", "AA")])
def test_canonical_frames_bytes_equals_canonical_frames(labels):
    rows = _rows(3000, 5, labels)
    want = _canonical(rows)
    random.Random(1).shuffle(rows)
    assert _canonical(rows) == want  # the general path does not depend on the row order
    lines = "".join(f"{i},{lab}\n" for i, lab in rows).encode()
    if len({len(lab) for lab in labels}) == 1:
        assert draw.canonical_frames_bytes(want[0]) == want
        assert draw.canonical_frames_bytes(lines) == want  # numpy sorts fixed-width lines
    else:  # labels of several widths: the rows' path
        assert draw.canonical_frames_bytes(want[0]) is None and draw.canonical_frames_bytes(lines) is None


@pytest.mark.parametrize("data", [
    b"",
    b"A1,A\nA1,A\n",  # duplicate
    b"B1,A\nC1,A\nB1,B\n",  # duplicate, not sorted
    b"A1,A\nB22,B\nC1,A\n",  # not fixed-width
    b"A1,A\nB1,B|\n",  # forbidden character (and not fixed-width)
    b"A1,A|\nB1,A|\n",  # forbidden character
    b"A1,A\rB\n",  # forbidden character
    "A1,É\nB1,É\n".encode(),  # not ASCII
    b"A1,A\nB1,A",  # no final newline
    b",A\n,B\n",  # empty id
    b"a,b,c\nd\n",  # three fields then one
])
def test_canonical_frames_bytes_declines_anything_else(data):
    assert draw.canonical_frames_bytes(data) is None


def test_canonical_frames_bytes_sorts_unsorted_lines():
    assert draw.canonical_frames_bytes(b"B1,A\nA1,B\n") == (b"A1,B\nB1,A\n", b"A1\nB1\n", {"A": 1, "B": 1})


def test_ascii_fast_path_sorts_like_the_general_path_for_mixed_case_and_digits():
    rows = [("a1", "A"), ("B1", "A"), ("91", "A"), ("Z9", "B"), ("_1", "B")]
    want = _canonical(rows)
    assert want[0].split(b"\n")[0] == b"91,A"
    assert draw.canonical_frames_bytes(want[0]) == want


@pytest.mark.parametrize("labels", [("A", "B", "C", "D"), ("B/110117100", "A/110117101", "C/110117102")])
def test_rank_on_a_fixed_width_archive_equals_run_draw(labels):
    rows = _rows(5000, 7, labels)
    rules = {lab: draw.StratumRule(ratio=r) for lab, r in zip(sorted(labels), ("0.01", "0.1", "0.5", "1"))}
    want = draw.run_draw(SEED, "PG-FAST", "2026-12", rows, rules, batches=3, reserve_ratio="0.2")
    fb = _canonical(rows)[0]
    assert draw._fixed_frame(fb) is not None  # the numpy path is the one taken
    got = draw.rank(SEED, "PG-FAST", "2026-12", draw.frame_of_archive(fb), rules, batches=3, reserve_ratio="0.2")
    assert got == want
    assert got.public_frame_bytes == want.public_frame_bytes == _canonical(rows)[1]


@pytest.mark.parametrize("strata_by", ["risk", "risk+town", "risk+industry"])
def test_read_frame_lines_are_the_lines_of_read_frame(engine, strata_by):
    world(engine, 1500)
    add_enterprises(engine, 300, seed=9, start=5000)
    save_approved(engine, PlanInput(code="PG-T", name="公示", lead_department="SCJGJ", item_codes=["GS-01", "SP-01"],
                                ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}, strata_by=strata_by))
    with Session(engine) as s:
        lp = load_plan(s, "PG-T")
        rows = frames.read_frame(s, lp, "2026-12")
        data = frames.read_frame_lines(s, lp, "2026-12")
    assert rows and isinstance(data, bytes)
    assert sorted(data.decode("utf-8").splitlines()) == sorted(f"{i},{st}" for i, st in rows)
    assert draw.canonical_frames_bytes(data) == _canonical(rows)


_CELL = st.text(alphabet="AB1,\n|", min_size=0, max_size=3)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=6))
def test_lines_of_columns_are_the_rows_lines_or_nothing(rows):
    """Whatever the values (commas, newlines, empty, several widths), the lines laid out from
    the two joined columns are exactly the rows' lines, or None (the caller then asks SQLite
    for the lines themselves)."""
    ids = ",".join(i for i, _ in rows).encode()
    labels = "\n".join(lab for _, lab in rows).encode()
    got = frames.lines_of_columns(len(rows), ids, labels)
    if got is not None:
        assert got == "".join(f"{i},{lab}\n" for i, lab in rows).encode()
        assert len({len(i) for i, _ in rows}) == 1 and len({len(lab) for _, lab in rows}) == 1


def test_read_frame_lines_with_strata_of_several_widths_are_the_lines_of_read_frame(engine):
    """Strata of two widths: SQLite's two joined columns cannot be laid out, the lines come
    from SQLite itself; still exactly the lines of the rows."""
    world(engine, 600)
    save_approved(engine, PlanInput(code="PG-T", name="公示", lead_department="SCJGJ", item_codes=["GS-01"],
                                ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}))
    with engine.begin() as c:
        c.execute(text("UPDATE enterprise SET risk_class = 'DD' WHERE id IN (SELECT id FROM enterprise LIMIT 7)"))
    with Session(engine) as s:
        lp = load_plan(s, "PG-T")
        rows = frames.read_frame(s, lp, "2026-12")
        data = frames.read_frame_lines(s, lp, "2026-12")
    assert {st for _, st in rows} >= {"DD", "A"}
    assert sorted(data.decode("utf-8").splitlines()) == sorted(f"{i},{st}" for i, st in rows)


def test_freeze_reads_the_rows_when_the_fast_path_declines(engine, monkeypatch):
    """Lines numpy cannot take (here: a duplicate line) send the freeze to the rows."""
    world(engine, 800)
    save_approved(engine, PlanInput(code="PG-T", name="公示", lead_department="SCJGJ", item_codes=["GS-01"],
                                ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}))
    with Session(engine) as s:
        lp = load_plan(s, "PG-T")
        want = _canonical(frames.read_frame(s, lp, "2026-12"))
    lines = want[0].decode().splitlines(keepends=True)
    monkeypatch.setattr(draws, "read_frame_lines", lambda s, lp, period: "".join(lines + lines[:1]).encode())
    f = draws.freeze(engine, "PG-T", "2026-12")
    assert f.frame_sha256 == draw.sha256_hex(want[0]) and f.public_frame_sha256 == draw.sha256_hex(want[1])
    assert f.frame_size == len(lines) and f.strata == dict(sorted(want[2].items()))


def test_freeze_reads_rows_when_the_frame_text_is_over_the_database_limit(sqlite_url):
    """SQLite refuses a string over its length limit (1 GB by default): the freeze reads the rows instead."""
    import sqlite3

    from sqlalchemy import event

    from db.engine import make_engine

    eng = make_engine(sqlite_url)
    world(eng, 600)
    save_approved(eng, PlanInput(code="PG-T", name="公示", lead_department="SCJGJ", item_codes=["GS-01"],
                             ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}))
    with Session(eng) as s:
        want = _canonical(frames.read_frame(s, load_plan(s, "PG-T"), "2026-12"))
    eng.dispose()

    @event.listens_for(eng, "connect")
    def _small(dbapi_conn, _record):  # noqa: ANN001
        # Under the length of the ids alone (SQLite joins ids and strata separately); the gzip archive still fits.
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, sum(want[2].values()) * 18)

    with Session(eng) as s:
        assert frames.read_frame_lines(s, load_plan(s, "PG-T"), "2026-12") is None
    f = draws.freeze(eng, "PG-T", "2026-12")
    assert f.frame_sha256 == draw.sha256_hex(want[0]) and f.frame_size == sum(want[2].values())
    eng.dispose()
    eng = make_engine(sqlite_url)  # the draw's certificate is longer than that limit
    d = draws.execute(eng, "PG-T", "2026-12", seed=SEED)
    assert d.frame_sha256 == f.frame_sha256
    eng.dispose()


def test_freeze_recovers_when_the_frame_text_query_fails(engine, monkeypatch):
    """A failing fast query (PostgreSQL: rolled back to its savepoint) leaves the freeze's transaction usable."""
    from sqlalchemy import func

    world(engine, 600)
    save_approved(engine, PlanInput(code="PG-T", name="公示", lead_department="SCJGJ", item_codes=["GS-01"],
                                ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}))
    with Session(engine) as s:
        want = _canonical(frames.read_frame(s, load_plan(s, "PG-T"), "2026-12"))
    real, calls = frames.stratum_expression, []

    def broken_once(strata_by):
        calls.append(strata_by)
        return func.no_such_function(real(strata_by)) if len(calls) == 1 else real(strata_by)

    monkeypatch.setattr(frames, "stratum_expression", broken_once)
    f = draws.freeze(engine, "PG-T", "2026-12")
    assert len(calls) == 2  # the fast query, then the rows
    assert f.frame_sha256 == draw.sha256_hex(want[0]) and f.public_frame_sha256 == draw.sha256_hex(want[1])


@pytest.mark.parametrize("second_connection", ["works", "fails"])
def test_a_registry_scanned_in_two_halves_gives_the_frame_of_one_scan(tmp_path, monkeypatch, caplog, second_connection):
    """The freeze scans a large registry in two halves at once (a second connection on a
    thread); the frame is the one a single scan gives, also when that connection fails."""
    import sqlite3

    from db.engine import make_engine
    from db.migrate import upgrade

    real = sqlite3.connect
    calls = []

    def connect(*a, **k):
        calls.append(a)
        if second_connection == "fails":
            raise sqlite3.OperationalError("unable to open database file")
        return real(*a, **k)

    frozen = []
    for split_rows in (10**9, 2):
        eng = make_engine(f"sqlite:///{tmp_path}/split-{split_rows}.db")
        upgrade(eng)
        world(eng, 1200)
        save_approved(eng, PlanInput(code="PG-T", name="公示", lead_department="SCJGJ", item_codes=["GS-01"],
                                 ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"}, strata_by="risk+town"))
        monkeypatch.setattr(frames, "SPLIT_SCAN_ROWS", split_rows)
        monkeypatch.setattr(sqlite3, "connect", connect)
        calls.clear()
        f = draws.freeze(eng, "PG-T", "2026-12")
        monkeypatch.setattr(sqlite3, "connect", real)
        assert bool(calls) == (split_rows == 2)  # only the split scan opens a second connection
        frozen.append((f.frame_sha256, f.public_frame_sha256, f.frame_size, f.strata))
        eng.dispose()
    assert frozen[0] == frozen[1] and frozen[0][2] > 1000
    fell_back = any("second scan connection failed" in r.getMessage() for r in caplog.records)
    assert fell_back == (second_connection == "fails")
