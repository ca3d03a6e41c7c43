"""Independent verification of DSR-1 packages (抽取证书核验).

`verify_package(dir)` reads a package written by scheduler.draw.certificate and
recomputes what it can from the package alone, stopping at the first
difference, which it names in Chinese with the concrete field or entity.

It recomputes with the reference implementations only: the draw with
scheduler/draw/reference.py, the inspector matching of an auditor package with
scheduler/matching/reference.py (`check_package`). It imports nothing else but
the standard library (tests/test_verify_independence.py holds it to that), so a
fault of the fast engines that made a draw is found rather than repeated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scheduler.draw import reference as dsr1
from scheduler.draw.files import CERTIFICATE_FILE, FRAME_FILE, PUBLIC_FRAME_FILE
from scheduler.draw.reference import ALGORITHM, DrawError
from scheduler.matching import reference as matching

PUBLIC_UNCHECKED = [
    "各对象所属分层（风险分类不公开，公开包中没有）",
    "每个分层内入选对象恰为该层抽签号最小的 k 个（需要分层归属）",
    "各分层的 k 是否等于 ceil(规模×比例)（公开包不含各层比例）",
    "备选对象的分层及其在层内的顺序",
]


@dataclass
class VerifyReport:
    ok: bool
    kind: str
    checks: list[str] = field(default_factory=list)
    first_difference: str | None = None
    unchecked: list[str] = field(default_factory=list)


class _Difference(Exception):
    pass


def _short(t: Any) -> str:
    return f"{t[:16]}…" if isinstance(t, str) and len(t) > 16 else repr(t)


def _expect(cond: bool, message: str) -> None:
    if not cond:
        raise _Difference(message)


def _read_bytes(d: Path, name: str) -> bytes:
    p = d / name
    _expect(p.is_file(), f"包中缺少文件 {name}")
    return p.read_bytes()


def _common(cert: dict, checks: list[str]) -> None:
    _expect(cert.get("algorithm") == ALGORITHM, f"算法应为 {ALGORITHM}，证书中为 {cert.get('algorithm')!r}")
    for key in ("seed", "plan_code", "period", "frame_size", "batches", "strata", "selected", "public_frame_sha256"):
        _expect(key in cert, f"证书缺少字段 {key}")
    try:
        dsr1.validate_seed(cert["seed"])
    except DrawError as exc:
        raise _Difference(f"证书字段 seed 无效：{exc}") from None
    checks.append("算法为 DSR-1，随机种子格式有效（20-64 位半角数字，按文本使用）")


def _check_selected_tickets(cert: dict, known_ids: set[str] | None, checks: list[str]) -> None:
    sel = cert["selected"]
    ids = [s["entity_id"] for s in sel]
    if known_ids is not None:
        for e in ids:
            _expect(e in known_ids, f"入选对象 {e} 不在抽查名录中")
    try:
        tickets = dsr1.tickets(cert["seed"], cert["plan_code"], cert["period"], ids)
    except DrawError as exc:
        raise _Difference(f"无法重算抽签号：{exc}") from None
    for s, t in zip(sel, tickets):
        _expect(
            t == s["ticket"],
            f"入选对象 {s['entity_id']} 的抽签号（ticket）与按随机种子、计划编号、期间重算的值不一致："
            f"证书 {_short(s['ticket'])}，重算 {_short(t)}",
        )
    checks.append(f"全部 {len(sel)} 个入选对象的抽签号均可由随机种子重算")


def _verify_auditor(d: Path, cert: dict, checks: list[str]) -> None:
    _common(cert, checks)
    for key in ("frame_sha256", "reserve_ratio", "reserves"):
        _expect(key in cert, f"证书缺少字段 {key}")
    data = _read_bytes(d, cert.get("frame_file", FRAME_FILE))
    digest = hashlib.sha256(data).hexdigest()
    _expect(digest == cert["frame_sha256"],
            f"frame.csv 的 SHA-256（{_short(digest)}）与证书字段 frame_sha256（{_short(cert['frame_sha256'])}）不一致")
    checks.append("frame.csv 的 SHA-256 与证书 frame_sha256 一致")
    try:
        rows = dsr1.parse_frame(data)
        _expect(dsr1.canonical_frame(rows) == data, "frame.csv 不是规范格式（须按对象标识字节序排列、无表头、每行“对象标识,分层”）")
    except (DrawError, UnicodeDecodeError) as exc:
        raise _Difference(f"frame.csv 无法解析：{exc}") from None
    checks.append("frame.csv 为规范格式（按对象标识排序、无重复）")
    _expect(len(rows) == cert["frame_size"], f"证书字段 frame_size 为 {cert['frame_size']}，frame.csv 实有 {len(rows)} 个对象")
    checks.append(f"名录规模 frame_size = {len(rows)}")

    stratum_of = dict(rows)
    _check_selected_tickets(cert, set(stratum_of), checks)

    rules: dict[str, dsr1.Rule] = {}
    for s in cert["strata"]:
        _expect("ratio" in s or "count" in s, f"分层 {s.get('stratum')} 缺少抽查比例或数量")
        rules[s["stratum"]] = dsr1.Rule(ratio=s.get("ratio"), count=s.get("count"))
    for lab in sorted(set(stratum_of.values())):
        _expect(lab in rules, f"分层 {lab} 出现在 frame.csv 中，但证书 strata 中没有它的规则")
    try:
        res = dsr1.draw(cert["seed"], cert["plan_code"], cert["period"], rows, rules,
                        batches=cert["batches"], reserve_ratio=cert["reserve_ratio"])
    except DrawError as exc:
        raise _Difference(f"无法按证书参数重算抽取：{exc}") from None
    _expect(res.public_frame_sha256 == cert["public_frame_sha256"],
            f"证书字段 public_frame_sha256 与由 frame.csv 导出的公开名录摘要（{_short(res.public_frame_sha256)}）不一致")
    checks.append("public_frame_sha256 与 frame.csv 导出的公开名录一致")

    cert_strata = {s["stratum"]: s for s in cert["strata"]}
    _expect(len(cert_strata) == len(cert["strata"]), "证书 strata 中有重复的分层")
    for r in res.strata:
        c = cert_strata[r.stratum]
        for name, mine in (("size", r.size), ("k", r.k), ("cutoff", r.cutoff), ("reserves", r.reserve_count)):
            _expect(c.get(name) == mine, f"分层 {r.stratum} 的 {name}：证书为 {_short(c.get(name))}，重算为 {_short(mine)}")
    checks.append(f"{len(res.strata)} 个分层的规模、抽取数 k（精确向上取整）、截止抽签号 cutoff、备选数均一致")

    got = {s["entity_id"] for s in cert["selected"]}
    want = {s.entity_id for s in res.selected}
    for e in sorted(want - got):
        raise _Difference(f"对象 {e}（分层 {stratum_of[e]}）按重算应入选，但证书 selected 中没有")
    for e in sorted(got - want):
        raise _Difference(f"证书 selected 中的对象 {e} 按重算不应入选（抽签号高于所在分层 {stratum_of.get(e)} 的 cutoff）")
    _expect(len(cert["selected"]) == len(res.selected), "证书 selected 中有重复的对象")
    checks.append(f"入选名单一致（{len(want)} 个对象，每层恰为抽签号不大于 cutoff 的对象）")
    for c, r in zip(cert["selected"], res.selected):
        for name, mine in (("entity_id", r.entity_id), ("stratum", r.stratum), ("rank", r.rank), ("batch", r.batch)):
            _expect(c.get(name) == mine,
                    f"抽取顺序第 {r.rank} 位（对象 {r.entity_id}）的 {name}：证书为 {c.get(name)!r}，重算为 {mine!r}")
    checks.append(f"抽取顺序（rank）与批次（batch，共 {res.batches} 批）一致")

    _expect(len(cert["reserves"]) == len(res.reserves),
            f"备选对象数：证书为 {len(cert['reserves'])}，重算为 {len(res.reserves)}")
    for c, r in zip(cert["reserves"], res.reserves):
        for name, mine in (("entity_id", r.entity_id), ("stratum", r.stratum), ("reserve_rank", r.reserve_rank),
                           ("ticket", r.ticket)):
            _expect(c.get(name) == mine,
                    f"分层 {r.stratum} 备选第 {r.reserve_rank} 位的 {name}：证书为 {_short(c.get(name))}，重算为 {_short(mine)}")
    checks.append(f"备选名单（{len(res.reserves)} 个，按各层抽签号顺序）一致")


def _verify_public(d: Path, cert: dict, checks: list[str]) -> None:
    _common(cert, checks)
    data = _read_bytes(d, cert.get("public_frame_file", PUBLIC_FRAME_FILE))
    digest = hashlib.sha256(data).hexdigest()
    _expect(digest == cert["public_frame_sha256"],
            f"public_frame.csv 的 SHA-256（{_short(digest)}）与证书字段 public_frame_sha256 不一致")
    checks.append("public_frame.csv 的 SHA-256 与证书 public_frame_sha256 一致")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Difference("public_frame.csv 不是 UTF-8 文本") from None
    _expect(text == "" or text.endswith("\n"), "public_frame.csv 必须以换行结尾")
    ids = text[:-1].split("\n") if text else []
    _expect(all(a < b for a, b in zip(ids, ids[1:])), "public_frame.csv 未按对象标识排序或含重复对象")
    _expect(len(ids) == cert["frame_size"], f"证书字段 frame_size 为 {cert['frame_size']}，public_frame.csv 实有 {len(ids)} 个对象")
    checks.append(f"公开名录为规范格式，规模 {len(ids)} 与 frame_size 一致")

    _check_selected_tickets(cert, set(ids), checks)

    strata = cert["strata"]
    total = sum(s["size"] for s in strata)
    _expect(total == cert["frame_size"], f"各分层规模之和 {total} 不等于 frame_size {cert['frame_size']}")
    ksum = sum(s["k"] for s in strata)
    sel = cert["selected"]
    _expect(len(sel) == ksum, f"入选对象数 {len(sel)} 不等于各分层 k 之和 {ksum}")
    _expect(len({s["entity_id"] for s in sel}) == len(sel), "证书 selected 中有重复的对象")
    checks.append(f"各分层规模之和等于名录规模，入选数等于各层 k 之和（{ksum}）")

    order = sorted(sel, key=lambda s: (s["ticket"], s["entity_id"]))
    for i, s in enumerate(order):
        _expect(s["rank"] == i + 1, f"对象 {s['entity_id']} 的 rank：证书为 {s['rank']}，按抽签号排序应为 {i + 1}")
        want = dsr1.batch_of(i, cert["batches"], len(order))
        _expect(s["batch"] == want, f"对象 {s['entity_id']} 的 batch：证书为 {s['batch']}，按顺序应为 {want}")
    checks.append(f"抽取顺序（rank）与批次（batch，共 {cert['batches']} 批）一致")

    sel_tickets = {s["ticket"] for s in sel}
    for s in strata:
        if s["k"] > 0:
            _expect(s["cutoff"] in sel_tickets, f"分层 {s['label']} 的 cutoff {_short(s['cutoff'])} 不是任何入选对象的抽签号")
            n_le = sum(1 for t in sel_tickets if t <= s["cutoff"])
            _expect(n_le >= s["k"], f"分层 {s['label']} 的 k 为 {s['k']}，但抽签号不大于其 cutoff 的入选对象只有 {n_le} 个")
        else:
            _expect(s["cutoff"] is None, f"分层 {s['label']} 的 k 为 0，cutoff 应为空")
    checks.append("每个分层的 cutoff 都是某个入选对象的抽签号，且不大于它的入选对象不少于 k 个")

    cutoffs = [s["cutoff"] for s in strata if s["k"] > 0]
    if cutoffs:
        lo, hi = min(cutoffs), max(cutoffs)
        for s in sel:
            _expect(s["ticket"] <= hi, f"入选对象 {s['entity_id']} 的抽签号高于所有分层的最大 cutoff")
        selected_ids = {s["entity_id"] for s in sel}
        tickets = dsr1.tickets(cert["seed"], cert["plan_code"], cert["period"], ids)
        skipped = [e for e, t in zip(ids, tickets) if t <= lo and e not in selected_ids]
        # Entities of a stratum with k = 0 may legitimately sit below the lowest
        # cutoff; without stratum membership the public can only bound them.
        zero_size = sum(s["size"] for s in strata if s["k"] == 0)
        _expect(len(skipped) <= zero_size,
                f"对象 {skipped[0] if skipped else ''} 的抽签号不大于最小 cutoff，却未入选（共 {len(skipped)} 个此类对象）")
        checks.append(
            "名录中每个抽签号不大于最小 cutoff 的对象均已入选"
            + (f"（k=0 的分层共 {zero_size} 个对象，允许其中的对象未入选）" if zero_size else "")
            + "；无入选对象的抽签号高于最大 cutoff"
        )
        reserves = cert.get("reserves", [])
        if reserves:
            rt = dsr1.tickets(cert["seed"], cert["plan_code"], cert["period"], [r["entity_id"] for r in reserves])
            known = set(ids)
            for r, t in zip(reserves, rt):
                _expect(r["entity_id"] in known, f"备选对象 {r['entity_id']} 不在公开名录中")
                _expect(r["entity_id"] not in selected_ids, f"备选对象 {r['entity_id']} 同时在入选名单中")
                _expect(t == r["ticket"], f"备选对象 {r['entity_id']} 的抽签号与重算值不一致")
            checks.append(f"{len(reserves)} 个备选对象的抽签号可重算，均在名录中且未入选")


def _check_matching(d: Path, cert: dict, checks: list[str]) -> None:
    """The inspector matching, if the certificate has one (scheduler/matching/reference.py)."""
    out = matching.check_package(d, cert)
    if isinstance(out, str):
        raise _Difference(out)
    if out:
        checks.extend(out)


def verify_package(dir: str | Path) -> VerifyReport:
    """Verify an auditor or public package in `dir`; see the module docstring."""
    d = Path(dir)
    checks: list[str] = []
    try:
        raw = _read_bytes(d, CERTIFICATE_FILE)
        try:
            cert = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _Difference(f"certificate.json 无法解析：{exc}") from None
        _expect(isinstance(cert, dict), "certificate.json 应为 JSON 对象")
        kind = cert.get("package_kind")
    except _Difference as exc:
        return VerifyReport(False, "unknown", checks, str(exc))
    report = VerifyReport(False, kind if kind in ("auditor", "public") else "unknown", checks)
    try:
        if kind == "auditor":
            _verify_auditor(d, cert, checks)
        elif kind == "public":
            report.unchecked = list(PUBLIC_UNCHECKED)
            _verify_public(d, cert, checks)
        else:
            raise _Difference(f"证书字段 package_kind 应为 auditor 或 public，实为 {kind!r}")
        _check_matching(d, cert, checks)
    except _Difference as exc:
        report.first_difference = str(exc)
        return report
    except (KeyError, TypeError, ValueError) as exc:
        report.first_difference = f"证书结构错误：{type(exc).__name__} {exc}"
        return report
    report.ok = True
    return report
