"""检查表: the points an inspector checks for an item, the marks, and the consistency of the
result category with them.

Pure rules: no database, no clock. An item's checklist is stored by its department
(scheduler/results/fieldrecords_service.py); an item without one gets the points of its basis
(检查依据), one per provision, so every item has a checklist from the day it is listed.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

from scheduler.results.lifecycle import Category, Refused

COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE = "符合", "不符合", "不适用"
MARKS = (COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE)
MAX_POINTS = 100
MAX_TEXT = 500

_SPLIT = re.compile(r"[；;\n]+")


def points_from_basis(item_name: str, basis: str) -> list[str]:
    """One point per provision of the basis (split at ；/;/new line); a basis-less item gets one point."""
    parts = [p.strip(" 。，,") for p in _SPLIT.split(basis or "")]
    parts = [p for p in parts if p]
    if not parts:
        return [f"是否符合“{item_name}”的检查要求"]
    return [f"是否符合{p}的规定" for p in parts]


def clean_points(points: Iterable[str]) -> list[str]:
    """A checklist as entered: non-empty, unique, bounded."""
    out: list[str] = []
    for p in points:
        p = (p or "").strip()
        if not p:
            continue
        if len(p) > MAX_TEXT:
            raise Refused(f"检查表要点不能超过 {MAX_TEXT} 个字：{p[:20]}…")
        if p in out:
            raise Refused(f"检查表要点重复：{p}")
        out.append(p)
    if not out:
        raise Refused("检查表至少需要一个检查要点")
    if len(out) > MAX_POINTS:
        raise Refused(f"检查表要点不能超过 {MAX_POINTS} 个")
    return out


def check_mark(mark: str, note: str) -> None:
    if mark not in MARKS:
        raise Refused(f"检查要点的判定应为：{'、'.join(MARKS)}（收到“{mark}”）")
    if mark == NON_COMPLIANT and not (note or "").strip():
        raise Refused("判定为“不符合”的检查要点须填写说明（发现的问题）")


def check_consistency(marks: Mapping[int, str], points: Mapping[int, str], categories: Sequence[Category]) -> None:
    """A 不符合 point cannot go with a no-problem category (未发现问题).

    `marks`: point seq → mark; `points`: point seq → text."""
    bad = sorted(seq for seq, m in marks.items() if m == NON_COMPLIANT)
    clean = [c for c in categories if c.no_problem]
    if bad and clean:
        first = bad[0]
        raise Refused(f"检查表第 {first} 项“{points.get(first, '')}”判定为不符合，"
                      f"检查结果不能为“{clean[0].name}”")
