"""Draw certificates (抽取证书) for DSR-1 and the two packages that carry them.

* The auditor package (审计包: certificate.json + frame.csv) lets anyone holding
  it recompute the whole draw: every ticket, every stratum's k and cutoff, the
  selection, ranks, batches and reserves. It holds the internal strata (risk
  classes), so it goes to auditors and discipline inspectors, not the public.
* The public package (公开包: certificate.json + public_frame.csv + commitments.csv)
  has no strata: each entity's stratum, and each stratum's k and cutoff, only as
  salted commitments (scheduler/draw/commitments.py). The public checks everything
  that does not depend on the strata; each entity, given its opening, checks its own
  case (see scheduler/verify.py).

Pure: the caller supplies the timestamps and the version string.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from scheduler.draw.commitments import COMMITMENTS_FILE, check_key, commitments_csv, hidden_strata
from scheduler.draw.fast import ALGORITHM, DrawError, DrawResult, validate_seed
from scheduler.draw.files import CERTIFICATE_FILE, FRAME_FILE, PUBLIC_FRAME_FILE
from scheduler.runtime import cores

SEED_SOURCES = ("ceremony", "system")
# Keys of plan items that may describe strata (risk classes) and so are dropped
# from the public certificate unless the caller passes public_items itself.
PRIVATE_ITEM_KEYS = frozenset(
    {"stratum", "strata", "risk_class", "risk_classes", "rules", "ratio", "ratios", "count", "counts", "stratum_rules"}
)


def _stratum_dict(s: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"stratum": s.stratum, "size": s.size}
    if s.ratio is not None:
        d["ratio"] = s.ratio
    else:
        d["count"] = s.count
    d.update({"k": s.k, "cutoff": s.cutoff, "reserves": s.reserve_count})
    return d


def build_certificate(
    result: DrawResult,
    *,
    seed: str,
    seed_source: str,
    plan_code: str,
    period: str,
    items: list[dict],
    batches: int,
    software_version: str,
    frozen_at: str,
    drawn_at: str,
    extra: dict | None = None,
    annual: dict | None = None,
) -> dict:
    """The auditor certificate of a draw, as a JSON-able dict. `annual`: the year's allocation
    (scheduler/plans/quota.py `annual_section`), kept whole here; the public certificate keeps its totals."""
    validate_seed(seed)
    if seed_source not in SEED_SOURCES:
        raise DrawError(f"种子来源须为 {' 或 '.join(SEED_SOURCES)}，当前为“{seed_source}”")
    if batches != result.batches:
        raise DrawError(f"证书的批次数 {batches} 与抽取结果的批次数 {result.batches} 不一致")
    cert: dict[str, Any] = {
        "algorithm": ALGORITHM,
        "package_kind": "auditor",
        "seed": seed,
        "seed_source": seed_source,
        "plan_code": plan_code,
        "period": period,
        "frame_file": FRAME_FILE,
        "frame_sha256": result.frame_sha256,
        "public_frame_sha256": result.public_frame_sha256,
        "frame_size": result.frame_size,
        "reserve_ratio": result.reserve_ratio,
        "batches": batches,
        "strata": [_stratum_dict(s) for s in result.strata],
        "selected": [
            {"entity_id": s.entity_id, "stratum": s.stratum, "rank": s.rank, "batch": s.batch, "ticket": s.ticket}
            for s in result.selected
        ],
        "reserves": [
            {"entity_id": r.entity_id, "stratum": r.stratum, "reserve_rank": r.reserve_rank, "ticket": r.ticket}
            for r in result.reserves
        ],
        "items": list(items),
        "software_version": software_version,
        "frozen_at": frozen_at,
        "drawn_at": drawn_at,
    }
    if extra:
        cert["extra"] = extra
    if annual is not None:
        cert["annual"] = annual
    return cert


def with_commitments(cert: dict, frame_bytes: bytes, key: str) -> tuple[dict, bytes]:
    """The auditor certificate with its hidden-strata fields (docs/draw-algorithm.md §3.2), and
    commitments.csv. `key` is the draw's commitment key (64 hex digits); everything follows
    from it and the frame, so a package written twice is the same."""
    kb = check_key(key)
    # Lines, not rows: a list of a million strings is not tracked by the cyclic GC, a list of a
    # million [id, stratum] lists is (and its collections cost 0.6 s at 550,000 rows).
    lines = frame_bytes.decode("utf-8").split("\n")
    mid = len(lines) // 2

    def rows(part: list[str]):
        return (line.split(",", 1) for line in part if line)

    # The second half hashed in a forked child from the command line (hashlib there: `cores.alone`).
    with cores.Forked(lambda _send: commitments_csv(kb, rows(lines[mid:])), timeout=max(300.0, len(lines) / 10_000),
                      fork=len(lines) > cores.MIN_SPLIT and cores.alone()) as second:
        data = commitments_csv(kb, rows(lines[:mid])) + second.result()
    out = dict(cert)
    out["commitment_key"] = key
    out["commitments_file"] = COMMITMENTS_FILE
    out["commitments_sha256"] = hashlib.sha256(data).hexdigest()
    out["hidden_strata"] = hidden_strata(kb, [(s["stratum"], s["k"], s["cutoff"]) for s in cert["strata"]])
    return out, data


def build_public_certificate(cert: dict, *, public_items: list[dict] | None = None) -> dict:
    """The public certificate (§3.3): nothing that tells which entities share a stratum.

    No strata, sizes, cutoffs or reserves (each locates the hidden boundaries), no
    frame_sha256 (an unsalted digest of the strata, a test for a guessed partition):
    the commitments stand for them."""
    if cert.get("package_kind") != "auditor":
        raise DrawError("只能由审计证书生成公开证书")
    if "commitments_sha256" not in cert:
        raise DrawError("审计证书缺少分层承诺（commitments_sha256），不能生成公开证书")
    if public_items is None:
        public_items = [{k: v for k, v in it.items() if k not in PRIVATE_ITEM_KEYS} for it in cert.get("items", [])]
    out = {
        "algorithm": cert["algorithm"],
        "package_kind": "public",
        "seed": cert["seed"],
        "seed_source": cert["seed_source"],
        "plan_code": cert["plan_code"],
        "period": cert["period"],
        "public_frame_file": PUBLIC_FRAME_FILE,
        "public_frame_sha256": cert["public_frame_sha256"],
        "frame_size": cert["frame_size"],
        "commitments_file": COMMITMENTS_FILE,
        "commitments_sha256": cert["commitments_sha256"],
        "hidden_strata": cert["hidden_strata"],
        "batches": cert["batches"],
        "selected": [
            {"entity_id": s["entity_id"], "rank": s["rank"], "batch": s["batch"], "ticket": s["ticket"]}
            for s in cert["selected"]
        ],
        "items": public_items,
        "software_version": cert["software_version"],
        "frozen_at": cert["frozen_at"],
        "drawn_at": cert["drawn_at"],
    }
    if "annual" in cert:
        # Totals only: a stratum's quota, base or k locates the hidden strata (§3, §6.3).
        out["annual"] = {k: cert["annual"][k] for k in PUBLIC_ANNUAL_KEYS if k in cert["annual"]}
        # Not the earlier certificates' digests: an unsalted digest of a certificate holding the strata
        # is a test for a guessed partition, as frame_sha256 would be.
        out["annual"]["earlier_draws"] = [{k: v for k, v in e.items() if k != "certificate_sha256"}
                                          for e in out["annual"].get("earlier_draws", [])]
    return out


PUBLIC_ANNUAL_KEYS = ("year", "periods", "period", "periods_left", "rule", "quota", "drawn_before", "k", "earlier_draws")


def stored_json(obj: Any) -> bytes:
    """`obj` as compact JSON in ASCII only, as a draw stores its certificate.

    orjson writes it (~15x faster than the json module); characters beyond ASCII (item and
    department names) become \\u escapes, as json.dumps writes them by default. ASCII-only
    text costs nothing to decode and to hand to the database (no wide string, no UTF-8
    copy): a 10M-entity draw's certificate is ~150 MB, where that took ~2 s and ~0.5 GB.
    orjson writes such characters only inside strings, whose escapes they then become."""
    data = orjson.dumps(obj)
    if data.isascii():
        return data
    if not any(data.find(lead) >= 0 for lead in _NOT_U4_LEADS):
        # Every character beyond ASCII is in U+0100..U+FFFF, whose backslash escape is JSON's
        # \uxxxx: C passes (a 1M draw's matching section, 42k empty slots' reasons: ~0.5 s less).
        return _escaped_u4(data)
    return _escaped_runs(data)


def _escaped_u4(data: bytes, step: int = 1 << 23) -> bytes:
    """`data` with its characters U+0100..U+FFFF backslash-escaped, ~8 MB at a time (a whole
    10M certificate as one str would be ~300 MB). A piece ends before an ASCII byte, which no
    UTF-8 character spans."""
    out, pos, n = [], 0, len(data)
    while pos < n:
        end = min(pos + step, n)
        while end < n and data[end] >= 0x80:
            end += 1
        out.append(data[pos:end].decode("utf-8").encode("ascii", "backslashreplace"))
        pos = end
    return b"".join(out)


# UTF-8 lead bytes of U+0080..U+00FF (escaped \xhh by Python) and of U+10000 and beyond (\Uhhhhhhhh;
# JSON writes a surrogate pair): text holding any of them is escaped run by run.
_NOT_U4_LEADS = (b"\xc2", b"\xc3", b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def _escaped_runs(data: bytes) -> bytes:
    """`data` (orjson's UTF-8) with each run of non-ASCII characters as json.dumps escapes it."""
    parts: list[bytes] = []
    pos = 0
    escaped: dict[bytes, bytes] = {}  # the same names and reasons recur (a matching's empty slots: 10^4)
    for s, e in _non_ascii_runs(data):
        parts.append(data[pos:s])
        run = data[s:e]
        esc = escaped.get(run)
        if esc is None:
            esc = escaped[run] = json.dumps(run.decode("utf-8"))[1:-1].encode("ascii")
        parts.append(esc)
        pos = e
    parts.append(data[pos:])
    return b"".join(parts)


def _non_ascii_runs(data: bytes, chunk: int = 1 << 24) -> list[tuple[int, int]]:
    """(start, end) of each run of non-ASCII bytes (whole UTF-8 characters), found by numpy
    a chunk at a time (a boolean per byte of the chunk, not of all the data)."""
    runs: list[list[int]] = []
    for c in range(0, len(data), chunk):
        hi = np.flatnonzero(np.frombuffer(data, dtype=np.uint8, count=min(chunk, len(data) - c), offset=c) >= 0x80)
        if not hi.size:
            continue
        hi += c
        cut = np.flatnonzero(np.diff(hi) != 1) + 1
        for s, e in zip(np.concatenate(([0], cut)).tolist(), np.concatenate((cut, [hi.size])).tolist()):
            a, b = int(hi[s]), int(hi[e - 1]) + 1
            if runs and runs[-1][1] == a:  # a run across two chunks
                runs[-1][1] = b
            else:
                runs.append([a, b])
    return [(a, b) for a, b in runs]


def certificate_json(cert: dict) -> str:
    """The package's certificate.json: `json.dumps(cert, ensure_ascii=False, indent=2)` and a
    newline, byte for byte. orjson writes that text (the json module's indenting encoder is pure
    Python: a 1M draw's 25 MB certificate took ~3 s, orjson ~0.1 s); what orjson cannot write
    (integers beyond 64 bits, keys that are not strings) goes through the json module, and so
    does a certificate with a number in exponent form or below 1e-4, which the two write
    differently (1e-05 / 0.00001). Both write a NaN differently too; a certificate has none."""
    try:
        out = orjson.dumps(cert, option=orjson.OPT_INDENT_2)
    except TypeError:
        out = None
    if out is None or _odd_numbers(out):
        return json.dumps(cert, ensure_ascii=False, indent=2) + "\n"
    return out.decode("utf-8") + "\n"


def _odd_numbers(out: bytes) -> bool:
    """Whether orjson's text may hold a number that json writes otherwise: below 1e-4 (orjson
    0.00001, json 1e-05) or with a one-digit negative exponent (1e-7 / 1e-07). Found with
    plain byte searches (a regular expression took ~0.7 s on a 1M draw's); a hit inside a
    string only sends the certificate to the json module."""
    if out.find(b"0.0000") >= 0:
        return True
    at = out.find(b"e-")
    while at >= 0:
        if at > 0 and out[at - 1:at].isdigit() and out[at + 2:at + 3].isdigit():
            return True
        at = out.find(b"e-", at + 2)
    return False


def load_stored(text: str) -> dict:
    """A stored certificate (`stored_json`'s text) as a dict, as `json.loads` reads it: orjson,
    ~2x faster on a 1M draw's. `stored_json` writes with orjson, which refuses integers beyond
    64 bits (the one kind of value orjson reads back differently, as a float); text orjson does
    not read goes to the json module."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def write_package(dir: str | Path, cert: dict, frame_bytes: bytes) -> Path:
    """Write the auditor package: certificate.json and frame.csv (canonical bytes)."""
    d = Path(dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / CERTIFICATE_FILE).write_text(certificate_json(cert), encoding="utf-8")
    (d / FRAME_FILE).write_bytes(frame_bytes)
    return d


def write_public_package(dir: str | Path, public_cert: dict, public_frame_bytes: bytes,
                         commitments: bytes) -> Path:
    """Write the public package: certificate.json, public_frame.csv and commitments.csv."""
    d = Path(dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / CERTIFICATE_FILE).write_text(certificate_json(public_cert), encoding="utf-8")
    (d / PUBLIC_FRAME_FILE).write_bytes(public_frame_bytes)
    (d / COMMITMENTS_FILE).write_bytes(commitments)
    return d
