"""Attachments of the field record (全程留痕): kinds, type and size limits, and the record whose
digest enters the audit chain.

Pure rules: no database, no file system. Files are stored by their SHA-256 outside the database
(scheduler/results/attachments_service.py); the type is decided by the file's first bytes (magic
numbers), never by its name.
"""

from __future__ import annotations

from typing import Any, Optional

from scheduler.errors import DsrError

KINDS: dict[str, str] = {"photo": "现场照片", "record": "检查笔录（扫描件）", "report": "检验检测报告"}
# Magic numbers of the accepted types.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
ALLOWED: dict[str, frozenset[str]] = {
    "photo": frozenset({"image/jpeg", "image/png"}),
    "record": frozenset({"image/jpeg", "image/png", "application/pdf"}),
    "report": frozenset({"application/pdf", "image/jpeg", "image/png"}),
}
MAX_BYTES = 20 * 1024 * 1024  # a phone photo or a scanned multi-page record fits; a video does not
HEAD_BYTES = 16


class AttachmentRefused(DsrError):
    """A file that may not be attached (type, size, missing report number); the message says why."""

    code = "attachment.refused"


def sniff(head: bytes) -> Optional[str]:
    """The media type the first bytes show, or None."""
    for sig, media in SIGNATURES:
        if head.startswith(sig):
            return media
    return None


def check(kind: str, size: int, head: bytes, report_no: str, file_name: str = "") -> str:
    """The file's media type if it may be attached as `kind`; AttachmentRefused otherwise."""
    if kind not in KINDS:
        raise AttachmentRefused(f"附件类型应为：{'、'.join(f'{k}（{v}）' for k, v in KINDS.items())}")
    label = file_name or "附件"
    if size <= 0:
        raise AttachmentRefused(f"{label} 是空文件")
    if size > MAX_BYTES:
        raise AttachmentRefused(f"{label} 大小 {size} 字节，超过上限 {MAX_BYTES // (1024 * 1024)} MB")
    media = sniff(head)
    if media is None or media not in ALLOWED[kind]:
        allowed = "、".join(sorted(ALLOWED[kind]))
        raise AttachmentRefused(f"{label} 的文件内容不是允许的类型（{KINDS[kind]}：{allowed}）")
    if kind == "report" and not (report_no or "").strip():
        raise AttachmentRefused("检验检测报告须填写报告编号")
    return media


def relative_path(sha256: str) -> str:
    """Where a file lives under the store: two-character fan-out, then the full digest."""
    return f"{sha256[:2]}/{sha256}"


def audit_payload(attachment_id: int, task_id: int, item_id: Optional[int], sha256: str, size: int,
                  media_type: str, kind: str, report_no: str) -> dict[str, Any]:
    """The record of an attachment whose digest enters the audit chain; `dsr audit verify`
    recomputes it from the row and compares the stored file's SHA-256 with the row's."""
    return {"id": attachment_id, "task": task_id, "item": item_id, "sha256": sha256, "size": size,
            "media_type": media_type, "kind": kind, "report_no": report_no}
