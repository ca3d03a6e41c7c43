"""The column-wise fast paths of the importer give exactly what the cell-by-cell rules give.

`scheduler.library.importing` validates a big file column by column: NFKC over a whole
column at once, free text without a call per cell, USCC check characters with
numpy, and the unquoted-CSV reader that slices columns out of one split. Each
is checked here against the plain per-cell reference (`nfkc`, then the column's
converter), on hostile cells: full-width forms, combining marks and half-width
kana that compose across a cell boundary, ideographic spaces, NULs, lower case.
"""

from __future__ import annotations

import csv
import io
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.library import importing
from scheduler.demo import pinggu as reference
from scheduler.library import uscc
from scheduler.library.importing import COLUMNS, FIELDS, SPECS, Table, nfkc, read_table, validate_rows
from tests.test_importing import GOOD, GOOD2, lookups

# Characters that normalisation changes or that compose with a neighbour.
HOSTILE = (
    "aZ09 ,;；\u3000\u00a0\t"  # ASCII, separators, ideographic and no-break spaces
    "ＡＢ１２Ｃ"  # full-width
    "\u0301\u0308e"  # combining acute / diaeresis after a letter
    "ｶﾞﾟ"  # half-width katakana + voiced marks: NFKC composes them
    "①ﬁ㍿"  # compatibility characters
    "北京滨河街道企业"
    "\x00"
)
cells = st.text(alphabet=HOSTILE, max_size=6)


def _made(body: str) -> str:
    return uscc.make("9", "1", reference.AREA_CODE, body)


codes = st.one_of(
    st.text(alphabet=uscc.ALPHABET, min_size=8, max_size=8).map(_made),
    st.text(alphabet=uscc.ALPHABET, min_size=8, max_size=8).map(lambda b: _made(b).lower()),
    st.text(alphabet=uscc.ALPHABET, min_size=8, max_size=8).map(
        lambda b: "".join(chr(ord(c) + 0xFEE0) for c in _made(b))  # full-width
    ),
    st.text(alphabet=uscc.ALPHABET, min_size=8, max_size=8).map(lambda b: _made(b)[:17] + "0"),
    st.text(alphabet=uscc.ALPHABET, min_size=8, max_size=8).map(lambda b: " " + _made(b) + "\u3000"),
    st.text(alphabet=uscc.ALPHABET + "IOSVZ a", min_size=16, max_size=19),
    # a right check character over any 17 characters (letters where the area digits go)
    st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17).map(lambda s: s + uscc.check_char(s)),
    st.sampled_from(["", GOOD, GOOD2, GOOD[:2] + "A" + GOOD[3:]]),
)


def _reference(kind: str, field: str, col: list[str]) -> list:
    """The rule for one cell, cell by cell: nfkc, empty/required, length, converter."""
    spec = next(c for c in SPECS[kind] if c.field == field)
    fn = importing._converters(kind, lookups())[field]
    default = importing.DEFAULTS[kind].get(field, "")
    ml = importing.MAX_LEN[kind].get(field)
    out = []
    for v in col:
        v = nfkc(v)
        if not v:
            out.append(("bad", "", "必填项为空") if spec.required else default)
        elif ml is not None and len(v) > ml:
            out.append(("bad", v, f"长度超过{ml}个字符"))
        else:
            try:
                out.append(fn(v))
            except ValueError as exc:
                out.append(("bad", v, str(exc)))
    return out


def _fast(kind: str, field: str, col: list[str], normalised: bool = False) -> list:
    spec = next(c for c in SPECS[kind] if c.field == field)
    fn = importing._converters(kind, lookups())[field]
    default = importing.DEFAULTS[kind].get(field, "")
    ml = importing.MAX_LEN[kind].get(field)
    failures: list = []
    conv = importing._column_converter(fn, spec.required, default, ml, failures)
    res = importing._convert_column(list(col), fn, conv, ml, default, spec.required, normalised)
    got = [("bad", x.value, x.reason) if isinstance(x, importing._Bad) else x for x in res]
    assert bool(failures) == any(isinstance(x, tuple) and x and x[0] == "bad" for x in got)
    return got


@settings(max_examples=300, deadline=None)
@given(st.lists(cells, max_size=30))
def test_normalise_column_is_nfkc_of_each_cell(col):
    assert importing.normalise_column(col) == [nfkc(v) for v in col]
    assert importing.normalise_column(tuple(col)) == [nfkc(v) for v in col]


