"""抽取结果公告: a printable announcement of one drawn draw (PDF).

It shows what the public package publishes and nothing more (no risk class, no stratum's
size or cutoff, docs/draw-algorithm.md §3.1): the plan, the period, the seed and its source
(with the ceremony's witnesses where they were recorded), the digests that bind the frame
and the hidden strata, the numbers per batch, the selected entities in draw order, and a QR
code leading to the public package.

fpdf2 writes the PDF with a Noto CJK font (Debian's fonts-noto-cjk), subset to the
characters used; segno draws the QR code.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Enterprise
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.access.scope import require_bureau
from scheduler.audit import service as auditlog
from scheduler.draw import service as draw_service
from scheduler.errors import DsrError
from scheduler.exchange import pdf as printing
from scheduler.results.selfcheck import published_draw

CST = dt.timezone(dt.timedelta(hours=8))


class AnnouncementRefused(DsrError, RuntimeError):
    code = "announcement.refused"


@dataclass
class Announcement:
    plan_code: str
    plan_name: str
    lead_department: str
    period: str
    seed: str
    seed_source: str
    witnesses: list[str]
    drawn_at: str
    frame_size: int
    public_frame_sha256: str
    commitments_sha256: str
    hidden_strata: int
    batches: dict[int, int]
    selected: list[tuple[int, int, str, str]] = field(default_factory=list)  # rank, batch, credit code, name


MAX_WITNESSES = 12
SEPARATOR = "、"


def record_witnesses(engine: Engine, draw_id: int, names: list[str], actor: Actor) -> list[str]:
    """Record the witnesses of a drawn draw's seed ceremony (shown on its announcement); audited."""
    clean = [n.strip() for n in names if n and n.strip()]
    if len(clean) > MAX_WITNESSES or any(len(n) > 50 or not n.isprintable() or SEPARATOR in n for n in clean):
        raise AnnouncementRefused(f"见证人最多 {MAX_WITNESSES} 位，每位姓名（含单位）不超过 50 个字符，不得含控制字符或顿号")
    with Session(engine) as s:
        d, plan, archive = published_draw(s, draw_id)
        require_bureau(s, actor, plan.bureau_id)
        require(actor, "draw.execute", department_id=plan.lead_department_id)
        if d.seed_source != "ceremony":
            raise AnnouncementRefused("本次抽取使用系统随机种子，没有现场摇号见证人")
        archive.witnesses = SEPARATOR.join(clean) or None
        s.add(archive)
        auditlog.record(s, actor, "draw.witnesses", f"draw:{d.id}", {"witnesses": clean}, bureau_id=plan.bureau_id)
        s.commit()
    return clean


def announcement(engine: Engine, draw_id: int, witnesses: list[str] | None = None) -> Announcement:
    """The public facts of a drawn draw, as the public package has them (names from the registry);
    the ceremony's witnesses as recorded, unless `witnesses` are given."""
    with Session(engine) as s:
        d, plan, archive = published_draw(s, draw_id)
        recorded = archive.witnesses.split(SEPARATOR) if archive.witnesses else []
        cert = json.loads(d.certificate)
        ids = [x["entity_id"] for x in cert["selected"]]
        names = dict(s.execute(select(Enterprise.uscc, Enterprise.name).where(Enterprise.uscc.in_(ids))).all())
    with tempfile.TemporaryDirectory(prefix="dsr-ann-") as tmp:
        draw_service.write_packages(engine, draw_id, public_dir=Path(tmp))
        pub = json.loads((Path(tmp) / "certificate.json").read_text(encoding="utf-8"))
    extra = cert.get("extra") or {}
    drawn = dt.datetime.fromisoformat(cert["drawn_at"]).astimezone(CST).strftime("%Y-%m-%d %H:%M")
    return Announcement(
        plan_code=plan.code, plan_name=extra.get("plan_name", plan.name), lead_department=extra.get("lead_department", ""),
        period=d.period, seed=cert["seed"], seed_source=cert["seed_source"],
        witnesses=list(witnesses or recorded), drawn_at=drawn,
        frame_size=pub["frame_size"], public_frame_sha256=pub["public_frame_sha256"],
        commitments_sha256=pub["commitments_sha256"], hidden_strata=len(pub["hidden_strata"]),
        batches=dict(sorted(Counter(x["batch"] for x in pub["selected"]).items())),
        selected=[(x["rank"], x["batch"], x["entity_id"], names.get(x["entity_id"], "")) for x in pub["selected"]],
    )


def _a4():
    font = printing.font_path()
    if font is None:
        raise AnnouncementRefused(f"{printing.MISSING_FONT}，无法生成公告 PDF")
    return printing.a4(font)


def _source_line(a: Announcement) -> str:
    if a.seed_source != "ceremony":
        return "系统生成（操作系统密码学随机数发生器，32 位数字）"
    return "现场摇号" + (f"（见证人：{'、'.join(a.witnesses)}）" if a.witnesses else "")


def _facts(a: Announcement) -> list[tuple[str, str]]:
    return [
        ("抽查计划", f"{a.plan_code} {a.plan_name}"),
        ("牵头部门", a.lead_department or "—"),
        ("抽查期间", a.period),
        ("抽取时间", a.drawn_at + "（北京时间）"),
        ("随机种子", a.seed),
        ("种子来源", _source_line(a)),
        ("公开名录摘要", a.public_frame_sha256),
        ("分层承诺摘要", a.commitments_sha256),
        ("名录库对象数", f"{a.frame_size:,}"),
        ("抽中对象数", f"{len(a.selected):,}（"
                  + "，".join(f"第 {b} 批 {n:,}" for b, n in a.batches.items()) + "）"),
        ("分层", f"{a.hidden_strata} 个（风险分类不向社会公开，各层只以承诺值公开）"),
    ]


def render_pdf(a: Announcement, package_url: str) -> bytes:
    """The announcement as PDF bytes; the QR code carries `package_url`."""
    from fpdf.enums import XPos, YPos

    pdf = _a4()
    pdf.add_page()
    pdf.set_font("cjk", size=18)
    pdf.cell(0, 12, "抽取结果公告", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.image(printing.qr_png(package_url), x=pdf.w - pdf.r_margin - 32, y=pdf.get_y(), w=32)
    pdf.set_font("cjk", size=10)
    for label, value in _facts(a):
        pdf.set_x(pdf.l_margin)
        pdf.cell(28, 7, label)
        pdf.multi_cell(pdf.w - pdf.l_margin - pdf.r_margin - 28 - (34 if pdf.get_y() < 60 else 0), 7, value,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=8)
    pdf.multi_cell(0, 5, f"扫描二维码下载公开核验包并核验：{package_url}。任何人可凭公开核验包重算抽签号、抽取顺序与批次"
                         "（dsr verify 或 docs/draw-algorithm.md 所附程序）；被抽中或未被抽中的企业可凭查询码在“本企业查询”核对本企业的判定。",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 8, "抽中名单（按抽取顺序）", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=9)
    with pdf.table(col_widths=(12, 12, 45, 110), text_align=("RIGHT", "RIGHT", "LEFT", "LEFT")) as table:
        table.row(["序号", "批次", "统一社会信用代码", "企业名称"])
        for rank, batch, uscc, name in a.selected:
            table.row([str(rank), str(batch), uscc, name])
    return bytes(pdf.output())
