"""A crash between writing an outbound batch and recording it loses nothing and doubles nothing.

`dsr exchange export` runs in a child process held at a pause point (tests/pause_points.py) and is
killed there (SIGKILL): after the batch was committed and before any file was written, and after
the folder was in place and before that was recorded. The next export writes the same batch (same
id, same bytes), not a new one; after the receipt every published result is accepted exactly once.
Real SQLite file and real PostgreSQL."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.engine import make_engine
from db.models import ExchangeBatch, ExchangeRecord
from scheduler.access.context import CLI
from scheduler.docking import outbound, receipts
from scheduler.docking.manifest import read_batch
from tests.docking_helpers import accepted_versions, demo, live_duplicates, published_ids, read_records, write_receipt
from tests.pause_points import Child


def _env(url: str) -> dict:
    e = dict(os.environ)
    e["DSR_DATABASE_URL"] = url
    return e


def _state(eng):
    with Session(eng) as s:
        return (list(s.execute(select(ExchangeBatch.batch_no, ExchangeBatch.status, ExchangeBatch.written_at)).all()),
                len(s.execute(select(ExchangeRecord.id)).all()))


@pytest.mark.parametrize("point", ["exchange.recorded", "exchange.written"])
def test_killed_export_is_resumed_not_doubled(db_url, tmp_path, point):
    eng = make_engine(db_url)
    demo(eng)
    published = published_ids(eng)
    out = tmp_path / "out"
    with Child(["exchange", "export", "--to", "gsxt", "--out", str(out)], at=[point], env=_env(db_url)) as c:
        c.wait_paused(point)
        c.kill()
    batches, n_records = _state(eng)
    assert len(batches) == 1 and n_records == len(published)  # recorded once, whole
    (bno, status, written_at), = batches
    assert status == "生成" and written_at is None
    folder = out / bno
    if point == "exchange.recorded":
        assert not folder.exists()
    else:
        first_bytes = {p.name: p.read_bytes() for p in folder.iterdir()}
    leftovers = list(out.glob(".*")) if out.exists() else []
    assert leftovers == []  # no half-written folder left behind

    # The next export writes that same batch, and only it.
    with Child(["exchange", "export", "--to", "gsxt", "--out", str(out)], env=_env(db_url)) as c:
        assert c.wait() == 0, c.output()
        assert c.stdout().splitlines()[0] == bno
    read_batch(folder)  # complete: every digest matches its manifest
    if point == "exchange.written":
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == first_bytes
    assert {int(r["记录编号"].split("-R")[1].split("-")[0]) for r in read_records(folder)} == published
    batches, n_records = _state(eng)
    assert len(batches) == 1 and n_records == len(published) and batches[0][2] is not None
    assert outbound.export(eng, "gsxt", out, CLI) is None  # nothing else waits

    receipts.import_receipt(eng, write_receipt(folder, tmp_path / "r.json"), CLI)
    assert accepted_versions(eng) == {rid: [1] for rid in published}
    assert live_duplicates(eng) == 0
    eng.dispose()
