"""Backup and restore of a SQLite database: consistent under writes, checked before it replaces anything."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text, update
from sqlmodel import Session
from typer.testing import CliRunner

from db.engine import make_engine
from db.models import AuditEvent, Draw, Task
from scheduler.cli import app
from scheduler.audit import service as auditlog
from scheduler.audit import backup
from scheduler.draw import service as draws
from scheduler.access.context import CLI
from scheduler.plans.service import PlanInput
from tests.factories import save_approved
from scheduler.verify import verify_package
from tests.factories import world

SEED = "31415926535897932384626433"
GS = PlanInput(code="PG-GS", name="企业公示信息抽查", lead_department="SCJGJ", item_codes=["GS-01"],
               ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"})


@pytest.fixture
def drawn(sqlite_url):
    eng = make_engine(sqlite_url)
    world(eng, 1500)
    save_approved(eng, GS)
    draws.execute(eng, "PG-GS", "2026-11", seed=SEED)
    draws.execute(eng, "PG-GS", "2026-12", seed="27182818284590452353602874")
    yield sqlite_url, eng
    eng.dispose()


def _writer(eng, stop: threading.Event, done: list[int], five: threading.Event, errors: list[str]) -> None:
    """The app meanwhile: small audited writes, one transaction each; `five` is set after the fifth."""
    try:
        while not stop.is_set():
            with Session(eng) as s:
                auditlog.record(s, CLI, "test.write", f"n:{len(done)}", {"i": len(done)})
                s.commit()
            done.append(1)
            if len(done) >= 5:
                five.set()
    except Exception as exc:  # noqa: BLE001 — reported by the test
        errors.append(repr(exc))
    finally:
        five.set()  # never leave the test waiting


def test_backup_under_writes_restores_and_every_package_reverifies(drawn, tmp_path):
    url, eng = drawn
    stop, done, five, errors = threading.Event(), [], threading.Event(), []
    t = threading.Thread(target=_writer, args=(eng, stop, done, five, errors))
    t.start()
    try:
        assert five.wait(60) and not errors, f"the app's writes did not get going: {errors}"
        rep = backup.backup(url, tmp_path / "b.db")
    finally:
        stop.set()
        t.join(60)
    assert not t.is_alive() and not errors, errors
    assert rep.check.ok and rep.bytes > 0 and len(done) >= 5
    new = tmp_path / "restored" / "dsr.db"
    chk = backup.restore(rep.out, f"sqlite:///{new}")
    assert chk.ok and chk.audit_events == rep.check.audit_events
    eng2 = make_engine(f"sqlite:///{new}")
    try:
        assert auditlog.verify(eng2).ok
        with Session(eng2) as s:
            ids = list(s.execute(select(Draw.id).where(Draw.status == "drawn")).scalars())
            assert s.execute(select(func.count()).select_from(Task)).scalar_one() > 0
        assert len(ids) == 2
        for i in ids:
            draws.write_packages(eng2, i, tmp_path / f"a{i}")
            assert verify_package(tmp_path / f"a{i}").ok
    finally:
        eng2.dispose()


def test_restore_refuses_non_empty_target_without_force(drawn, tmp_path):
    url, eng = drawn
    b = backup.backup(url, tmp_path / "b.db").out
    with pytest.raises(backup.BackupError, match="--force"):
        backup.restore(b, url)
    eng.dispose()
    assert backup.restore(b, url, force=True).ok
    assert auditlog.verify(eng).ok


def test_restore_refuses_a_database_another_program_holds_open(drawn, tmp_path):
    url, eng = drawn
    b = backup.backup(url, tmp_path / "b.db").out
    with eng.connect() as c:  # the app, idle but connected
        c.execute(text("SELECT 1"))
        with pytest.raises(backup.BackupError, match="正在被其他程序使用"):
            backup.restore(b, url, force=True)
    eng.dispose()
    assert backup.restore(b, url, force=True).ok


def test_corrupted_or_tampered_backup_is_refused_and_target_untouched(drawn, tmp_path):
    url, _eng = drawn
    b = backup.backup(url, tmp_path / "b.db").out
    target = tmp_path / "t.db"
    # Bytes overwritten in the middle of the file (pages of the task table and its indexes).
    bad = tmp_path / "bad.db"
    data = bytearray(b.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 8192] = b"\xa5" * 8192
    bad.write_bytes(bytes(data))
    with pytest.raises(backup.BackupError, match="拒绝恢复"):
        backup.restore(bad, f"sqlite:///{target}")
    assert not target.exists()
    # Not a database at all.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(backup.BackupError, match="拒绝恢复"):
        backup.restore(junk, f"sqlite:///{target}")
    # A well-formed file whose audit trail was edited.
    tam = tmp_path / "tam.db"
    tam.write_bytes(b.read_bytes())
    e = make_engine(f"sqlite:///{tam}")
    with e.begin() as c:
        c.execute(update(AuditEvent).where(AuditEvent.id == 2).values(actor="someone-else"))
    e.dispose()
    with pytest.raises(backup.BackupError, match="审计链"):
        backup.restore(tam, f"sqlite:///{target}")
    assert not target.exists() and not list(tmp_path.glob(".t.db.restore-*"))


def test_cli_backup_and_restore(drawn, tmp_path, monkeypatch):
    url, eng = drawn
    r = CliRunner()
    monkeypatch.setenv("DSR_DATABASE_URL", url)
    res = r.invoke(app, ["backup", str(tmp_path / "c.db")])
    assert res.exit_code == 0, res.output
    assert "已备份到" in res.output
    res = r.invoke(app, ["restore", str(tmp_path / "c.db")])
    assert res.exit_code == 1 and "--force" in res.output
    eng.dispose()
    res = r.invoke(app, ["restore", str(tmp_path / "c.db"), "--force"])
    assert res.exit_code == 0, res.output
    assert "审计链" in res.output
    with eng.connect() as c:
        assert c.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"


def test_postgresql_prints_pg_dump_and_pg_restore(monkeypatch, tmp_path):
    monkeypatch.setenv("DSR_DATABASE_URL", "postgresql+psycopg://dsr:secret@db.example:5432/dsr")
    r = CliRunner()
    res = r.invoke(app, ["backup", str(tmp_path / "x.dump")])
    assert res.exit_code == 0 and "pg_dump --format=custom" in res.output and "secret" not in res.output
    assert "postgresql://dsr:***@db.example:5432/dsr" in res.output
    res = r.invoke(app, ["restore", str(tmp_path / "x.dump")])
    assert res.exit_code == 0 and "pg_restore" in res.output and "--single-transaction" in res.output
    assert not (tmp_path / "x.dump").exists()


def _flip_certificate_digit(path) -> None:
    """Change one digit of a selected entity's rank in a stored certificate, in the file's bytes: a value in a column
    that no index covers, so PRAGMA integrity_check cannot see it (bit rot, a bad copy)."""
    import re

    data = bytearray(path.read_bytes())
    m = re.search(rb'"rank": ?(\d)', data)
    assert m, "the backup holds a certificate"
    i = m.start(1)
    data[i] = ord("7") if data[i] != ord("7") else ord("3")
    path.write_bytes(bytes(data))


def test_a_value_corrupted_in_an_unindexed_column_is_refused_by_the_manifest(drawn, tmp_path):
    """Issue 18 §6: before, such a backup restored and reported "passed"; now the manifest's
    SHA-256 of the part does not match, restore refuses before touching anything, and
    `dsr backup verify FILE` says so without restoring."""
    from typer.testing import CliRunner

    from scheduler.cli import app

    url, _eng = drawn
    good = backup.backup(url, tmp_path / "good.db").out
    assert backup.verify_backup(good).ok
    bad = tmp_path / "bad.db"
    bad.write_bytes(good.read_bytes())
    _flip_certificate_digit(bad)
    before = bad.read_bytes()
    chk = backup.verify_backup(bad)
    assert not chk.ok and any("draw" in p and "清单" in p for p in chk.problems), chk.problems
    assert bad.read_bytes() == before  # verify changes nothing
    target = tmp_path / "t.db"
    with pytest.raises(backup.BackupError, match="清单"):
        backup.restore(bad, f"sqlite:///{target}")
    assert not target.exists() and not list(tmp_path.glob(".t.db.restore-*"))
    r = CliRunner()
    res = r.invoke(app, ["backup", "verify", str(bad)])
    assert res.exit_code == 1 and "清单" in res.output, res.output
    res = r.invoke(app, ["backup", "verify", str(good)])
    assert res.exit_code == 0 and "核验通过" in res.output, res.output
    # A restored database does not keep the manifest (it describes the backup only).
    chk = backup.restore(good, f"sqlite:///{target}")
    assert chk.ok
    import sqlite3

    con = sqlite3.connect(str(target))
    assert not con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (backup.MANIFEST_TABLE,)).fetchone()
    con.close()


def test_a_backup_without_manifest_is_refused(drawn, tmp_path):
    url, _eng = drawn
    plain = tmp_path / "plain.db"
    backup._copy(backup.sqlite_path(url), plain)
    backup._leave_wal(plain)
    assert not backup.verify_backup(plain).ok
    with pytest.raises(backup.BackupError, match="清单"):
        backup.restore(plain, f"sqlite:///{tmp_path / 't.db'}")


def test_attachment_files_travel_in_the_backup_and_come_back_checked(sqlite_url, tmp_path):
    """Photos and reports attached to a task are in the backup with their SHA-256; after one is
    deleted and another altered in the store, a restore brings both back and verifies them."""
    import hashlib
    import sqlite3

    from scheduler.results import attachments_service as att
    from tests.test_fieldrecords import PDF, PNG, _sp_task
    from tests.test_results_service import W

    eng = make_engine(sqlite_url)
    w = W(eng)
    t = _sp_task(w)
    store = att.store_dir(eng)
    (tmp_path / "现场.png").write_bytes(PNG)
    (tmp_path / "报告.pdf").write_bytes(PDF)
    photo = att.attach(eng, t, tmp_path / "现场.png", w.inspector(t), kind="photo")
    report = att.attach(eng, t, tmp_path / "报告.pdf", w.inspector(t), kind="report", report_no="WT2026-0012")
    assert att.verify_files(eng) == []
    out = tmp_path / "b.db"
    rep = backup.backup(sqlite_url, out)
    assert rep.files == 2 and rep.file_problems == [] and rep.check.files == 2
    con = sqlite3.connect(str(out))
    assert {r[0] for r in con.execute(f"SELECT sha256 FROM {backup.FILES_TABLE}")} == {photo.sha256, report.sha256}
    con.close()
    assert backup.verify_backup(out).ok

    photo_file = store / photo.sha256[:2] / photo.sha256
    report_file = store / report.sha256[:2] / report.sha256
    photo_file.unlink()
    report_file.write_bytes(PDF.replace(b"report", b"forged"))
    problems = att.verify_files(eng)
    assert any("文件缺失" in p for p in problems) and any("已被改动" in p for p in problems)
    eng.dispose()

    chk = backup.restore(out, sqlite_url, force=True)
    assert chk.ok and (chk.files, chk.files_written, chk.files_intact) == (2, 2, 0)
    assert hashlib.sha256(photo_file.read_bytes()).hexdigest() == photo.sha256
    assert report_file.read_bytes() == PDF
    eng = make_engine(sqlite_url)
    assert att.verify_files(eng) == []
    with eng.connect() as c:  # the backup's own tables do not stay in the restored database
        assert not c.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'dsr_backup%'")).all()
    eng.dispose()

    # A file altered inside the backup is found by `dsr backup verify` and refuses the restore.
    con = sqlite3.connect(str(out))
    con.execute(f"UPDATE {backup.FILES_TABLE} SET content = ? WHERE sha256 = ?", (b"x" + PNG, photo.sha256))
    con.commit()
    con.close()
    assert not backup.verify_backup(out).ok
    with pytest.raises(backup.BackupError):
        backup.restore(out, sqlite_url, force=True)


def test_a_file_already_missing_is_reported_and_the_rest_backed_up(sqlite_url, tmp_path):
    from scheduler.results import attachments_service as att
    from tests.test_fieldrecords import PNG, _sp_task
    from tests.test_results_service import W

    eng = make_engine(sqlite_url)
    w = W(eng)
    t = _sp_task(w)
    (tmp_path / "a.png").write_bytes(PNG)
    (tmp_path / "b.png").write_bytes(PNG + b"2")
    a = att.attach(eng, t, tmp_path / "a.png", w.inspector(t))
    att.attach(eng, t, tmp_path / "b.png", w.inspector(t))
    (att.store_dir(eng) / a.sha256[:2] / a.sha256).unlink()
    eng.dispose()
    rep = backup.backup(sqlite_url, tmp_path / "b.db")
    assert rep.files == 1 and len(rep.file_problems) == 1 and "缺失" in rep.file_problems[0] and rep.check.ok
