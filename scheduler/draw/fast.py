"""DSR-1: the publicly verifiable draw of entities to inspect (抽取检查对象).

Pure functions only: no database, no clock, and no randomness except the seed
(`new_system_seed` is the one, clearly separated, exception). The normative
text is docs/draw-algorithm.md; in short:

* ticket = SHA-256(UTF-8("DSR1|" + seed + "|" + plan_code + "|" + period + "|"
  + entity_id)), compared as 64 lowercase hex digits (equivalently as the raw
  32-byte digest: hex preserves byte order);
* per stratum, k = ceil(N x ratio) exactly (or min(count, N)); the selection is
  the k smallest tickets (ties by entity_id) and cutoff is the k-th ticket;
* draw order = all selected by ticket; position i (0-based) of K is in batch
  floor(i x B / K) + 1;
* reserves = the next tickets of each stratum after its selection.

A draw is two steps: a checked frame (`FrameColumns`, made by `frame_of_rows`,
`frame_of_lines` or `frame_of_archive`), then `rank` on it. `run_draw` does both
for a frame given as rows.

Speed: the SHA-256 of every entity is the unavoidable cost (about 0.6-1 us per
entity in CPython). Everything else is vectorised with numpy and works on the
first 8 bytes of each digest, then resolves the rare equal 8-byte prefixes
exactly, so the result is identical to a plain sort on (ticket, entity_id).
"""

from __future__ import annotations

import dataclasses
import hashlib
import mmap
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from operator import itemgetter

import numpy as np

from scheduler.runtime import cores
from scheduler.runtime import gc_pause
from scheduler.errors import DsrError

ALGORITHM = "DSR-1"
TICKET_TAG = "DSR1"
DEFAULT_RESERVE_RATIO = "0.1"
SEED_MIN_DIGITS = 20
SEED_MAX_DIGITS = 64
SYSTEM_SEED_DIGITS = 32

