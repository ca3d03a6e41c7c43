"""Printable documents of one task (PDF): 检查通知书 (the notice to the entity) and 现场检查记录 (the
on-site record, with the checklists to fill in or as filled in).

Each carries the task's identifiers (task number, plan, period, draw order), the team by name and
执法证号 (officers show their credentials, 行政处罚法 art. 55), the party's right to ask for recusal
(art. 43), and a QR code leading to the public verification of the draw the task comes from.
fpdf2 writes the PDF with Debian's Noto Sans CJK (subset to the characters used); segno draws the
QR code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Department, Draw, Enterprise, Plan, Task, Visit, VisitTask
from scheduler.access.context import Actor
from scheduler.access.scope import require_task
from scheduler.errors import DsrError
from scheduler.exchange import pdf as printing
from scheduler.results import attachments_service as att
from scheduler.results import fieldrecords_service as frs
from scheduler.results import lifecycle as lc
from scheduler.results import recusal_service as rec

KINDS = {"notice": "检查通知书", "record": "现场检查记录"}


class DocumentRefused(DsrError, RuntimeError):
    code = "document.refused"


@dataclass
class TaskFacts:
    task_id: int
    kind_label: str
    uscc: str
    name: str
    address: str
    plan: str
    period: str
    rank: Optional[int]
    draw_id: Optional[int]
    planned_on: str
    department: str
    team: list[dict] = field(default_factory=list)
    checklists: list[dict] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)


def facts(engine: Engine, task_id: int, actor: Optional[Actor] = None) -> TaskFacts:
    with Session(engine) as s:
        require_task(s, actor, task_id)
        t = s.get(Task, task_id)
        if t is None:
            raise DocumentRefused(f"任务 #{task_id} 不存在")
        ent = s.execute(select(Enterprise).where(Enterprise.uscc == t.uscc)).scalar()
        d = s.get(Draw, t.draw_id) if t.draw_id else None
        plan = s.get(Plan, d.plan_id) if d else None
        dept = s.get(Department, plan.lead_department_id).name if plan else ""
        planned = s.execute(select(Visit.planned_on).join(VisitTask, VisitTask.visit_id == Visit.id)
                            .where(VisitTask.task_id == t.id)).scalar()
        kind = lc.check_type(t.kind, plan.kind if plan else None, 1)
    return TaskFacts(task_id, kind, t.uscc, ent.name if ent else "", ent.address if ent else "",
                     f"{plan.code} {plan.name}" if plan else t.note, d.period if d else "", t.rank,
                     d.id if d else None, planned.isoformat() if planned else "", dept,
                     team=rec.team_of(engine, task_id), checklists=frs.task_checklist(engine, task_id),
                     attachments=att.attachments(engine, task_id))


def verify_link(base_url: str, f: TaskFacts) -> str:
    """The public verification of the task's draw (the 公开核验 page, by draw and rank)."""
    if f.draw_id is None:
        return base_url
    return f"{base_url}?{urlencode({'draw': f.draw_id, 'rank': f.rank or ''})}"


def _a4():
    font = printing.font_path()
    if font is None:
        raise DocumentRefused(f"{printing.MISSING_FONT}，无法生成 PDF")
    return printing.a4(font)


