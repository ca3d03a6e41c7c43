"""Which 抽查计划 field a rule message concerns (ui/form_problems.py)."""

from __future__ import annotations

import pytest

from ui.form_problems import FORM, plan_field


@pytest.mark.parametrize("msg, field", [
    ("计划编号不能为空，且不得含有逗号、竖线或换行", "code"),
    ("计划编号 PG-1 已存在；如需修改请在上方“选择计划”中选中它", "code"),
    ("计划名称不能为空", "name"),
    ("牵头部门“X”不存在", "lead"),
    ("计划至少应包含一个抽查事项", "items"),
    ("抽查事项不存在：GS-09", "items"),
    ("一般检查事项“企业公示信息检查”未设置抽查比例上限", "items"),
    ("事项“甲”的比例下限 3% 高于事项“乙”的上限 2%，无法同时满足", "items"),
    ("风险分类 C 的抽查比例 6% 超过一般检查事项“企业公示信息检查”的比例上限 5%", "class_C"),
    ("风险分类 A 未设置抽查比例或抽查数量（任何分类默认均不豁免）", "class_A"),
    ("风险分类 B：抽查比例“abc”不是数字", "class_B"),
    ("分层 D/110117001：抽查数量 3/10（30%）超过事项“甲”的比例上限 5%", "class_D"),
    ("检查组人数不得少于 2 人（行政处罚法：执法人员不得少于两人）", "team"),
    ("备选比例：比例“x”不是数字", "reserve"),
    ("完成时限的工作日数不能为负数", "task_days"),
    ("本计划第 1 版已发布：修改须填写修改理由", "reason"),
    ("请指定所属监管局（--bureau）", FORM),
])
def test_plan_field(msg, field):
    assert plan_field(msg) == field
