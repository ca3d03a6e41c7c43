"""`dsr exchange …` through the real command line: export prints the batch id, status --json lists
the states, sent/receipt move them, import --dry-run prints the change report and changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import select
from sqlmodel import Session

from db.engine import make_engine
from db.models import Enterprise
from scheduler.docking import formats as fm
from tests.docking_helpers import demo, inbound_batch, published_ids, write_receipt

DSR = [sys.executable, "-m", "scheduler"]


def test_exchange_commands(sqlite_url, tmp_path):
    eng = make_engine(sqlite_url)
    demo(eng)
    n = len(published_ids(eng))
    env = dict(os.environ, DSR_DATABASE_URL=sqlite_url, COLUMNS="200")

    def run(*args):
        return subprocess.run(DSR + ["exchange", *args], env=env, capture_output=True, text=True, timeout=300)

    out = tmp_path / "out"
    r = run("export", "--to", "gsxt", "--out", str(out))
    assert r.returncode == 0, r.stderr
    bno = r.stdout.splitlines()[0]
    assert bno == "110117-GSXT-000001" and (out / bno / "manifest.json").exists()
    r = run("status", "--json")
    st = json.loads(r.stdout)
    assert [(b["batch_id"], b["status"], b["records"]) for b in st] == [(bno, "生成", n)]
    assert run("sent", bno).returncode == 0
    assert json.loads(run("status", "--json").stdout)[0]["status"] == "已报送"
    r = run("receipt", str(write_receipt(out / bno, tmp_path / "r.json", lambda x: "名称不符" if x["版本"] == 1 and
                                         x["记录编号"].endswith("01-V1") else None)))
    assert r.returncode == 0 and "回执已导入" in r.stdout, r.stderr
    assert json.loads(run("status", "--json").stdout)[0]["status"] == "已回执"
    r = run("export", "--to", "gsxt", "--out", str(out))
    assert r.returncode == 0 and r.stdout.strip() == "没有待报送的记录"

    with Session(eng) as s:
        some = s.execute(select(Enterprise.uscc).where(Enterprise.status == "存续").order_by(Enterprise.uscc)).scalars().first()
    folder = inbound_batch(tmp_path / "in", fm.CITY_RISK, 1, [{"统一社会信用代码": some, "信用风险分类": "D"}])
    r = run("import", str(folder), "--dry-run")
    assert r.returncode == 0 and "试导入（未写入）" in r.stdout and some in r.stdout, r.stderr
    with Session(eng) as s:
        before = s.execute(select(Enterprise.risk_class).where(Enterprise.uscc == some)).scalar_one()
    r = run("import", str(folder / "manifest.json"), "--json")
    rep = json.loads(r.stdout)
    assert rep["changed"] == ([] if before == "D" else [{"uscc": some, "changes": {"信用风险分类": [before, "D"]}}])
    r = run("import", str(folder))
    assert r.returncode == 0 and "已于此前导入" in r.stdout

    r = run("receipt", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "错误：" in r.stderr and "无法读取回执文件" in r.stderr
    eng.dispose()
