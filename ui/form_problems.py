"""A form's problems shown under the field each concerns, once, after the form was submitted.

A page draws a `Slots` placeholder right under each field (`slots.under("name")`), checks the
input once all fields are read, and then `show(messages, field_of)` puts each message under its
field; a message that concerns no field stays in the form's own list (returned). The rule texts
are the services' own (scheduler/plans/rules.py): `plan_field` reads which field a rule names.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Optional

import streamlit as st

FORM = ""  # a problem of the form as a whole


class Slots:
    """Placeholders under a form's fields, filled once the form has been checked."""

    def __init__(self) -> None:
        self._slots: dict[str, object] = {}

    def under(self, field: str, where=None) -> None:
        """A placeholder right under the field just drawn (in `where`, a column, if given)."""
        self._slots[field] = (where or st).empty()

    def show(self, messages: Iterable[str], field_of: Callable[[str], str]) -> list[str]:
        """Each message once, under its field; returns the ones no field here takes."""
        by_field: dict[str, list[str]] = {}
        for msg in dict.fromkeys(messages):
            by_field.setdefault(field_of(msg), []).append(msg)
        left = list(by_field.pop(FORM, []))
        for field, msgs in by_field.items():
            slot = self._slots.get(field)
            if slot is None:
                left.extend(msgs)
                continue
            with slot.container():
                for msg in msgs:
                    st.error(msg)
        return left


# 抽查计划: the rule texts' opening words name the field (scheduler/plans/rules.py, service.py).
_PLAN_PREFIXES: tuple[tuple[str, str], ...] = (
    ("计划编号", "code"),
    ("计划名称", "name"),
    ("牵头部门", "lead"),
    ("分层方式", "strata"),
    ("检查批次数", "batches"),
    ("检查组人数", "team"),
    ("匹配策略", "policy"),
    ("备选比例", "reserve"),
    ("抽查频次", "frequency"),
    ("完成时限", "task_days"),
    ("计划至少应包含一个抽查事项", "items"),
    ("抽查事项", "items"),
    ("事项“", "items"),
    ("一般检查事项“", "items"),
    ("重点检查事项“", "items"),
)
_CLASS = re.compile(r"^风险分类 (\S+?)(?: |：|的)")
_STRATUM = re.compile(r"^分层 ([^/：\s]+)")


def plan_field(msg: str) -> str:
    """The 抽查计划 form field a rule message concerns: a risk class's ratio (`class_C`), a field
    key, or FORM."""
    for pattern in (_CLASS, _STRATUM):  # before 事项: "风险分类 C 的抽查比例 6% 超过一般检查事项“…”的上限"
        m = pattern.match(msg)
        if m:
            return f"class_{m.group(1)}"
    if "修改理由" in msg:
        return "reason"
    return next((field for prefix, field in _PLAN_PREFIXES if msg.startswith(prefix)), FORM)


def first_line(messages: list[str]) -> Optional[str]:
    """The line over a form whose problems are under their fields."""
    n = len(messages)
    return f"有 {n} 处不符合规则，已在对应的填写项下方标出，请修改后再保存。" if n else None