def _header(pdf, title: str, f: TaskFacts, link: str) -> None:
    from fpdf.enums import XPos, YPos

    pdf.set_font("cjk", size=18)
    pdf.cell(0, 12, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.image(printing.qr_png(link), x=pdf.w - pdf.r_margin - 30, y=pdf.get_y(), w=30)
    pdf.set_font("cjk", size=10)
    rows = [("任务编号", f"#{f.task_id}（{f.kind_label}）"), ("被检查对象", f.name or "—"), ("统一社会信用代码", f.uscc),
            ("住所", f.address or "—"), ("抽查计划", f.plan or "—"),
            ("抽查期间 / 抽取顺序", f"{f.period or '—'} / {f.rank if f.rank is not None else '—'}"),
            ("实施机关", f.department or "—"), ("计划检查日期", f.planned_on or "—")]
    for label, value in rows:
        pdf.set_x(pdf.l_margin)
        pdf.cell(36, 7, label)
        pdf.multi_cell(pdf.w - pdf.l_margin - pdf.r_margin - 36 - 32, 7, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=8)
    pdf.multi_cell(0, 5, f"扫描二维码核验本次抽取：{link}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 8, "检查人员", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=9)
    with pdf.table(col_widths=(20, 30, 45, 45, 40)) as table:
        table.row(["职责", "姓名", "执法证号", "执法证有效期至", "所属部门"])
        for m in f.team:
            table.row(["组长" if m["role"] == "leader" else "组员", m["name"], m["cert_no"],
                       m["cert_valid_until"].isoformat() if m["cert_valid_until"] else "—", m["department"]])


def _notice(pdf, f: TaskFacts) -> None:
    from fpdf.enums import XPos, YPos

    pdf.ln(3)
    pdf.set_font("cjk", size=10)
    items = "；".join(f"{c['item_code']} {c['item_name']}" + (f"（依据：{c['basis']}）" if c["basis"] else "")
                     for c in f.checklists)
    text = (f"根据“双随机、一公开”监管工作安排，你单位被随机抽取为检查对象。我单位将依法对你单位实施检查，检查事项：{items}。"
            "请予以配合，如实提供有关材料。执法人员将出示执法证件。"
            "你单位认为检查人员与本次检查有直接利害关系或者有其他关系可能影响公正执法的，有权申请回避（《中华人民共和国行政处罚法》第四十三条）。")
    pdf.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(10)
    pdf.cell(0, 8, f"{f.department}（盖章）        年    月    日", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 8, "被检查对象签收：                    年    月    日", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _record(pdf, f: TaskFacts) -> None:
    from fpdf.enums import XPos, YPos

    for c in f.checklists:
        pdf.ln(2)
        pdf.set_font("cjk", size=11)
        pdf.multi_cell(0, 7, f"检查事项 {c['item_code']} {c['item_name']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("cjk", size=9)
        with pdf.table(col_widths=(10, 90, 30, 50)) as table:
            table.row(["序号", "检查要点", "判定", "说明"])
            for p in c["points"]:
                table.row([str(p["seq"]), p["text"], p["mark"] or "□符合 □不符合 □不适用", p["note"]])
    if f.attachments:
        pdf.ln(2)
        pdf.set_font("cjk", size=11)
        pdf.cell(0, 8, "附件（SHA-256）", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("cjk", size=7)
        for a in f.attachments:
            pdf.multi_cell(0, 4, f"{a['file_name']}  {a['kind']}  {a['report_no'] or ''}  {a['sha256']}",
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 8, "检查人员签名：                        被检查对象签名：                        年    月    日",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render(f: TaskFacts, kind: str, base_url: str) -> bytes:
    """The document `kind` (notice / record) as PDF bytes."""
    if kind not in KINDS:
        raise DocumentRefused(f"文书类型应为：{'、'.join(f'{k}（{v}）' for k, v in KINDS.items())}")
    pdf = _a4()
    pdf.set_title(f"{KINDS[kind]} 任务#{f.task_id}")
    pdf.add_page()
    _header(pdf, KINDS[kind], f, verify_link(base_url, f))
    (_notice if kind == "notice" else _record)(pdf, f)
    return bytes(pdf.output())


def write(engine: Engine, task_id: int, out_dir: Path | str, base_url: str, actor: Optional[Actor] = None) -> list[Path]:
    """Both documents of a task written to `out_dir` (task-<id>-notice.pdf, task-<id>-record.pdf)."""
    f = facts(engine, task_id, actor)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in KINDS:
        p = out / f"task-{task_id}-{kind}.pdf"
        p.write_bytes(render(f, kind, base_url))
        paths.append(p)
    return paths