def test_normalise_column_does_not_compose_across_cells():
    # "ｶ" + "ﾞ" is one character "ガ" under NFKC; in two cells it must stay two.
    assert unicodedata.normalize("NFKC", "ｶﾞ") == "ガ"
    assert importing.normalise_column(["ｶ", "ﾞ", "e", "\u0301x"]) == ["カ", "\u3099", "e", "\u0301x"]
    assert importing.normalise_column(["a\x00b", "ｶﾞ"]) == ["a\x00b", "ガ"]  # a NUL inside: cell by cell


@settings(max_examples=300, deadline=None)
@given(st.lists(codes, max_size=40))
def test_uscc_column_agrees_with_the_cell_rule(col):
    assert _fast("enterprises", "uscc", col) == _reference("enterprises", "uscc", col)


def test_uscc_column_all_valid_and_one_bad():
    good = [_made(f"{i:08d}") for i in range(1000)]
    assert _fast("enterprises", "uscc", good) == good
    col = good[:500] + [good[500][:17] + ("1" if good[500][17] != "1" else "2")] + good[501:]
    got = _fast("enterprises", "uscc", col)
    assert got[:500] == good[:500] and got[501:] == good[501:]
    assert got[500][0] == "bad" and "校验码错误" in got[500][2]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([c.field for c in SPECS["enterprises"] if c.field != "uscc"]),
    st.lists(st.one_of(cells, st.sampled_from(["滨河街道", "企业", "存续", "B", "C1391", "2019-03-05", "2019/3/5", "食品经营;特种设备"])),
             max_size=40),
    st.integers(min_value=1, max_value=30),
)
def test_every_enterprise_column_agrees_with_the_cell_rule(field, col, repeat):
    col = col * repeat  # long repetitive columns take the convert-once path
    assert _fast("enterprises", field, col) == _reference("enterprises", field, col)


def test_long_free_text_is_still_checked():
    col = ["名" * 200, "名" * 201, "", " 名 "]
    assert _fast("enterprises", "name", col) == _reference("enterprises", "name", col)
    assert _fast("enterprises", "address", col) == _reference("enterprises", "address", col)


# --- the column-slicing CSV reader -------------------------------------------------------------

plain_cells = st.text(alphabet="ab 中Ａ１\u3000ｶﾞ\u0301；;", max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(plain_cells, min_size=3, max_size=3), min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]))
def test_column_reader_matches_csv_module_and_knows_normalisation(table, eol):
    text = eol.join(",".join(r) for r in [["h1", "h2", "h3"]] + table) + eol
    expect = [r for r in csv.reader(io.StringIO(text, newline="")) if r and any(r)]
    t = read_table("x.csv", text.encode("utf-8"))
    assert [t.header] + t.rows == expect
    assert len(t) == len(expect) - 1
    assert [t.row(i) for i in range(len(t))] == expect[1:]
    if t.normalised:
        assert all(nfkc(c) == c.strip() for r in expect for c in r)


def _as_rows(t: Table) -> Table:
    """The same table held row by row and not known to be normalised (the slow path)."""
    return Table(t.encoding, list(t.header), [list(r) for r in t.rows], list(t.row_numbers))


