"""Printable documents (PDF, fpdf2): an A4 page set in Noto Sans CJK (Simplified Chinese), and QR
codes (segno). Used by the 抽取结果公告 and the task documents (检查通知书…)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Optional

FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto", "/usr/share/fonts/opentype")
FONT_FILE = "NotoSansCJK-Regular.ttc"
FONT_SC = 2  # Simplified Chinese in the Noto Sans CJK collection (JP, KR, SC, TC, HK)
MISSING_FONT = f"找不到中文字体 {FONT_FILE}（请安装 fonts-noto-cjk）"


def font_path() -> Optional[Path]:
    """The installed Noto Sans CJK collection (Debian's fonts-noto-cjk), None when missing."""
    for d in FONT_DIRS:
        p = Path(d) / FONT_FILE
        if p.is_file():
            return p
    return None


def a4(font: Path) -> Any:
    """An empty A4 FPDF with the font "cjk" (regular and bold) and automatic page breaks."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", fname=str(font), collection_font_number=FONT_SC)
    pdf.add_font("cjk", style="B", fname=str(font).replace("Regular", "Bold"), collection_font_number=FONT_SC)
    return pdf


def qr_png(text: str) -> io.BytesIO:
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=4, border=2)
    buf.seek(0)
    return buf
