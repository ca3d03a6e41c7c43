"""Batch folders (pure: files only, no database, no clock): the manifest, atomic writing, reading.

A batch is a folder holding its data files and `manifest.json` (kind, batch id, sequence, sender,
record count, and the SHA-256 and size of every file). Written into a hidden sibling folder and
renamed into place, so a folder under its batch id is always complete; read back, every file's
digest and the schema are checked before anything is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import jsonschema

from scheduler.docking import formats as fm
from scheduler.docking.schemas import manifest_schema


@dataclass(frozen=True)
class Batch:
    """A batch folder read and checked: its manifest, the manifest's own digest, the files' bytes."""

    folder: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    files: dict[str, bytes]


def build_manifest(kind: str, batch_id: str, sequence: int, sender: tuple[str, str], created_at: str,
                   files: Iterable[tuple[str, bytes, int]]) -> dict[str, Any]:
    """`files`: (name, content, number of records); the record count is the first file's."""
    entries = [{"name": n, "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b), "records": k} for n, b, k in files]
    return {"format": fm.MANIFEST_FORMAT, "format_version": fm.FORMAT_VERSION, "kind": kind, "batch_id": batch_id,
            "sequence": sequence, "sender": {"code": sender[0], "name": sender[1]}, "created_at": created_at,
            "record_count": entries[0]["records"] if entries else 0, "files": entries}


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_batch(out_dir: Path, batch_id: str, files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> Path:
    """Write `out_dir/<batch_id>/` complete or not at all; the same batch written again replaces itself."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / batch_id
    if final.exists() and not _is_batch(final, batch_id):
        raise fm.DockingError(f"目录 {final} 已存在且不是批次 {batch_id} 的文件夹，未覆盖")
    tmp = out_dir / f".{batch_id}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for name, data in {**files, fm.MANIFEST: manifest_bytes(manifest)}.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        _fsync_dir(tmp)
        if final.exists():  # an earlier write of this same batch (its bytes are the same)
            old = out_dir / f".{batch_id}.old-{uuid.uuid4().hex[:8]}"
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old)
        else:
            tmp.rename(final)
        _fsync_dir(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return final


def _is_batch(folder: Path, batch_id: str) -> bool:
    try:
        return json.loads((folder / fm.MANIFEST).read_text("utf-8")).get("batch_id") == batch_id
    except (OSError, ValueError, AttributeError):
        return False


# --- reading and checking --------------------------------------------------------------------

_REASONS = {
    "required": "缺少必填字段",
    "additionalProperties": "有未定义的字段",
    "enum": "取值不在允许范围内",
    "const": "取值不符",
    "pattern": "格式不符",
    "type": "类型不符",
    "minLength": "不能为空",
    "minimum": "数值过小",
    "minItems": "不能为空",
}


def schema_errors(schema: Mapping[str, Any], doc: Any, file_name: str, limit: int = 20) -> list[str]:
    """Chinese lines naming the file, the record (第 N 条, 1-based) and the field of each violation."""
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    out = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])[:limit]:
        path = list(err.absolute_path)
        if err.validator in ("required", "additionalProperties"):
            path += err.message.split("'")[1:2]  # the field named by the message
        where = "".join(f" 第 {p + 1} 条" if isinstance(p, int) else f" [{p}]" for p in path)
        value = "" if err.validator in ("required", "additionalProperties") else f" 值“{_short(err.instance)}”"
        reason = _REASONS.get(err.validator, err.message)
        out.append(f"文件 {file_name}{where}{value}：{reason}")
    return out


def _short(v: Any) -> str:
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 40 else s[:40] + "…"


def refuse(errors: list[str], head: str) -> None:
    if errors:
        more = "" if len(errors) <= 10 else f"\n……共 {len(errors)} 处"
        raise fm.DockingError(head + "\n" + "\n".join(errors[:10]) + more)


def read_batch(path: Path) -> Batch:
    """The batch at `path` (its folder or its manifest.json), every file's size and digest checked."""
    folder = path if path.is_dir() else path.parent
    mpath = folder / fm.MANIFEST
    try:
        raw = mpath.read_bytes()
    except OSError:
        raise fm.DockingError(f"找不到批次清单 {mpath}（每个批次文件夹须有 manifest.json）") from None
    try:
        manifest = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise fm.DockingError(f"文件 {fm.MANIFEST} 不是有效的 UTF-8 JSON：{exc}") from None
    refuse(schema_errors(manifest_schema(), manifest, fm.MANIFEST), "批次清单不符合格式（docs/schemas/manifest.schema.json）：")
    files: dict[str, bytes] = {}
    errors = []
    for entry in manifest["files"]:
        name = entry["name"]
        try:
            data = (folder / name).read_bytes()
        except OSError:
            errors.append(f"文件 {name}：清单列出但文件夹中没有")
            continue
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            errors.append(f"文件 {name}：大小或 SHA-256 与清单不符（文件已损坏或被改动）")
        files[name] = data
    refuse(errors, f"批次 {manifest['batch_id']} 的文件与清单不符，未导入：")
    return Batch(folder, manifest, hashlib.sha256(raw).hexdigest(), files)
