"""The JSON Schemas of the exchange's JSON files (pure), and their copies in docs/schemas/.

`python -m scheduler.docking.schemas docs/schemas` writes them; tests/test_docking_formats.py
checks that docs/schemas/ holds exactly these, so the documents never drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from scheduler.docking import formats as fm

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE = "https://dsr.example.invalid/schemas/"  # identifiers only; nothing is fetched
USCC = {"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
TEXT = {"type": "string"}


def manifest_schema() -> dict[str, Any]:
    file_entry = {
        "type": "object",
        "required": ["name", "sha256", "bytes", "records"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+\.(json|csv|xlsx)$"},
            "sha256": SHA256,
            "bytes": {"type": "integer", "minimum": 0},
            "records": {"type": "integer", "minimum": 0},
        },
    }
    party = {"type": "object", "required": ["code", "name"], "additionalProperties": False,
             "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 32}, "name": TEXT}}
    return {
        "$schema": DRAFT, "$id": BASE + "manifest.schema.json", "title": "交换批次清单（manifest.json）",
        "type": "object",
        "required": ["format", "format_version", "kind", "batch_id", "sequence", "sender", "created_at",
                     "record_count", "files"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": fm.MANIFEST_FORMAT},
            "format_version": {"const": fm.FORMAT_VERSION},
            "kind": {"enum": [*fm.OUTBOUND_KINDS, *fm.INBOUND_KINDS]},
            "batch_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
            "sequence": {"type": "integer", "minimum": 1},
            "sender": party,
            "created_at": {"type": "string", "format": "date-time"},
            "record_count": {"type": "integer", "minimum": 0},
            "files": {"type": "array", "minItems": 1, "items": file_entry},
        },
    }


def records_schema(kind: str = fm.GSXT) -> dict[str, Any]:
    """The outbound records of `kind` (gsxt-results, city-results)."""
    fields = fm.FIELDS_OF[kind]
    props: dict[str, Any] = {k: TEXT for k in fields}
    props.update({
        "记录编号": {"type": "string", "pattern": r"^[A-Za-z0-9]+-R\d{8}-V\d+$"},
        "版本": {"type": "integer", "minimum": 1},
        "操作": {"enum": list(fm.OPERATIONS)},
        "统一社会信用代码": USCC,
        "企业名称": {"type": "string", "minLength": 1},
        "检查实施机关": {"type": "string", "minLength": 1},
        "检查类型": {"enum": list(fm.CHECK_TYPES)},
        "检查日期": DATE,
        "检查结果": {"type": "string", "minLength": 1},
        "公示日期": DATE,
    })
    if kind == fm.CITY_RESULTS:
        props.update({"市级任务编号": {"type": "string", "minLength": 1}, "市级计划编号": {"type": "string", "minLength": 1}})
    record = {"type": "object", "required": list(fields), "additionalProperties": False, "properties": props}
    return {"$schema": DRAFT, "$id": BASE + f"{kind}-records.schema.json",
            "title": f"{fm.KIND_LABELS[kind]}记录（records.json）", "type": "array", "items": record}


def gsxt_records_schema() -> dict[str, Any]:
    return records_schema(fm.GSXT)


def receipt_schema() -> dict[str, Any]:
    row = {
        "type": "object", "required": ["记录编号", "处理结果"], "additionalProperties": False,
        "properties": {"记录编号": {"type": "string", "minLength": 1},
                       "处理结果": {"enum": [fm.RECEIPT_ACCEPT, fm.RECEIPT_REJECT]},
                       "原因": TEXT},
        "if": {"properties": {"处理结果": {"const": fm.RECEIPT_REJECT}}},
        "then": {"required": ["原因"], "properties": {"原因": {"type": "string", "minLength": 1}}},
    }
    return {
        "$schema": DRAFT, "$id": BASE + "receipt.schema.json", "title": "回执（receipt.json）",
        "type": "object", "required": ["format", "format_version", "batch_id", "manifest_sha256", "records"],
        "additionalProperties": False,
        "properties": {"format": {"const": fm.RECEIPT_FORMAT}, "format_version": {"const": fm.FORMAT_VERSION},
                       "batch_id": {"type": "string", "minLength": 1}, "manifest_sha256": SHA256,
                       "received_at": {"type": "string", "format": "date-time"}, "records": {"type": "array", "items": row}},
    }


def inbound_records_schema(kind: str) -> dict[str, Any]:
    cols = fm.INBOUND_COLUMNS[kind]
    props: dict[str, Any] = {c: TEXT for c in cols}
    props["统一社会信用代码"] = USCC
    for c in fm.REQUIRED_INBOUND[kind]:
        if c != "统一社会信用代码":
            props[c] = {"type": "string", "minLength": 1}
    if kind == fm.CITY_TASKS:
        props["完成期限"] = {"anyOf": [DATE, {"const": ""}]}
    return {"$schema": DRAFT, "$id": BASE + f"{kind}-records.schema.json",
            "title": f"{fm.KIND_LABELS[kind]}（records.json）", "type": "array",
            "items": {"type": "object", "required": list(fm.REQUIRED_INBOUND[kind]), "additionalProperties": False,
                      "properties": props}}


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name in docs/schemas/ -> schema."""
    out = {"manifest.schema.json": manifest_schema(), "receipt.schema.json": receipt_schema()}
    for kind in fm.OUTBOUND_KINDS:
        out[f"{kind}-records.schema.json"] = records_schema(kind)
    for kind in fm.INBOUND_KINDS:
        out[f"{kind}-records.schema.json"] = inbound_records_schema(kind)
    return out


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, schema in all_schemas().items():
        (directory / name).write_text(schema_text(schema), encoding="utf-8")
        out.append(directory / name)
    return out


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(p)