ent_cells = st.one_of(cells.filter(lambda s: "," not in s and "\x00" not in s),
                      st.sampled_from(["滨河街道", "企业", "存续", "B", "C1391", "2019-03-05", GOOD, GOOD2, "北京示例有限公司"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(ent_cells, min_size=10, max_size=10), min_size=1, max_size=12))
def test_validation_of_the_column_table_equals_the_row_table(table):
    text = "\n".join(",".join(r) for r in [list(COLUMNS["enterprises"])] + table) + "\n"
    t = read_table("e.csv", text.encode("utf-8"))
    a = validate_rows("enterprises", "e.csv", t, lookups())
    b = validate_rows("enterprises", "e.csv", _as_rows(t), lookups())
    assert a.fields == b.fields == FIELDS["enterprises"]
    assert (a.records, a.row_numbers, a.total) == (b.records, b.row_numbers, b.total)
    assert [vars(e) for e in a.errors] == [vars(e) for e in b.errors]
    assert a.rejected_rows == b.rejected_rows


def test_a_valid_bench_like_file_takes_the_column_path():
    rows = [[_made(f"{i:08d}"), f"北京{i}有限公司", "企业", "C1391", "滨河街道", "", "2019-03-05", "存续", "B", ""]
            for i in range(50)]
    text = "\n".join(",".join(r) for r in [list(COLUMNS["enterprises"])] + rows) + "\n"
    t = read_table("e.csv", text.encode("utf-8"))
    assert t._columns is not None and t.normalised
    v = validate_rows("enterprises", "e.csv", t, lookups())
    assert not v.errors and len(v.records) == 50 and v.row_numbers == list(range(2, 52))


# --- the service writes the column-held values like the record-held ones -------------------------------


def test_first_import_without_optional_columns_stores_the_defaults(engine, pinggu):
    from sqlalchemy import select
    from sqlmodel import Session

    from db.models import Enterprise
    from scheduler.library.import_service import import_file

    header = [h for h in COLUMNS["enterprises"] if h not in ("住所", "成立日期", "许可标签")]
    rows = [[_made(f"{i:08d}"), f"北京{i}有限公司", "企业", "c1391", "滨河街道", "存续", "b"] for i in range(30)]
    data = ("\n".join(",".join(r) for r in [header] + rows) + "\n").encode("utf-8")
    rep = import_file(engine, "enterprises", "e.csv", data)
    assert (rep.inserted, rep.errors) == (30, [])
    with Session(engine) as s:
        got = s.execute(select(Enterprise).order_by(Enterprise.id)).scalars().all()
    assert [e.uscc for e in got] == [r[0] for r in rows]
    e = got[3]
    assert (e.name, e.industry_code, e.town_code, e.risk_class) == ("北京3有限公司", "C1391", "110117001", "B")
    assert (e.address, e.registered_on, e.tags) == ("", None, "")
    assert e.updated_at is not None


def test_reimport_sorts_rows_into_new_unchanged_changed(engine, pinggu):
    """The C-level sorting of a re-import: booleans (SQLite 0/1), dates (PostgreSQL date
    objects) and composite keys (conflicts) compare equal to what validation makes."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from db.models import ChangeRecord
    from scheduler.library.import_service import import_file

    def csv_of(kind, rows):
        return ("\n".join(",".join(r) for r in [list(COLUMNS[kind])] + rows) + "\n").encode("utf-8")

    insp = [[f"P{i}", f"人员{i}", "区市场监管局", f"C{i}", "食品", "滨河街道", "是" if i % 2 else "否"] for i in range(6)]
    assert import_file(engine, "inspectors", "i.csv", csv_of("inspectors", insp)).inserted == 6
    rep = import_file(engine, "inspectors", "i.csv", csv_of("inspectors", insp))
    assert (rep.inserted, rep.updated, rep.unchanged) == (0, 0, 6)

    ents = [[_made(f"R{i:07d}"), f"企业{i}", "企业", "C1391", "滨河街道", "", "2019-03-05", "存续", "B", ""] for i in range(6)]
    assert import_file(engine, "enterprises", "e.csv", csv_of("enterprises", ents)).inserted == 6
    ents[2][6] = "2020-01-01"
    ents[4][1] = "改名"
    ents.append([_made("R9999999"), "新企业", "企业", "C1391", "滨河街道", "", "", "存续", "A", ""])
    rep = import_file(engine, "enterprises", "e2.csv", csv_of("enterprises", ents))
    assert (rep.inserted, rep.updated, rep.unchanged) == (1, 2, 4)
    with Session(engine) as s:
        keys = s.execute(select(ChangeRecord.key).where(ChangeRecord.import_run_id == rep.import_run_id)
                         .order_by(ChangeRecord.id)).scalars().all()
    assert keys == [ents[2][0], ents[4][0]]

    conf = [[f"P{i}", ents[i][0], "亲属关系", "本人申报", ""] for i in range(4)]
    assert import_file(engine, "conflicts", "c.csv", csv_of("conflicts", conf)).inserted == 4
    conf[1][4] = "备注"
    rep = import_file(engine, "conflicts", "c.csv", csv_of("conflicts", conf))
    assert (rep.inserted, rep.updated, rep.unchanged) == (0, 1, 3)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(ChangeRecord)
                         .where(ChangeRecord.import_run_id == rep.import_run_id)).scalar_one() == 1


def test_file_hash_of_a_big_file_is_recorded(engine, pinggu):
    """Above 1 MB the SHA-256 is computed on a background thread while the file is parsed."""
    import hashlib

    from sqlmodel import Session

    from db.models import ImportRun
    from scheduler.library.import_service import import_file

    rows = [[_made(f"H{i:07d}"), f"北京市平谷区示例{i}有限公司" + "号" * 40, "企业", "C1391", "滨河街道",
             "北京市平谷区示例路" + "甲" * 20, "2019-03-05", "存续", "B", ""] for i in range(6000)]
    data = ("\n".join(",".join(r) for r in [list(COLUMNS["enterprises"])] + rows) + "\n").encode("utf-8")
    assert len(data) > 1 << 20
    rep = import_file(engine, "enterprises", "big.csv", data)
    assert rep.inserted == 6000
    with Session(engine) as s:
        assert s.get(ImportRun, rep.import_run_id).file_sha256 == hashlib.sha256(data).hexdigest()
