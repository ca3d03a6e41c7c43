"""Hostile input for the importers (hypothesis): import_file never raises for bad data,
every error is located (file, row, column, or the whole file), and a file with any
error leaves the database exactly as it was (the default, non-partial mode).

Each test counts the examples hypothesis actually ran into TRIED; the totals are
printed when the module finishes (run with -s to see them).
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import AuditEvent, ChangeRecord, Enterprise, ImportRun
from scheduler.library import importing
from scheduler.demo import pinggu as reference
from scheduler.library import uscc
from scheduler.library.importing import COLUMNS
from scheduler.demo.service import ensure_pinggu
from scheduler.library.import_service import import_file

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
TRIED: dict[str, int] = {}
HEADER = COLUMNS["enterprises"]
TOWNS = [name for _code, name in reference.TOWNS]


@pytest.fixture(scope="module", autouse=True)
def _print_counts():
    yield
    print(f"\nimport fuzz cases tried per test: {TRIED}; total {sum(TRIED.values())}")


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    from db.engine import make_engine
    from db.migrate import upgrade
    from tests.factories import add_enterprises

    e = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'dsr.db'}")
    upgrade(e)
    with Session(e) as s:
        ensure_pinggu(s)
        s.commit()
    add_enterprises(e, 50)
    yield e
    e.dispose()


def snapshot(engine) -> tuple:
    """Row counts of what an import writes, and a hash of the whole enterprise table."""
    with Session(engine) as s:
        counts = tuple(s.execute(select(func.count()).select_from(m)).scalar_one()
                       for m in (Enterprise, ImportRun, ChangeRecord, AuditEvent))
        h = hashlib.sha256()
        for row in s.execute(select(Enterprise.__table__).order_by(Enterprise.id)):
            h.update(repr(tuple(row)).encode("utf-8"))
    return counts, h.hexdigest()


def check(engine, name: str, data: bytes, test: str):
    """The property shared by every test; returns the report."""
    TRIED[test] = TRIED.get(test, 0) + 1
    before = snapshot(engine)
    rep = import_file(engine, "enterprises", name, data)
    for e in rep.errors:
        assert e.file == name and e.reason
        assert e.row == 0 or (e.row >= 1 and e.column), e
    if rep.errors:
        assert snapshot(engine) == before, rep.errors[:3]
        assert rep.import_run_id is None and rep.inserted == rep.updated == 0
    return rep


def code(i: int) -> str:
    return uscc.make("9", "1", reference.AREA_CODE, f"MF{i:06d}")


def row(i: int, name: str) -> list[str]:
    return [code(i), name, "企业", "F5211", TOWNS[i % len(TOWNS)], "平谷区测试路", "2019-03-05", "存续", "B", ""]


def to_csv(rows: list[list[str]], header=HEADER) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


names = st.sampled_from([".csv", ".xlsx", ".xls", ".txt", ".CSV", ""])


@FUZZ
@given(data=st.binary(max_size=4096), ext=names)
def test_random_bytes(eng, data, ext):
    check(eng, f"f{ext}", data, "random_bytes")


cell = st.text(alphabet=st.sampled_from(list('ab,"\r\n\t 企业存续滨河;=+-@\'\\') + ["9"]), max_size=12)


@FUZZ
@given(rows=st.lists(st.lists(cell, min_size=0, max_size=14), max_size=12), good_header=st.booleans(),
       prefix=st.sampled_from(["", '"', '""', "\ufeff", ",,,"]))
def test_malformed_csv_random_quotes_ragged_rows(eng, rows, good_header, prefix):
    header = ",".join(HEADER) if good_header else "a,b"
    body = "\r\n".join(",".join(r) for r in rows)
    check(eng, "ragged.csv", (prefix + header + "\r\n" + body).encode("utf-8"), "malformed_csv")


@FUZZ
@given(n=st.integers(1, 6), start=st.integers(0, 10_000),
       enc=st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "big5", "latin-1", "gb18030", "utf-8-sig", "cp1252"]))
def test_valid_rows_in_wrong_encodings(eng, n, start, enc):
    # Big5 lacks most simplified characters: a Big5 system writes "?" for them, as here.
    latin = enc in ("latin-1", "cp1252")
    rows = [row(start + i, f"Café Müller {i} GmbH" if latin else f"北京平谷示例{i}號有限公司") for i in range(n)]
    header = ["uscc", "name", "entity_type", "industry_code", "town_code", "address", "registered_on", "status",
              "risk_class", "tags"] if latin else HEADER
    if latin:
        rows = [[r[0], r[1], "ent", "F5211", "Binhe", "Rd 1", "2019-03-05", "alive", "B", ""] for r in rows]
    rep = check(eng, "enc.csv", to_csv(rows, header).encode(enc, errors="replace"), "encodings")
    if enc in ("utf-16", "gb18030", "utf-8-sig"):  # readable: BOM or the accepted Chinese encodings
        assert not any(e.row == 0 for e in rep.errors), rep.errors[:2]


@FUZZ
@given(prefix=st.sampled_from(["=", "+", "-", "@", "\t=", " ="]),
       body=st.sampled_from(["CMD|' /C calc'!A0", "1+1", "HYPERLINK(\"http://x\",\"点我\")", "SUM(A1:A9)", "企业"]),
       i=st.integers(20_000, 40_000))
def test_formula_looking_names_import_as_text(eng, prefix, body, i):
    name = prefix + body
    rep = check(eng, "formula.csv", to_csv([row(i, name)]).encode("utf-8"), "formula_names")
    assert rep.ok, rep.errors
    with Session(eng) as s:
        stored = s.execute(select(Enterprise.name).where(Enterprise.uscc == code(i))).scalar_one()
    assert stored == importing.nfkc(name)


@FUZZ
@given(ids=st.lists(st.integers(50_000, 50_005), min_size=2, max_size=8))
def test_duplicate_usccs_are_rejected_whole(eng, ids):
    rep = check(eng, "dup.csv", to_csv([row(i, f"重复测试{k}") for k, i in enumerate(ids)]).encode("utf-8"), "duplicates")
    assert bool(rep.errors) == (len(set(ids)) < len(ids))
    if rep.errors:
        assert any("重复" in e.reason for e in rep.errors)


def test_fixed_hostile_files(eng):
    n0 = TRIED.get("fixed", 0)
    csv_text = to_csv([row(60_000, "正常企业")])
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("a.csv", csv_text)
    cases = {
        "xlsx-is-csv.xlsx": csv_text.encode("utf-8"),
        "csv-is-zip.csv": zbuf.getvalue(),
        "empty.csv": b"",
        "blank.csv": b"\r\n \r\n",
        "empty.xlsx": b"",
        "broken.xlsx": b"PK\x03\x04" + b"\x00" * 200,
        "html.xlsx": b"<html><table><tr><td>1</td></tr></table></html>",
        "ole.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
        "nul.csv": csv_text.encode("utf-8") + b"\x00\x01",
    }
    for name, data in cases.items():
        rep = check(eng, name, data, "fixed")
        assert rep.errors and rep.errors[0].row == 0, name
    header_only = check(eng, "header-only.csv", (",".join(HEADER) + "\r\n").encode("utf-8"), "fixed")
    assert header_only.total == 0 and header_only.inserted == 0
    assert header_only.errors and "只有列名" in header_only.errors[0].reason  # an error, not "导入完成 0 行"
    huge = check(eng, "huge.csv", to_csv([row(60_001, "大" * 1_000_000)]).encode("utf-8"), "fixed")
    assert huge.errors and huge.errors[0].row == 2 and huge.errors[0].column == "企业名称"
    big_row = check(eng, "wide.csv", to_csv([row(60_002, "宽行") + ["x" * 1_000_000] * 3]).encode("utf-8"), "fixed")
    assert big_row.ok or big_row.errors
    assert TRIED["fixed"] - n0 == len(cases) + 3


@pytest.fixture(scope="module")
def pg_eng(pg_url):
    from db.engine import make_engine
    from tests.conftest import _truncate_pg
    from tests.factories import add_enterprises

    _truncate_pg(pg_url)
    e = make_engine(pg_url)
    with Session(e) as s:
        ensure_pinggu(s)
        s.commit()
    add_enterprises(e, 50)
    yield e
    e.dispose()


def _dup_file(ids: list[int]) -> bytes:
    return to_csv([row(i, f"重复测试{k}") for k, i in enumerate(ids)]).encode("utf-8")


hostile = st.one_of(
    st.binary(max_size=2048),
    st.lists(st.lists(cell, max_size=14), max_size=10).map(
        lambda rows: (",".join(HEADER) + "\r\n" + "\r\n".join(",".join(r) for r in rows)).encode("utf-8")),
    st.lists(st.integers(70_000, 70_004), min_size=2, max_size=6).map(_dup_file),
    st.tuples(st.integers(1, 4), st.sampled_from(["big5", "utf-16-le", "latin-1"])).map(
        lambda t: to_csv([row(80_000 + i, f"北京{i}號") for i in range(t[0])]).encode(t[1], errors="replace")),
)


@pytest.mark.postgres
@settings(FUZZ, max_examples=60)
@given(data=hostile, ext=st.sampled_from([".csv", ".xlsx"]))
def test_hostile_files_on_postgresql(pg_eng, data, ext):
    """The same property where rows are written with COPY."""
    check(pg_eng, f"pg{ext}", data, "postgresql")
