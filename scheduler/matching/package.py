"""The matching part of a verification package (pure): files, certificate section, check.

The auditor package carries the canonical matching inputs beside frame.csv:
roster.csv, experts.csv, conflicts.csv (personal data), loads.csv (prior
loads of the period) and last.csv (who inspected each entity last), and the
certificate's `matching` section lists, per task, the departments and
qualifications its items require and the team that DSR-1 matching chose.
The public package carries only the digests, so it cannot re-run the
matching; `dsr verify` says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from scheduler.matching import fast as m

FILES = {
    "roster": "roster.csv",
    "experts": "experts.csv",
    "conflicts": "conflicts.csv",
    "loads": "loads.csv",
    "last": "last.csv",
}
PUBLIC_UNCHECKED = "检查组匹配（公开包只含执法检查人员名录库、回避关系等的摘要，不含其文件，无法重新匹配）"


def task_spec_json(t: m.TaskSpec) -> dict:
    return {
        "entity_id": t.entity_id,
        "rank": t.rank,
        "departments": list(t.departments),
        "required": {d: sorted(t.required.get(d, frozenset())) for d in t.departments},
        "expert_fields": list(t.expert_fields),
    }


def task_specs_from_certificate(cert: Mapping) -> list[m.TaskSpec]:
    """Rebuild the TaskSpecs from the certificate: tickets from `selected`,
    departments and requirements from `matching.task_specs`."""
    tickets = {s["entity_id"]: s["ticket"] for s in cert["selected"]}
    out = []
    for t in cert["matching"]["task_specs"]:
        out.append(
            m.TaskSpec(
                entity_id=t["entity_id"],
                ticket=tickets[t["entity_id"]],
                rank=int(t["rank"]),
                departments=tuple(t["departments"]),
                required={d: frozenset(v) for d, v in t["required"].items()},
                expert_fields=tuple(t["expert_fields"]),
            )
        )
    return out


def build_files(roster: Sequence[m.InspectorRec], experts: Sequence[m.ExpertRec], conflicts: set[tuple[str, str]],
                prior_loads: Mapping[str, int], last: Mapping[str, set[str]]) -> dict[str, bytes]:
    return {
        FILES["roster"]: m.canonical_roster(roster),
        FILES["experts"]: m.canonical_experts(experts),
        FILES["conflicts"]: m.canonical_conflicts(conflicts),
        FILES["loads"]: m.canonical_loads(prior_loads),
        FILES["last"]: m.canonical_last(last),
    }


def certificate_section(result: m.MatchResult, policy: m.MatchPolicy, tasks: Sequence[m.TaskSpec],
                        files: Mapping[str, bytes]) -> dict:
    digests = m.file_digests(*(files[FILES[k]] for k in ("roster", "experts", "conflicts", "loads", "last")))
    section = m.matching_certificate_section(result, policy, **digests)
    # Tasks with the same departments and requirements (usually the same objects, see
    # services.teams.task_specs) share their JSON parts; the text is the same either way.
    memo: dict[tuple, dict] = {}
    specs = []
    for t in sorted(tasks, key=lambda t: t.rank):
        key = (t.departments, id(t.required), t.expert_fields)
        part = memo.get(key)
        if part is None:
            part = memo[key] = task_spec_json(t)
        specs.append({"entity_id": t.entity_id, "rank": t.rank, "departments": part["departments"],
                      "required": part["required"], "expert_fields": part["expert_fields"]})
    section["task_specs"] = specs
    section["shortfall_report"] = result.report
    return section


def public_section(section: Mapping) -> dict:
    """What the public may see of the matching: digests, policy, figures; no names of conflicts."""
    keep = ("algorithm", "roster_sha256", "experts_sha256", "conflicts_sha256", "loads_sha256", "last_sha256",
            "policy", "team_size", "cap", "expert_cap", "fairness")
    return {k: section[k] for k in keep if k in section}


def write_files(directory: Path, files: Mapping[str, bytes]) -> None:
    for name, data in files.items():
        (directory / name).write_bytes(data)


def pack(files: Mapping[str, bytes]) -> bytes:
    """All matching files as one JSON document (stored gzipped in the draw archive)."""
    return json.dumps({k: v.decode("utf-8") for k, v in files.items()}, ensure_ascii=False, sort_keys=True).encode("utf-8")


def unpack(data: bytes) -> dict[str, bytes]:
    return {k: v.encode("utf-8") for k, v in json.loads(data.decode("utf-8")).items()}


def check_package(directory: Path, cert: dict) -> list[str] | str | None:
    """Extra check for scheduler.verify: re-run the matching from the package files."""
    section = cert.get("matching")
    if not section:
        return None
    if cert.get("package_kind") == "public":
        return ["证书含检查组匹配的输入摘要与策略（公开包不含名录文件，检查组未重算）"]
    try:
        data = {k: (directory / name).read_bytes() for k, name in FILES.items()}
    except FileNotFoundError as e:
        return f"核验包缺少匹配输入文件：{Path(e.filename).name}"
    try:
        tasks = task_specs_from_certificate(cert)
    except (KeyError, TypeError) as e:
        return f"证书的匹配部分结构错误：{e}"
    diff = m.recompute(section, cert["seed"], cert["plan_code"], cert["period"], tasks,
                       data["roster"], data["experts"], data["conflicts"], data["loads"], data["last"])
    if diff:
        return diff
    n = len(section.get("tasks", []))
    return [f"检查组匹配可由名录库、回避关系、已有工作量与上次检查人员文件重算（{n} 个任务全部一致）"]


def _register() -> None:
    from scheduler.verify import register_check

    register_check(check_package)