# `[0-9]` rather than `\d`: \d also matches full-width and other Unicode digits.
_SEED_RE = re.compile(r"[0-9]{20,64}")
_DECIMAL_RE = re.compile(r"([0-9]+)(?:\.([0-9]{1,6}))?")
# Characters that would make the canonical CSV ambiguous or the ticket preimage
# ambiguous: the two separators, every character str.splitlines() breaks on,
# and NUL (numpy byte strings drop trailing NULs, and no real code holds one).
_FORBIDDEN = (",", "|", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00")
_CHUNK = 1 << 18
# The single-byte forbidden characters other than "," and "\n" (the multi-byte
# ones are non-ASCII, which the fixed-width fast path does not accept).
_FORBIDDEN_ASCII = "".join(ch for ch in _FORBIDDEN if ch.isascii() and ch not in ",\n").encode("ascii")


class DrawError(DsrError, ValueError):
    """Invalid input to a draw; the message is Chinese, for planners."""

    code = "draw.input_invalid"


# ---------------------------------------------------------------- seeds


def validate_seed(seed: str) -> str:
    """Return the seed unchanged if it is 20-64 ASCII decimal digits, else raise.

    The seed stays a string: "007..." and "7..." are different seeds.
    """
    if not isinstance(seed, str):
        raise DrawError(f"随机种子必须是文本（数字串），不能是 {type(seed).__name__} 类型")
    if not _SEED_RE.fullmatch(seed):
        if not seed:
            raise DrawError("随机种子不能为空")
        if not all("0" <= c <= "9" for c in seed):
            raise DrawError("随机种子只能由半角数字 0-9 组成（不得含全角数字、空格或其他字符）")
        raise DrawError(f"随机种子须为 {SEED_MIN_DIGITS} 至 {SEED_MAX_DIGITS} 位数字，当前为 {len(seed)} 位")
    return seed


def new_system_seed() -> str:
    """A 32-digit seed from the operating system's CSPRNG, for unattended draws.

    This is the only randomness in the engine that does not come from the seed;
    the draw records seed_source="system" when it is used.
    """
    return "".join(secrets.choice("0123456789") for _ in range(SYSTEM_SEED_DIGITS))


# ---------------------------------------------------------------- tickets


def _check_token(value: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise DrawError(f"{what}不能为空")
    for ch in _FORBIDDEN:
        if ch in value:
            raise DrawError(f"{what}“{value!r}”含有不允许的字符 {ch!r}（不得含逗号、竖线、换行）")


def _ticket_prefix(seed: str, plan_code: str, period: str) -> bytes:
    validate_seed(seed)
    _check_token(plan_code, "计划编号")
    _check_token(period, "抽查期间")
    return f"{TICKET_TAG}|{seed}|{plan_code}|{period}|".encode("utf-8")


def ticket(seed: str, plan_code: str, period: str, entity_id: str) -> str:
    """The DSR-1 ticket of one entity, 64 lowercase hex digits."""
    _check_token(entity_id, "对象标识")
    pre = _ticket_prefix(seed, plan_code, period)
    return hashlib.sha256(pre + entity_id.encode("utf-8")).hexdigest()


_SHA256 = cores.sha256  # half of the tickets are hashed in a forked child
_DIGEST = type(_SHA256()).digest


def _digests_bytes(prefix: bytes, ids_b: np.ndarray) -> bytearray | mmap.mmap:
    """Concatenated 32-byte SHA-256 digests of prefix + id, for each id of a byte-string array,
    computed on two cores for a large array (`cores.split_fill`)."""
    return cores.split_fill(ids_b.shape[0], 32, lambda out, start, stop: _digests_into(out, prefix, ids_b, start, stop))


def _digests_into(out: memoryview, prefix: bytes, ids_b: np.ndarray, start: int, stop: int) -> None:
    """Write the digests of ids start..stop-1 into `out` (32 bytes each, at 32 * index).

    The preimages are laid out as a NUL-padded byte matrix (ids hold no NUL, and
    numpy drops trailing NULs when converting to bytes), so the per-entity loop
    is map(sha256) / map(digest) in C, with no Python frame per entity. Chunks
    bound the number of live bytes objects.
    """
    w, p = ids_b.dtype.itemsize, len(prefix)
    head = np.frombuffer(prefix, dtype=np.uint8)
    sha = _SHA256
    for s in range(start, stop, _CHUNK):
        e = min(s + _CHUNK, stop)
        chunk = np.ascontiguousarray(ids_b[s:e]).view(np.uint8).reshape(-1, w)
        m = np.empty((chunk.shape[0], p + w), dtype=np.uint8)
        m[:, :p] = head
        m[:, p:] = chunk
        pre = m.view(f"S{p + w}").reshape(-1).tolist()
        del m
        out[32 * s : 32 * e] = b"".join(map(_DIGEST, map(sha, pre)))
        del pre


def tickets_digests(seed: str, plan_code: str, period: str, ids: Sequence[str]) -> list[bytes]:
    """Raw 32-byte tickets for `ids`, in the given order (for cross-checks, e.g. pgcrypto)."""
    prefix = _ticket_prefix(seed, plan_code, period)
    blob = _digests_bytes(prefix, _encode_ids(ids))
    view = memoryview(blob)
    return [bytes(view[j : j + 32]) for j in range(0, len(blob), 32)]


def sha256_hex(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- frames


def _validate_ids_text(joined: str, n: int, what: str) -> None:
    """Check ids joined by "\\n" without a per-id Python loop (fast path)."""
    for ch in _FORBIDDEN:
        if ch == "\n":
            continue
        if ch in joined:
            bad = next(x for x in joined.split("\n") if ch in x)
            raise DrawError(f"{what}“{bad!r}”含有不允许的字符 {ch!r}（不得含逗号、竖线、换行）")
    if n and (joined.count("\n") != n - 1):
        raise DrawError(f"{what}不得含换行符")
    if n and (joined.startswith("\n") or joined.endswith("\n") or "\n\n" in joined or joined == ""):
        raise DrawError(f"{what}不能为空")


def _encode_ids(ids: Sequence[str], what: str = "对象标识") -> np.ndarray:
    """Validate and encode ids chunk by chunk into one fixed-width byte-string array.

    Chunking keeps the peak memory for 10M ids low: one joined string and one
    list of bytes objects at a time; the result is ~N x max_len bytes.
    """
    n = len(ids)
    parts: list[np.ndarray] = []
    for start in range(0, n, _CHUNK):
        chunk = ids[start : start + _CHUNK]
        try:
            joined = "\n".join(chunk)
        except TypeError as exc:
            raise DrawError(f"{what}必须是文本") from exc
        _validate_ids_text(joined, len(chunk), what)
        try:
            b = joined.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DrawError(f"{what}含有无法以 UTF-8 编码的字符") from exc
        del joined
        parts.append(_split_ids(b, len(chunk)))
    if not parts:
        return np.zeros(0, dtype="S1")
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _split_ids(b: bytes, m: int) -> np.ndarray:
    """The m newline-separated ids of `b` as a fixed-width byte-string array."""
    # Fast path: ids of equal byte length (USCCs) need no Python-level split.
    # The caller has checked there are exactly m - 1 newlines, and UTF-8 never
    # puts a 0x0A byte inside a multi-byte character.
    if (len(b) + 1) % m == 0:
        w = (len(b) + 1) // m - 1
        u = np.frombuffer(b + b"\n", dtype=np.uint8).reshape(m, w + 1)
        if w > 0 and bool((u[:, w] == 10).all()):
            return np.ascontiguousarray(u[:, :w]).view(f"S{w}").reshape(m)
    return np.array(b.split(b"\n"), dtype=bytes)


def _sort_order(arr: np.ndarray) -> np.ndarray:
    """Bytewise ascending order of a fixed-width byte-string array.

    Zero padding to a multiple of 8 bytes then a lexsort on big-endian uint64
    words is exactly bytewise order (no id contains NUL) and ~3x faster than
    numpy's string sort.
    """
    n = arr.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    w = arr.dtype.itemsize
    w8 = -(-w // 8) * 8
    u8 = np.ascontiguousarray(arr).view(np.uint8).reshape(n, w)
    keys = []
    for j in range(w8 // 8 - 1, -1, -1):  # lexsort: last key is the primary one
        block = u8[:, 8 * j : 8 * j + 8]
        if block.shape[1] < 8:
            padded = np.zeros((n, 8), dtype=np.uint8)
            padded[:, : block.shape[1]] = block
            block = padded
        keys.append(np.ascontiguousarray(block).view(">u8").reshape(n).astype(np.uint64))
    return np.lexsort(keys)


def _check_duplicates(sorted_arr: np.ndarray) -> None:
    if sorted_arr.shape[0] > 1:
        eq = sorted_arr[1:] == sorted_arr[:-1]
        if eq.any():
            dup = sorted_arr[1:][eq][0].decode("utf-8")
            raise DrawError(f"抽查名录中对象 {dup} 重复出现")


def _compress(m: np.ndarray) -> bytes:
    # Ids and labels are NUL-free, so NUL is exactly the fixed-width padding.
    flat = m.ravel()
    return flat[flat != 0].tobytes()


def _frame_and_public_bytes(
    sorted_arr: np.ndarray, codes_sorted: np.ndarray | None, labels: list[str] | None
) -> tuple[bytes, bytes]:
    """Canonical frame and public frame bytes, built as padded byte matrices a chunk at a time.

    Each row is id, ",", label, "\\n" padded with NULs to a fixed width; removing
    the NULs gives exactly the canonical lines, without a Python loop per row.
    """
    n, w = sorted_arr.shape[0], sorted_arr.dtype.itemsize
    if labels is not None:
        lab = np.array([x.encode("utf-8") for x in labels], dtype=bytes)
        width = lab.dtype.itemsize
        lab_u8 = lab.view(np.uint8).reshape(len(labels), width)
    # Public lines first, joined and their parts freed before the frame lines
    # are built: at 10M entities each copy is ~200 MB.
    parts = []
    for s in range(0, n, _CHUNK):
        ids = np.ascontiguousarray(sorted_arr[s : s + _CHUNK]).view(np.uint8).reshape(-1, w)
        pub = np.empty((ids.shape[0], w + 1), dtype=np.uint8)
        pub[:, :w] = ids
        pub[:, w] = 10
        parts.append(_compress(pub))
        del pub
    public = b"".join(parts)
    parts = []
    if labels is not None:
        for s in range(0, n, _CHUNK):
            ids = np.ascontiguousarray(sorted_arr[s : s + _CHUNK]).view(np.uint8).reshape(-1, w)
            row = np.zeros((ids.shape[0], w + width + 2), dtype=np.uint8)
            row[:, :w] = ids
            row[:, w] = 44  # ","
            row[:, w + 1 : w + 1 + width] = lab_u8[codes_sorted[s : s + _CHUNK]]
            row[:, -1] = 10
            parts.append(_compress(row))
            del row
    frame = b"".join(parts)
    del parts
    return frame, public


def canonical_frame(rows: Iterable[tuple[str, str]]) -> bytes:
    """Canonical bytes of the frozen frame: "entity_id,stratum\\n" lines sorted by id."""
    rows = list(rows)
    return frame_of_rows([r[0] for r in rows], [r[1] for r in rows]).frame_bytes


def canonical_frames(ids: Sequence[str], strata: Sequence[str]) -> tuple[bytes, bytes, dict[str, int]]:
    """Both canonical files from two columns in one sort, and the stratum sizes."""
    fr = frame_of_rows(ids, strata)
    return fr.frame_bytes, fr.public_bytes, fr.sizes()


def canonical_public_frame(ids: Iterable[str]) -> bytes:
    """Canonical bytes of the public frame: "entity_id\\n" lines sorted by id (no stratum)."""
    ids = list(ids)
    arr = _encode_ids(ids)
    order = _sort_order(arr)
    sa = arr[order]
    _check_duplicates(sa)
    return _frame_and_public_bytes(sa, None, None)[1]


@dataclass
class FrameColumns:
    """A checked frame split into columns, the form `rank` works on. Made from rows
    (`frame_of_rows`), from the database's lines (`frame_of_lines`) or from a frozen archive
    (`frame_of_archive`); the freeze builds it anyway, so a draw in the same process can start
    from it (`without_files`)."""

    n: int
    ids_b: np.ndarray  # fixed-width UTF-8 ids, input order
    labels: list[str]  # sorted stratum labels
    codes: np.ndarray  # input order, index into labels
    frame_bytes: bytes
    public_bytes: bytes
    digests: tuple[str, str] | None = None  # SHA-256 of (frame, public frame), once computed

    def sizes(self) -> dict[str, int]:
        """Entities per stratum label."""
        return dict(zip(self.labels, np.bincount(self.codes, minlength=len(self.labels)).tolist()))

    def sha256(self) -> tuple[str, str]:
        """SHA-256 of the canonical frame and public frame (computed once)."""
        if self.digests is None:
            self.digests = (sha256_hex(self.frame_bytes), sha256_hex(self.public_bytes))
        return self.digests

    def without_files(self) -> FrameColumns:
        """The columns and digests without the two files (kept by the archive; ~200 MB each at 10M)."""
        return dataclasses.replace(self, frame_bytes=b"", public_bytes=b"", digests=self.sha256())


def frame_of_rows(ids: Sequence[str], strata: Sequence[str]) -> FrameColumns:
    """The frame of two parallel columns in any row order: checked, sorted, both files built."""
    if len(ids) != len(strata):
        raise DrawError("抽查名录的对象与分层数量不一致")
    arr = _encode_ids(ids)
    distinct = set(strata)
    for lab in distinct:
        if not isinstance(lab, str):
            raise DrawError(f"分层标签必须是文本，当前为 {type(lab).__name__}")
        _check_token(lab, "分层标签")
    labels = sorted(distinct)
    index = {lab: i for i, lab in enumerate(labels)}
    codes = np.fromiter(map(index.__getitem__, strata), dtype=np.int32, count=len(strata))
    if arr.shape[0] > 1 and bool((arr[1:] > arr[:-1]).all()):
        sa, codes_sorted = arr, codes  # already strictly increasing: the sort is the identity
    else:
        order = _sort_order(arr)
        sa = arr[order]
        _check_duplicates(sa)
        codes_sorted = codes[order]
        del order
    fb, pb = _frame_and_public_bytes(sa, codes_sorted, labels)
    del sa, codes_sorted
    return FrameColumns(len(ids), arr, labels, codes, fb, pb)


def _fixed_width_frame(data: bytes, sort: bool = False) -> tuple[bytes, np.ndarray, np.ndarray] | None:
    """(canonical bytes, ids, labels), ids and labels as fixed-width byte-string
    arrays, when `data` holds frame lines that all have one length: ASCII ids of
    one width and labels of one width (the usual case: USCCs and risk classes, or
    risk class and town). None when `data` has another shape, or is not
    canonical (with `sort`: holds a duplicate id); the caller then takes the
    general path, which gives the same bytes or the precise error.

    The check is complete: every line is `id,label\n` with the comma and the
    newline at the same columns, no other comma, newline or forbidden character
    anywhere, non-empty ids and labels, ids strictly increasing bytewise (so
    sorted and without duplicates). Such bytes are exactly the canonical form of
    their own rows. With `sort`, lines in another order are first sorted by id
    (bytewise, as `_sort_order`), which gives that same canonical form.
    """
    if not isinstance(data, bytes) or not data or not data.isascii():
        return None
    nl = data.find(b"\n")
    w = data.find(b",", 0, nl)
    if w <= 0 or nl - w < 2 or len(data) % (nl + 1):
        return None
    n = len(data) // (nl + 1)
    if data.count(b"\n") != n or data.count(b",") != n:
        return None
    if len(data.translate(None, _FORBIDDEN_ASCII)) != len(data):
        return None
    m = np.frombuffer(data, dtype=np.uint8).reshape(n, nl + 1)
    if not (bool((m[:, w] == 44).all()) and bool((m[:, nl] == 10).all())):
        return None
    ids = np.ascontiguousarray(m[:, :w]).view(f"S{w}").reshape(n)
    if n > 1 and not bool((ids[1:] > ids[:-1]).all()):
        if not sort:
            return None
        order = _sort_order(ids)
        ids = ids[order]
        if bool((ids[1:] == ids[:-1]).any()):
            return None  # a duplicate id: the general path names it
        m = m[order]
        del order
        data = m.tobytes()
    labels = np.ascontiguousarray(m[:, w + 1 : nl]).view(f"S{nl - w - 1}").reshape(n)
    return data, ids, labels


def _label_codes(lab: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Sorted distinct labels (ASCII) of a fixed-width byte-string array and each row's index into them."""
    n, lw = lab.shape[0], lab.dtype.itemsize
    if lw <= 2:  # one or two bytes (risk classes): a counting pass instead of a sort
        u8 = lab.view(np.uint8).reshape(n, lw)
        key = u8[:, 0].astype(np.int32) << 8 if lw == 2 else u8[:, 0].astype(np.int32)
        if lw == 2:
            key |= u8[:, 1]
        present = np.flatnonzero(np.bincount(key, minlength=1 << (8 * lw)))
        lut = np.zeros(1 << (8 * lw), dtype=np.int32)
        lut[present] = np.arange(present.size, dtype=np.int32)
        codes = lut[key]
        uniq = [bytes(int(v) >> 8 * (lw - 1 - j) & 0xFF for j in range(lw)) for v in present.tolist()]
    else:
        u, inv = np.unique(lab, return_inverse=True)  # byte order = code point order for ASCII
        codes = inv.astype(np.int32, copy=False).reshape(n)
        uniq = u.tolist()
    return [b.decode("ascii") for b in uniq], codes


def _fixed_frame(data: bytes, sort: bool = False) -> FrameColumns | None:
    """The `FrameColumns` of a canonical fixed-width frame (see `_fixed_width_frame`), or None."""
    cols = _fixed_width_frame(data, sort)
    if cols is None:
        return None
    data, ids, lab = cols
    n, w = ids.shape[0], ids.dtype.itemsize
    labels, codes = _label_codes(lab)
    del lab
    for label in labels:
        _check_token(label, "分层标签")
    pub = np.empty((n, w + 1), dtype=np.uint8)
    pub[:, :w] = ids.view(np.uint8).reshape(n, w)
    pub[:, w] = 10
    return FrameColumns(n, ids, labels, codes, data, pub.tobytes())


def frame_of_lines(data: bytes) -> FrameColumns | None:
    """The frame of lines `id,stratum\\n` given as bytes in any order (e.g. straight from the
    database), from numpy on fixed-width lines after a complete check (`_fixed_width_frame`),
    without a Python string per row. None when `data` is not such a frame (other shapes,
    forbidden characters, duplicate ids); the caller then makes the frame from its rows
    (`frame_of_rows`), which gives the same frame or the precise error."""
    return _fixed_frame(data, sort=True)


def canonical_frames_bytes(data: bytes) -> tuple[bytes, bytes, dict[str, int]] | None:
    """`canonical_frames` of the lines `data` (see `frame_of_lines`), or None."""
    fr = frame_of_lines(data)
    return None if fr is None else (fr.frame_bytes, fr.public_bytes, fr.sizes())


def frame_of_archive(frame_bytes: bytes) -> FrameColumns:
    """The frame of bytes already in canonical form (a frozen archive), not sorted again: the
    bytes are checked to be canonical (ids strictly increasing bytewise, two fields a line) and
    are the frame file as they are. Fixed-width frames (USCCs and labels of one width) are
    checked and split by numpy, without a Python string per entity."""
    with gc_pause.paused():  # the general path makes millions of short-lived strings
        fr = _fixed_frame(frame_bytes)
        return fr if fr is not None else _general_frozen_frame(frame_bytes)


def _general_frozen_frame(frame_bytes: bytes) -> FrameColumns:
    """`FrameColumns` of canonical frame bytes of any shape (ids or labels of several widths)."""
    text = frame_bytes.decode("utf-8")
    cells = text[:-1].replace("\n", ",").split(",") if text else []
    if (text and not text.endswith("\n")) or len(cells) % 2:
        raise DrawError("抽查名录不是规范格式（每行应为“对象标识,分层”并以换行结尾）")
    ids, strata = cells[0::2], cells[1::2]
    del cells
    arr = _encode_ids(ids)
    if arr.shape[0] > 1 and not bool(np.all(arr[1:] > arr[:-1])):
        raise DrawError("抽查名录不是规范格式（对象标识须按字节序严格递增、无重复）")
    distinct = set(strata)
    for lab in distinct:
        _check_token(lab, "分层标签")
    labels = sorted(distinct)
    index = {lab: i for i, lab in enumerate(labels)}
    codes = np.fromiter(map(index.__getitem__, strata), dtype=np.int32, count=len(strata))
    public_b = re.sub(rb",[^\n]*", b"", frame_bytes)
    return FrameColumns(len(ids), arr, labels, codes, frame_bytes, public_b)


def parse_frame(data: bytes) -> list[tuple[str, str]]:
    """Parse canonical frame bytes back into (entity_id, stratum) rows; strict."""
    text = data.decode("utf-8")
    if not text:
        return []
    if not text.endswith("\n"):
        raise DrawError("抽查名录文件必须以换行结尾")
    rows = []
    for no, line in enumerate(text[:-1].split("\n"), start=1):
        parts = line.split(",")
        if len(parts) != 2:
            raise DrawError(f"抽查名录第 {no} 行格式错误：应为“对象标识,分层”")
        rows.append((parts[0], parts[1]))
    return rows


# ---------------------------------------------------------------- k, rules


def parse_ratio(ratio: str, *, what: str = "抽查比例", max_one: bool = True) -> Fraction:
    """Exact value of a decimal string with at most 6 decimals ("0.05", "1", "0.333333")."""
    if not isinstance(ratio, str):
        raise DrawError(f"{what}须以文本形式给出（如 \"0.05\"），当前为 {type(ratio).__name__}")
    m = _DECIMAL_RE.fullmatch(ratio)
    if not m:
        raise DrawError(f"{what}“{ratio}”格式错误：须为最多 6 位小数的十进制数，如 0.05")
    whole, frac = m.group(1), m.group(2) or ""
    value = Fraction(int(whole + frac), 10 ** len(frac))
    if max_one and value > 1:
        raise DrawError(f"{what}“{ratio}”不能大于 1")
    return value


def stratum_k(size: int, ratio: str | None, count: int | None) -> int:
    """Number to select from a stratum of `size`: ceil(size x ratio) exactly, or min(count, size)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise DrawError("分层规模必须是非负整数")
    if (ratio is None) == (count is None):
        raise DrawError("每个分层须且只须指定抽查比例或抽查数量之一")
    if ratio is not None:
        p = parse_ratio(ratio)
        return -((-size * p.numerator) // p.denominator)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise DrawError("抽查数量必须是非负整数")
    return min(count, size)


def reserve_count(k: int, available: int, reserve_ratio: str) -> int:
    """r = max(1, ceil(k x reserve_ratio)) when k > 0, capped by `available`; 0 when k = 0."""
    if k == 0:
        return 0
    q = parse_ratio(reserve_ratio, what="备选比例", max_one=False)
    r = max(1, -((-k * q.numerator) // q.denominator))
    return min(r, available)


@dataclass(frozen=True)
class StratumRule:
    ratio: str | None = None
    count: int | None = None


@dataclass(slots=True)
class StratumResult:
    stratum: str
    size: int
    ratio: str | None
    count: int | None
    k: int
    cutoff: str | None
    reserve_count: int


@dataclass(slots=True)
class Selected:
    entity_id: str
    stratum: str
    rank: int  # 1-based position in the draw order
    batch: int  # 1-based
    ticket: str


@dataclass(slots=True)
class Reserve:
    entity_id: str
    stratum: str
    reserve_rank: int  # 1-based within its stratum
    ticket: str


@dataclass
class DrawResult:
    frame_sha256: str
    public_frame_sha256: str
    frame_size: int
    strata: list[StratumResult]
    selected: list[Selected]
    reserves: list[Reserve]
    reserve_ratio: str = DEFAULT_RESERVE_RATIO
    batches: int = 1
    # The canonical bytes, so callers can write the package without rebuilding them.
    frame_bytes: bytes = field(default=b"", repr=False, compare=False)
    public_frame_bytes: bytes = field(default=b"", repr=False, compare=False)


def batch_of(position: int, batches: int, total: int) -> int:
    """1-based batch of the 0-based `position` among `total` selected."""
    return position * batches // total + 1


# ---------------------------------------------------------------- the draw


class _Tickets:
    """All digests in one buffer plus their first 8 bytes as native uint64 keys."""

    def __init__(self, blob: bytes | bytearray, ids_b: np.ndarray) -> None:
        self.blob = blob
        self.ids_b = ids_b
        n = len(blob) // 32
        self.keys = np.frombuffer(blob, dtype=">u8").reshape(n, 4)[:, 0].astype(np.uint64) if n else np.zeros(0, np.uint64)

    def digest(self, i: int) -> bytes:
        return bytes(self.blob[32 * i : 32 * i + 32])

    def hex_tickets(self, idx: np.ndarray) -> list[str]:
        blob = self.blob
        return [blob[32 * i : 32 * i + 32].hex() for i in idx.tolist()]

    def exact_order(self, idx: np.ndarray) -> np.ndarray:
        """`idx` sorted by (ticket, entity_id): numpy on the 8-byte keys, exact on ties."""
        if idx.shape[0] < 2:
            return idx
        k = self.keys[idx]
        o = np.argsort(k, kind="stable")
        out = idx[o]
        ks = k[o]
        same = np.flatnonzero(ks[1:] == ks[:-1])
        if same.shape[0]:
            out = out.copy()
            i = 0
            while i < same.shape[0]:
                start = int(same[i])
                end = start + 1
                while i < same.shape[0] and int(same[i]) == end - 1:
                    end += 1
                    i += 1
                run = out[start:end].tolist()
                run.sort(key=lambda j: (self.digest(j), bytes(self.ids_b[j])))
                out[start:end] = run
        return out

    def smallest(self, idx: np.ndarray, m: int) -> np.ndarray:
        """The m members of `idx` with the smallest (ticket, id), in that order."""
        if m <= 0:
            return idx[:0]
        if m < idx.shape[0]:
            k = self.keys[idx]
            part = np.argpartition(k, m - 1)[:m]
            threshold = k[part].max()
            idx = idx[k <= threshold]  # keeps every tie at the 8-byte threshold
        return self.exact_order(idx)[:m]


def _resolve_rule(label: str, rules: Mapping[str, StratumRule], default_rule: StratumRule | None) -> StratumRule:
    rule = rules.get(label, default_rule)
    if rule is None:
        raise DrawError(f"分层“{label}”没有抽查比例或数量（请为其设置规则或默认规则）")
    if (rule.ratio is None) == (rule.count is None):
        raise DrawError(f"分层“{label}”须且只须指定抽查比例或抽查数量之一")
    return rule


def _checked_prefix(seed: str, plan_code: str, period: str, rules: Mapping[str, StratumRule], batches: int,
                    reserve_ratio: str) -> bytes:
    """The tickets' common prefix, once the draw's parameters are checked."""
    prefix = _ticket_prefix(seed, plan_code, period)
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 1:
        raise DrawError("检查批次数必须是不小于 1 的整数")
    parse_ratio(reserve_ratio, what="备选比例", max_one=False)
    for label in rules:
        _check_token(label, "分层标签")
    return prefix


def rank(
    seed: str,
    plan_code: str,
    period: str,
    frame: FrameColumns,
    rules: Mapping[str, StratumRule],
    batches: int = 1,
    reserve_ratio: str = DEFAULT_RESERVE_RATIO,
    default_rule: StratumRule | None = None,
) -> DrawResult:
    """DSR-1 on a checked frame: every ticket, each stratum's selection and reserves, the draw
    order and batches. The result carries the frame's files as `frame` holds them (none after
    `FrameColumns.without_files`) and their digests.

    `rules` maps each stratum label to its StratumRule; strata missing from `rules` use
    `default_rule`, and without one the draw is refused. A rule for a stratum absent from the
    frame yields a stratum of size 0.
    """
    prefix = _checked_prefix(seed, plan_code, period, rules, batches, reserve_ratio)
    labels = sorted(set(frame.labels) | set(rules))
    resolved = {lab: _resolve_rule(lab, rules, default_rule) for lab in labels}
    # A million tickets, selections and results in flight, none of them in a cycle (gc_pause).
    with gc_pause.paused():
        tk = _Tickets(_digests_bytes(prefix, frame.ids_b), frame.ids_b)
        strata, chosen, reserves = _select_strata(tk, frame, resolved, reserve_ratio)
        selected = _in_draw_order(tk, frame, chosen, batches)
        digests = frame.sha256()
    return DrawResult(
        frame_sha256=digests[0],
        public_frame_sha256=digests[1],
        frame_size=frame.n,
        strata=strata,
        selected=selected,
        reserves=reserves,
        reserve_ratio=reserve_ratio,
        batches=batches,
        frame_bytes=frame.frame_bytes,
        public_frame_bytes=frame.public_bytes,
    )


def _select_strata(tk: _Tickets, fr: FrameColumns, resolved: dict[str, StratumRule],
                   reserve_ratio: str) -> tuple[list[StratumResult], list[np.ndarray], list[Reserve]]:
    """Per stratum (in label order): its k and reserves, the selected members' indexes, the reserves."""
    code_of = {lab: i for i, lab in enumerate(fr.labels)}
    # Members of each stratum, via one stable argsort of the codes; the strata's bounds in it from
    # their sizes (a search in the sorted codes would first gather all of them: 10M, ~0.17 s).
    by_code = np.argsort(fr.codes, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(fr.codes, minlength=len(fr.labels)))))
    strata_out: list[StratumResult] = []
    chosen: list[np.ndarray] = []
    reserves: list[Reserve] = []
    for lab, rule in resolved.items():
        c = code_of.get(lab)
        members = by_code[bounds[c] : bounds[c + 1]] if c is not None else by_code[:0]
        size = int(members.shape[0])
        k = stratum_k(size, rule.ratio, rule.count)
        r = reserve_count(k, size - k, reserve_ratio)
        top = tk.smallest(members, k + r)
        sel, res = top[:k], top[k:]
        cutoff = tk.digest(int(sel[-1])).hex() if k else None
        strata_out.append(StratumResult(lab, size, rule.ratio, rule.count, k, cutoff, r))
        chosen.append(sel)
        for j, i in enumerate(res.tolist(), start=1):
            reserves.append(Reserve(bytes(fr.ids_b[i]).decode("utf-8"), lab, j, tk.digest(i).hex()))
    return strata_out, chosen, reserves


def _in_draw_order(tk: _Tickets, fr: FrameColumns, chosen: list[np.ndarray], batches: int) -> list[Selected]:
    """All selected entities by (ticket, id), each with its rank and batch."""
    all_sel = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.intp)
    ordered = tk.exact_order(all_sel)
    total = int(ordered.shape[0])
    sel_ids = [b.decode("utf-8") for b in fr.ids_b[ordered].tolist()]
    sel_strata = [fr.labels[c] for c in fr.codes[ordered].tolist()]
    sel_tickets = tk.hex_tickets(ordered)
    sel_batches = (np.arange(total, dtype=np.int64) * batches // max(total, 1) + 1).tolist()
    return list(map(Selected, sel_ids, sel_strata, range(1, total + 1), sel_batches, sel_tickets))


def run_draw(
    seed: str,
    plan_code: str,
    period: str,
    frame: Sequence[tuple[str, str]],
    rules: Mapping[str, StratumRule],
    batches: int = 1,
    reserve_ratio: str = DEFAULT_RESERVE_RATIO,
    default_rule: StratumRule | None = None,
) -> DrawResult:
    """`rank` on the frame [(entity_id, stratum), ...] (any row order), as a verifier has it."""
    _checked_prefix(seed, plan_code, period, rules, batches, reserve_ratio)  # refused before the frame is built
    with gc_pause.paused():
        fr = frame_of_rows(list(map(itemgetter(0), frame)), list(map(itemgetter(1), frame)))
    return rank(seed, plan_code, period, fr, rules, batches, reserve_ratio, default_rule)
