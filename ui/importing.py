"""Helpers of the import page: error tables, the progress callback, rejected rows."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import pandas as pd

from scheduler.library.importing import rejects_csv

ERROR_HEADERS = ("行号", "列", "值", "原因")


def errors_frame(errors: Sequence[Any]) -> pd.DataFrame:
    """RowError records as a table; row 0 means the file as a whole."""
    return pd.DataFrame(
        [
            {
                "行号": (e.row if e.row and e.row > 0 else "（整个文件）"),
                "列": e.column or "",
                "值": e.value or "",
                "原因": e.reason,
            }
            for e in errors
        ],
        columns=list(ERROR_HEADERS),
    )


def rejected_csv(rows: list[dict]) -> bytes:
    """The rejected rows as a UTF-8 (BOM) CSV that Excel opens, to fix and re-import
    (the same file as `dsr import --rejects`)."""
    return rejects_csv(rows)


def progress_callback(update: Callable[[float, str], None]) -> Callable[..., None]:
    """Adapt the importer's progress calls to `update(fraction, text)`.

    Accepts (done, total), (fraction,) or (done, total, stage) calls.
    """

    def cb(*args: Any, **_kw: Any) -> None:
        if len(args) >= 2 and isinstance(args[0], (int, float)) and isinstance(args[1], (int, float)):
            total = args[1]
            done = min(args[0], total) if total else args[0]
            frac = done / total if total else 1.0
            stage = f"{args[2]}：" if len(args) > 2 and args[2] else ""
            update(min(max(frac, 0.0), 1.0), f"{stage}已处理 {int(done):,} / {int(total):,} 行")
        elif args and isinstance(args[0], (int, float)):
            frac = float(args[0])
            update(min(max(frac, 0.0), 1.0), f"已完成 {frac:.0%}")

    return cb
