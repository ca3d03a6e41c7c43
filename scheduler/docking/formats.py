"""The exchange's file formats (pure: no database, no clock): names, columns, records.

Every format here is documented in docs/exchange.md, with its JSON Schema in docs/schemas/
(written from scheduler/docking/schemas.py); a platform on the other side is written against
those documents alone, so a change of a column or a value is a change of FORMAT_VERSION.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Sequence

from scheduler.errors import DsrError

FORMAT_VERSION = "1.1"
MANIFEST_FORMAT = "dsr-exchange-manifest"
RECEIPT_FORMAT = "dsr-exchange-receipt"
MANIFEST = "manifest.json"

# Batch kinds: outbound to the credit publicity system (归集) and up to the city platform (市抽县查
# results); inbound from the city platform.
GSXT = "gsxt-results"
CITY_RESULTS = "city-results"
CITY_REGISTRY = "city-registry"
CITY_RISK = "city-risk"
CITY_TASKS = "city-tasks"
OUTBOUND_KINDS = (GSXT, CITY_RESULTS)
INBOUND_KINDS = (CITY_REGISTRY, CITY_RISK, CITY_TASKS)
KIND_LABELS = {GSXT: "检查结果归集（国家企业信用信息公示系统）", CITY_RESULTS: "市抽县查结果上报（市级平台）",
               CITY_REGISTRY: "市级平台登记信息增量", CITY_RISK: "市级平台信用风险分类", CITY_TASKS: "市抽县查任务下发"}
TARGETS = {"gsxt": GSXT, "city": CITY_RESULTS}  # `dsr exchange export --to gsxt|city`
BATCH_PREFIX = {GSXT: "GSXT", CITY_RESULTS: "CITY"}

# Outbound batch states (生成 → 已报送 → 已回执) and record states.
GENERATED, SENT, ANSWERED, IMPORTED = "生成", "已报送", "已回执", "已导入"
PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
RECEIPT_ACCEPT, RECEIPT_REJECT = "接收", "拒收"

# The publicity system's record fields (one record per published check item result), in file order.
RECORD_FIELDS: tuple[str, ...] = (
    "记录编号", "版本", "操作", "检查编号", "统一社会信用代码", "企业名称", "检查实施机关", "检查类型",
    "检查日期", "检查事项", "检查结果", "处置", "备注", "公示日期",
)
# Results of handed-down tasks going back up carry the city's task and plan numbers too.
# and the team that carried them out (人员编号 leader first; names with 执法证号), so the city sees who checked.
CITY_RECORD_FIELDS: tuple[str, ...] = RECORD_FIELDS + ("市级任务编号", "市级计划编号", "检查人员编号", "检查人员")
FIELDS_OF = {GSXT: RECORD_FIELDS, CITY_RESULTS: CITY_RECORD_FIELDS}
# The fields whose content makes a version: a change of any of them is sent as a new version.
CONTENT_FIELDS: tuple[str, ...] = RECORD_FIELDS[3:]
CHECK_TYPES = ("双随机抽查", "专项检查", "联合抽查", "个案")
OPERATIONS = ("新增", "更新")

RECEIPT_COLUMNS: tuple[str, ...] = ("批次编号", "记录编号", "处理结果", "原因")

# Inbound incremental files: column lists (Chinese headers = JSON keys). The first is the key.
INBOUND_COLUMNS: dict[str, tuple[str, ...]] = {
    CITY_REGISTRY: ("统一社会信用代码", "企业名称", "主体类型", "行业代码", "所属乡镇街道", "住所", "成立日期",
                    "登记状态", "信用风险分类", "许可标签", "变更日期"),
    CITY_RISK: ("统一社会信用代码", "信用风险分类", "评定日期"),
    CITY_TASKS: ("市级任务编号", "市级计划编号", "计划名称", "抽查期间", "统一社会信用代码", "检查事项编码", "检查人员编号",
                 "完成期限", "抽取核验"),
}
REQUIRED_INBOUND = {CITY_REGISTRY: ("统一社会信用代码",), CITY_RISK: ("统一社会信用代码", "信用风险分类"),
                    CITY_TASKS: ("市级任务编号", "市级计划编号", "统一社会信用代码", "检查事项编码")}
# Columns that are only information (not stored on the registry row).
INFORMATIONAL = frozenset({"变更日期", "评定日期"})
LIST_SEPARATOR = ";"  # 检查事项编码, 检查人员编号: several values in one cell
DATA_SUFFIXES = (".json", ".csv", ".xlsx")


class DockingError(DsrError):
    """A file or request of the platform exchange refused; the message names the file, row and field."""

    code = "docking.refused"


def check_type_label(kind: str, plan_kind: str | None, departments: int) -> str:
    """检查类型 as the publicity system lists it: 双随机抽查 / 专项检查 / 联合抽查 / 个案."""
    if kind == "case":
        return "个案"
    if kind == "special" or plan_kind == "special":
        return "专项检查"
    return "联合抽查" if departments > 1 else "双随机抽查"


def record_no(bureau_code: str, result_id: int, version: int) -> str:
    """The record's stable id: the same result and version always has the same number."""
    return f"{bureau_code}-R{result_id:08d}-V{version}"


def task_no(bureau_code: str, task_id: int) -> str:
    return f"{bureau_code}-T{task_id:08d}"


def batch_no(bureau_code: str, number: int, kind: str = GSXT) -> str:
    return f"{bureau_code}-{BATCH_PREFIX[kind]}-{number:06d}"


def canonical(obj: Any) -> str:
    """The one text of a JSON value that digests are taken over (sorted keys, no spaces, UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_fields(kind: str = GSXT) -> tuple[str, ...]:
    return FIELDS_OF[kind][3:]


def content_of(record: Mapping[str, str], kind: str = GSXT) -> dict[str, str]:
    return {k: str(record.get(k, "")) for k in content_fields(kind)}


def content_digest(record: Mapping[str, str], kind: str = GSXT) -> str:
    """SHA-256 of a record's content fields: equal digests, same record."""
    return sha256_text(canonical(content_of(record, kind)))


def full_record(content: Mapping[str, str], bureau_code: str, result_id: int, version: int,
                kind: str = GSXT) -> dict[str, Any]:
    """The record as written to the files: its number, version and operation, then its content."""
    head = {"记录编号": record_no(bureau_code, result_id, version), "版本": version,
            "操作": "新增" if version == 1 else "更新"}
    return {**head, **content_of(content, kind)}


def disposal_text(follow_ups: Sequence[tuple[str, str, str]]) -> str:
    """处置 from the result's follow-ups (action, status, outcome), in order."""
    parts = []
    for action, status, outcome in follow_ups:
        parts.append(f"{action}：{outcome}" if status == "closed" else f"{action}（办理中）")
    return "；".join(parts)


def remark_text(corrections: Sequence[str]) -> str:
    """备注: the reasons of the result's corrections, numbered."""
    return "；".join(f"第{i}次更正：{r}" for i, r in enumerate(corrections, 1))


def csv_value(v: Any) -> str:
    return "" if v is None else str(v)
