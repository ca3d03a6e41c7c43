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
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scheduler.draw import commitments as hs
from scheduler.draw import reference as dsr1
from scheduler.draw.files import CERTIFICATE_FILE, FRAME_FILE, PUBLIC_FRAME_FILE
from scheduler.draw.reference import ALGORITHM, DrawError
from scheduler.matching import reference as matching
from scheduler.runtime import cores

PUBLIC_UNCHECKED = [
    "各对象所属分层（风险分类不公开：公开包只有加盐承诺值；各对象可凭查询码核对本企业的分层与判定）",
    "每个分层内入选对象恰为该层抽签号最小的 k 个、各层 k 与截止抽签号（分层信息只以承诺值公开，由审计包核验）",
    "备选名单（其分层与顺序会暴露分层边界，只在审计包中）",
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
    for key in ("seed", "plan_code", "period", "frame_size", "batches", "selected", "public_frame_sha256"):
        _expect(key in cert, f"证书缺少字段 {key}")
    try:
        dsr1.validate_seed(cert["seed"])
    except DrawError as exc:
        raise _Difference(f"证书字段 seed 无效：{exc}") from None
    checks.append("算法为 DSR-1，随机种子格式有效（20-64 位半角数字，按文本使用）")


def _check_selected_tickets(cert: dict, known_ids: Collection[str] | None, checks: list[str]) -> None:
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


@contextmanager
def _verify_auditor(d: Path, cert: dict, checks: list[str]) -> Iterator[Callable[[], None]]:
    """The draw's checks of an auditor package, in their order; yields the last of them (the
    commitments, §3.2) to be called once the caller has done its own work: the commitments are
    hashed meanwhile in a forked child when they can be (`_commitments_digest`)."""
    _common(cert, checks)
    for key in ("frame_sha256", "reserve_ratio", "reserves", "strata"):
        _expect(key in cert, f"证书缺少字段 {key}")
    data = _read_bytes(d, cert.get("frame_file", FRAME_FILE))
    digest = hashlib.sha256(data).hexdigest()
    _expect(digest == cert["frame_sha256"],
            f"frame.csv 的 SHA-256（{_short(digest)}）与证书字段 frame_sha256（{_short(cert['frame_sha256'])}）不一致")
    checks.append("frame.csv 的 SHA-256 与证书 frame_sha256 一致")
    try:
        rows = dsr1.parse_frame(data)
        _expect(dsr1.is_canonical(rows), "frame.csv 不是规范格式（须按对象标识字节序排列、无表头、每行“对象标识,分层”）")
    except (DrawError, UnicodeDecodeError) as exc:
        raise _Difference(f"frame.csv 无法解析：{exc}") from None
    checks.append("frame.csv 为规范格式（按对象标识排序、无重复）")
    _expect(len(rows) == cert["frame_size"], f"证书字段 frame_size 为 {cert['frame_size']}，frame.csv 实有 {len(rows)} 个对象")
    checks.append(f"名录规模 frame_size = {len(rows)}")
    with _commitments_digest(cert, rows) as digest:
        _check_draw(cert, rows, data, checks)
        yield lambda: _check_auditor_commitments(cert, digest, checks) if digest is not None else None


def _check_draw(cert: dict, rows: list[tuple[str, str]], data: bytes, checks: list[str]) -> None:
    """DSR-1 recomputed from frame.csv's rows and compared with the certificate, field by field."""
    stratum_of = dict(rows)
    _check_selected_tickets(cert, stratum_of.keys(), checks)

    rules: dict[str, dsr1.Rule] = {}
    for s in cert["strata"]:
        _expect("ratio" in s or "count" in s, f"分层 {s.get('stratum')} 缺少抽查比例或数量")
        rules[s["stratum"]] = dsr1.Rule(ratio=s.get("ratio"), count=s.get("count"))
    for lab in sorted(set(stratum_of.values())):
        _expect(lab in rules, f"分层 {lab} 出现在 frame.csv 中，但证书 strata 中没有它的规则")
    try:
        res = dsr1.draw_canonical(cert["seed"], cert["plan_code"], cert["period"], rows, rules,
                                  cert["batches"], cert["reserve_ratio"], data)
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


@contextmanager
def _commitments_digest(cert: dict, rows: list[tuple[str, str]]) -> Iterator[cores.Forked[str] | None]:
    """The SHA-256 of commitments.csv as recomputed from the key and frame.csv (§3.2), or None
    when the certificate has no commitment key. Forked for a frame of `cores.MIN_SPLIT` entities
    or more, only from a process without other
    threads (the command line): the child hashes with OpenSSL (hashlib), whose locks another
    thread could hold at the fork; in a server it is computed here, when asked for. A bad key
    is reported in its turn, by `_check_auditor_commitments`."""
    if "commitment_key" not in cert:
        yield None
        return
    try:
        kb = hs.check_key(cert["commitment_key"])
    except ValueError:
        kb = None

    def digest(_send: Callable[[object], None]) -> str:
        return hashlib.sha256(hs.commitments_csv(kb, rows)).hexdigest() if kb is not None else ""

    fork = kb is not None and len(rows) >= cores.MIN_SPLIT and cores.alone()
    with cores.Forked(digest, timeout=max(300.0, len(rows) / 10_000), fork=fork) as job:
        yield job


def _check_auditor_commitments(cert: dict, recomputed: cores.Forked[str], checks: list[str]) -> None:
    """§3.2: the commitments the public package publishes, recomputed from the key and frame.csv."""
    for key in ("commitments_sha256", "hidden_strata"):
        _expect(key in cert, f"证书缺少字段 {key}")
    try:
        kb = hs.check_key(cert["commitment_key"])
    except ValueError as exc:
        raise _Difference(str(exc)) from None
    digest = recomputed.result()
    _expect(digest == cert["commitments_sha256"],
            f"由密钥与 frame.csv 重算的分层承诺摘要（{_short(digest)}）与证书字段 commitments_sha256 不一致")
    want = hs.hidden_strata(kb, [(s["stratum"], s["k"], s["cutoff"]) for s in cert["strata"]])
    _expect(cert["hidden_strata"] == want, "证书字段 hidden_strata 与由密钥及各分层 k、cutoff 重算的承诺值不一致")
    checks.append(f"分层承诺（commitments_sha256 与 {len(want)} 个分层的承诺值）可由密钥与 frame.csv 重算")


def _read_public_frame(d: Path, cert: dict, checks: list[str]) -> list[str]:
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
    return ids


def _check_public_commitments(d: Path, cert: dict, ids: list[str], checks: list[str]) -> None:
    """§3.3: one commitment per entity of the frame, in its order; the strata's commitments
    sorted and labelled S1..Sn in that order (an order that tells nothing)."""
    for key in ("commitments_sha256", "hidden_strata"):
        _expect(key in cert, f"证书缺少字段 {key}")
    data = _read_bytes(d, cert.get("commitments_file", hs.COMMITMENTS_FILE))
    digest = hashlib.sha256(data).hexdigest()
    _expect(digest == cert["commitments_sha256"],
            f"commitments.csv 的 SHA-256（{_short(digest)}）与证书字段 commitments_sha256 不一致")
    try:
        rows = hs.parse_commitments(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Difference(f"commitments.csv 无法解析：{exc}") from None
    _expect([e for e, _ in rows] == ids, "commitments.csv 的对象与 public_frame.csv 不一一对应（须同序、每个对象一行）")
    checks.append("commitments.csv 的 SHA-256 与证书一致，名录中每个对象恰有一个分层承诺值")
    hidden = cert["hidden_strata"]
    _expect(isinstance(hidden, list) and hidden, "证书字段 hidden_strata 应为非空列表")
    for i, h in enumerate(hidden, start=1):
        _expect(h.get("label") == f"S{i}", f"hidden_strata 第 {i} 项的标签应为 S{i}，证书为 {h.get('label')!r}（公开标签须按承诺值顺序编号）")
        c = h.get("commitment")
        _expect(isinstance(c, str) and len(c) == 64 and all(x in "0123456789abcdef" for x in c),
                f"分层 S{i} 的承诺值不是 64 位小写十六进制数")
    cs = [h["commitment"] for h in hidden]
    _expect(all(a < b for a, b in zip(cs, cs[1:])), "hidden_strata 未按承诺值字节序排列（公开标签的顺序不得携带信息）")
    checks.append(f"{len(hidden)} 个分层的承诺值按字节序排列，公开标签 S1…S{len(hidden)} 依此顺序编号")


def _verify_public(d: Path, cert: dict, checks: list[str]) -> None:
    _common(cert, checks)
    for key in ("strata", "reserves", "frame_sha256"):
        _expect(key not in cert, f"公开证书不得含字段 {key}（会暴露风险分类的分层边界）")
    ids = _read_public_frame(d, cert, checks)
    _check_public_commitments(d, cert, ids, checks)
    _check_selected_tickets(cert, set(ids), checks)
    sel = cert["selected"]
    _expect(len({s["entity_id"] for s in sel}) == len(sel), "证书 selected 中有重复的对象")
    order = sorted(sel, key=lambda s: (s["ticket"], s["entity_id"]))
    for i, s in enumerate(order):
        _expect(s["rank"] == i + 1, f"对象 {s['entity_id']} 的 rank：证书为 {s['rank']}，按抽签号排序应为 {i + 1}")
        want = dsr1.batch_of(i, cert["batches"], len(order))
        _expect(s["batch"] == want, f"对象 {s['entity_id']} 的 batch：证书为 {s['batch']}，按顺序应为 {want}")
    _expect([s["entity_id"] for s in sel] == [s["entity_id"] for s in order], "证书 selected 未按抽取顺序（rank）排列")
    checks.append(f"抽取顺序（rank）与批次（batch，共 {cert['batches']} 批）一致")


def _verify_city_tickets(cert: dict, checks: list[str]) -> None:
    """A district's matching of handed-down city tasks (scheduler/docking/rematch.py): each task's
    ticket is SHA-256("DSR1-CITY|seed|plan_code|city_task|entity_id"), ranks 1..n in order."""
    seed, plan = str(cert["seed"]), str(cert["plan_code"])
    for n, sel in enumerate(cert["selected"], start=1):
        text = f"DSR1-CITY|{seed}|{plan}|{sel['city_task']}|{sel['entity_id']}"
        want = hashlib.sha256(text.encode("utf-8")).hexdigest()
        _expect(sel["ticket"] == want, f"市级任务 {sel['city_task']} 的抽取号与种子不符（证书 {sel['ticket']}，重算 {want}）")
        _expect(int(sel["rank"]) == n, f"市级任务 {sel['city_task']} 的顺序号应为 {n}")
    checks.append(f"各市抽县查任务的匹配号均由种子重算一致（{len(cert['selected'])} 个任务）")


def _check_matching(d: Path, cert: dict, checks: list[str]) -> None:
    """The inspector matching, if the certificate has one (scheduler/matching/reference.py)."""
    _report_matching(matching.check_package(d, cert), checks)


def _report_matching(out: list[str] | str | None | Exception, checks: list[str]) -> None:
    if isinstance(out, Exception):
        raise out
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
    report = VerifyReport(False, kind if kind in ("auditor", "public", "matching") else "unknown", checks)
    try:
        if kind == "matching":
            _verify_city_tickets(cert, checks)
            _check_matching(d, cert, checks)
        elif kind == "auditor":
            with _verify_auditor(d, cert, checks) as check_commitments:
                # The matching recomputed while the commitments are hashed, its outcome reported after theirs.
                try:
                    outcome: list[str] | str | None | Exception = matching.check_package(d, cert)
                except (KeyError, TypeError, ValueError) as exc:
                    outcome = exc
                check_commitments()
            _report_matching(outcome, checks)
        elif kind == "public":
            report.unchecked = list(PUBLIC_UNCHECKED)
            _verify_public(d, cert, checks)
            _check_matching(d, cert, checks)
        else:
            raise _Difference(f"证书字段 package_kind 应为 auditor、public 或 matching，实为 {kind!r}")
        if "annual" in cert:
            _check_annual_totals(cert)
            checks.append(f"年度分配：{cert['annual']['year']} 年度第 {len(cert['annual']['periods']) - cert['annual']['periods_left'] + 1}"
                          f"/{len(cert['annual']['periods'])} 期，本期入选 {cert['annual']['k']} 户与 annual.k 一致"
                          "（跨期分配与排除须给出本年度全部核验包：dsr verify 目录1 目录2 …）")
    except _Difference as exc:
        report.first_difference = str(exc)
        return report
    except (KeyError, TypeError, ValueError) as exc:
        report.first_difference = f"证书结构错误：{type(exc).__name__} {exc}"
        return report
    report.ok = True
    return report


@dataclass(frozen=True)
class Opening:
    """What an entity is given, for itself only, to check its own case (§3.4): the salt and
    stratum of its commitment, and its stratum's record (salt, k, cutoff)."""

    salt: str
    stratum: str
    stratum_salt: str
    k: int
    cutoff: str | None


@dataclass
class OwnCase:
    ok: bool
    ticket: str | None = None
    selected: bool = False
    rank: int | None = None
    batch: int | None = None
    stratum_label: str | None = None  # the public label (S1..Sn) of its stratum's commitment
    checks: list[str] = field(default_factory=list)
    first_difference: str | None = None


def _own_case(d: Path, cert: dict, entity_id: str, o: Opening, out: OwnCase) -> None:
    ids = set(_read_public_frame(d, cert, []))
    _expect(entity_id in ids, f"对象 {entity_id} 不在本次抽取的名录中")
    data = _read_bytes(d, cert.get("commitments_file", hs.COMMITMENTS_FILE))
    _expect(hashlib.sha256(data).hexdigest() == cert["commitments_sha256"],
            "commitments.csv 的 SHA-256 与证书字段 commitments_sha256 不一致")
    rows = dict(hs.parse_commitments(data))
    mine = hs.entity_commitment(o.salt, o.stratum, entity_id)
    _expect(rows.get(entity_id) == mine, f"按所给盐值与分层重算的承诺值 {_short(mine)} 与公开包中本对象的承诺值不一致")
    out.checks.append("本对象的分层承诺值与公开包一致（盐值与分层打开了承诺）")
    sc = hs.stratum_commitment(o.stratum_salt, o.stratum, o.k, o.cutoff)
    label = next((h["label"] for h in cert["hidden_strata"] if h["commitment"] == sc), None)
    _expect(label is not None, f"所给分层记录（k={o.k}，cutoff={_short(o.cutoff)}）的承诺值不在公开包的 hidden_strata 中")
    out.stratum_label = label
    out.checks.append(f"本分层的记录（k 与截止抽签号）与公开包中分层 {label} 的承诺值一致")
    out.ticket = dsr1.ticket(cert["seed"], cert["plan_code"], cert["period"], entity_id)
    out.checks.append("抽签号由随机种子、计划编号、期间与本对象的信用代码重算")
    sel = {s["entity_id"]: s for s in cert["selected"]}
    should = o.k > 0 and o.cutoff is not None and out.ticket <= o.cutoff
    _expect(should == (entity_id in sel),
            f"本对象抽签号 {_short(out.ticket)}、本分层截止抽签号 {_short(o.cutoff)}：按规则应"
            f"{'入选' if should else '不入选'}，公开证书中{'已' if entity_id in sel else '未'}入选")
    out.checks.append("入选与否符合规则：入选当且仅当抽签号不大于本分层的截止抽签号")
    if o.k > 0:
        tickets = sorted(s["ticket"] for s in cert["selected"])
        _expect(o.cutoff in tickets, "本分层的截止抽签号不是任何入选对象的抽签号")
        n_le = sum(1 for t in tickets if t <= o.cutoff)
        _expect(n_le >= o.k, f"本分层 k 为 {o.k}，但抽签号不大于其截止抽签号的入选对象只有 {n_le} 个")
        out.checks.append("本分层的截止抽签号是某个入选对象的抽签号，且不大于它的入选对象不少于 k 个")
    if entity_id in sel:
        out.selected, out.rank, out.batch = True, sel[entity_id]["rank"], sel[entity_id]["batch"]


def verify_own_case(dir: str | Path, entity_id: str, opening: Opening) -> OwnCase:
    """An entity's own case against a public package: its commitment opens to its stratum, its
    stratum's record is one of the committed ones, and it was selected exactly when its ticket
    is at most its stratum's cutoff (docs/draw-algorithm.md §3.4)."""
    out = OwnCase(False)
    d = Path(dir)
    try:
        cert = json.loads(_read_bytes(d, CERTIFICATE_FILE).decode("utf-8"))
        _expect(cert.get("package_kind") == "public", "须为公开核验包")
        _own_case(d, cert, entity_id, opening, out)
    except _Difference as exc:
        out.first_difference = str(exc)
        return out
    except (KeyError, TypeError, ValueError) as exc:
        out.first_difference = f"核验包结构错误：{type(exc).__name__} {exc}"
        return out
    out.ok = True
    return out


def opening_from_auditor(cert: dict, entity_id: str, stratum: str) -> Opening:
    """The opening of one entity's commitment, from an auditor certificate with its key
    (what the bureau hands to that entity alone, §3.4)."""
    kb = hs.check_key(cert["commitment_key"])
    s = next(x for x in cert["strata"] if x["stratum"] == stratum)
    return Opening(hs.entity_salt(kb, entity_id), stratum, hs.stratum_salt(kb, stratum), s["k"], s["cutoff"])


# ---------------------------------------------------------------- the year (docs/draw-algorithm.md §6)


def _selection_sha256(ids: list[str]) -> str:
    return hashlib.sha256("".join(f"{e}\n" for e in sorted(ids)).encode("utf-8")).hexdigest()


def _period_k(quota: int, drawn_before: int, periods_left: int, available: int) -> int:
    remaining = max(0, quota - drawn_before)
    return min(available, -(-remaining // periods_left))


def _check_annual_totals(cert: dict) -> None:
    """One package's `annual` section against itself: its period, periods left, k and selection."""
    a = cert["annual"]
    label = f"{cert['plan_code']} {cert['period']}"
    _expect(a.get("period") == cert["period"], f"{label}：annual.period 为 {a.get('period')!r}，与证书期间不一致")
    periods = a.get("periods") or []
    _expect(cert["period"] in periods, f"{label}：期间不在 annual.periods（本计划年度的抽查期间）中")
    _expect(all(p.startswith(str(a.get("year"))) for p in periods), f"{label}：annual.periods 含有计划年度 {a.get('year')} 以外的期间")
    left = len(periods) - periods.index(cert["period"])
    _expect(a.get("periods_left") == left, f"{label}：annual.periods_left 为 {a.get('periods_left')}，按期间列表应为 {left}")
    _expect(a.get("k") == len(cert["selected"]), f"{label}：annual.k 为 {a.get('k')}，证书实际入选 {len(cert['selected'])} 户")


def _check_annual_strata(cert: dict, base: dict[str, int] | None, drawn: dict[str, int]) -> dict[str, int]:
    """An auditor package's per-stratum allocation: quota from the base, k by the rule, as drawn.
    `base` None: this is the year's first draw (its own sizes are the base). Returns its k per stratum."""
    a, label = cert["annual"], f"{cert['plan_code']} {cert['period']}"
    sizes = {s["stratum"]: s["size"] for s in cert["strata"]}
    drawn_k = {s["stratum"]: s["k"] for s in cert["strata"]}
    rows = {r["stratum"]: r for r in a["strata"]}
    base = dict(sizes) if base is None else base
    for st in sorted(set(base) | set(sizes)):
        _expect(st in rows, f"{label}：分层 {st} 不在 annual.strata 中")
        r = rows[st]
        b = base.get(st, 0)
        _expect(r["base"] == b, f"{label}：分层 {st} 的年度基数为 {r['base']}，应为本年度首次抽取名录中的 {b}")
        q = dsr1.stratum_k(b, r.get("ratio"), r.get("count"))
        _expect(r["quota"] == q, f"{label}：分层 {st} 的年度抽查数量为 {r['quota']}，按基数 {b} 应为 {q}")
        _expect(r["drawn_before"] == drawn.get(st, 0),
                f"{label}：分层 {st} 的本年度已抽取为 {r['drawn_before']}，按此前各期证书应为 {drawn.get(st, 0)}")
        _expect(r["available"] == sizes.get(st, 0), f"{label}：分层 {st} 的本期名录规模为 {r['available']}，名录中为 {sizes.get(st, 0)}")
        k = _period_k(q, drawn.get(st, 0), a["periods_left"], sizes.get(st, 0))
        _expect(r["k"] == k, f"{label}：分层 {st} 的本期抽取数 k 为 {r['k']}，按年度分配规则应为 {k}")
        _expect(drawn_k.get(st, 0) == k, f"{label}：分层 {st} 证书 strata 的 k 为 {drawn_k.get(st, 0)}，年度分配为 {k}")
    return {st: rows[st]["k"] for st in rows}


def _frame_ids(d: Path, cert: dict) -> set[str]:
    if cert.get("package_kind") == "auditor":
        data = _read_bytes(d, cert.get("frame_file", FRAME_FILE)).decode("utf-8")
        return {line.split(",", 1)[0] for line in data.split("\n") if line}
    data = _read_bytes(d, cert.get("public_frame_file", PUBLIC_FRAME_FILE)).decode("utf-8")
    return {line for line in data.split("\n") if line}


def _check_year_step(d: Path, cert: dict, earlier: list[dict], chosen: set[str]) -> None:
    """One draw of the year against the draws before it: their digests, the total drawn before, and
    that nothing they selected is in its frame."""
    a, label = cert["annual"], f"{cert['plan_code']} {cert['period']}"
    listed = a.get("earlier_draws") or []
    _expect(len(listed) == len(earlier),
            f"{label}：证书列出此前 {len(listed)} 次抽取，所给核验包中此前有 {len(earlier)} 次（须给出本年度全部抽取的核验包）")
    for row, prev in zip(listed, earlier):
        ids = [s["entity_id"] for s in prev["selected"]]
        _expect(row.get("period") == prev["period"], f"{label}：此前抽取的期间为 {row.get('period')}，核验包中为 {prev['period']}")
        _expect(row.get("selection_sha256") == _selection_sha256(ids),
                f"{label}：此前 {prev['period']} 抽取的入选名单摘要与该期核验包不一致")
        _expect(row.get("selected") == len(ids), f"{label}：此前 {prev['period']} 抽取的入选数与该期核验包不一致")
    total = sum(len(p["selected"]) for p in earlier)
    _expect(a.get("drawn_before") == total, f"{label}：annual.drawn_before 为 {a.get('drawn_before')}，此前各期共入选 {total}")
    again = sorted(chosen & _frame_ids(d, cert))
    _expect(not again, f"{label}：本期名录含有本年度此前已被本计划抽中的对象 {again[:3]}（应排除）")


def verify_year(dirs: list[str | Path]) -> VerifyReport:
    """Verify each package of one plan's year, then the allocation and exclusions across them (§6.4)."""
    checks: list[str] = []
    report = VerifyReport(False, "year", checks)
    try:
        loaded = []
        for d in dirs:
            rep = verify_package(d)
            _expect(rep.ok, f"{d}：{rep.first_difference}")
            cert = json.loads(_read_bytes(Path(d), CERTIFICATE_FILE).decode("utf-8"))
            _expect("annual" in cert, f"{d}：证书没有 annual 部分（年度分配），无法跨期核验")
            loaded.append((Path(d), cert))
            checks.append(f"{cert['plan_code']} {cert['period']}：单期核验通过")
        _expect(len(loaded) > 0, "未给出核验包")
        plans = {(c["plan_code"], c["annual"]["year"]) for _, c in loaded}
        _expect(len(plans) == 1, f"核验包须属于同一计划的同一年度，所给为 {sorted(plans)}")
        kinds = {c["package_kind"] for _, c in loaded}
        _expect(len(kinds) == 1, "核验包须同为审计包或同为公开包")
        loaded.sort(key=lambda x: (x[1]["drawn_at"], x[1]["period"]))
        earlier: list[dict] = []
        chosen: set[str] = set()
        base: dict[str, int] | None = None
        drawn: dict[str, int] = {}
        for d, cert in loaded:
            _check_annual_totals(cert)
            _check_year_step(d, cert, earlier, chosen)
            if cert["package_kind"] == "auditor":
                ks = _check_annual_strata(cert, base, drawn)
                base = base if base is not None else {r["stratum"]: r["base"] for r in cert["annual"]["strata"]}
                for st, k in ks.items():
                    drawn[st] = drawn.get(st, 0) + k
            earlier.append(cert)
            chosen |= {s["entity_id"] for s in cert["selected"]}
            checks.append(f"{cert['plan_code']} {cert['period']}：年度分配（此前已抽 {cert['annual']['drawn_before']}，"
                          f"本期 {cert['annual']['k']}）与此前各期一致，名录未含此前入选对象")
    except _Difference as exc:
        report.first_difference = str(exc)
        return report
    except (KeyError, TypeError, ValueError) as exc:
        report.first_difference = f"证书结构错误：{type(exc).__name__} {exc}"
        return report
    report.ok = True
    return report
