"""The matching part of a verification package (pure): files and certificate section.

The auditor package carries the canonical matching inputs beside frame.csv:
roster.csv, experts.csv, conflicts.csv (personal data), loads.csv (prior
loads of the period) and last.csv (who inspected each entity last), and the
certificate's `matching` section lists, per task, the departments and
qualifications its items require and the team that DSR-1 matching chose.
The public package carries only the digests, so it cannot re-run the
matching; `dsr verify` says so. The check of this part is the reference's
(scheduler/matching/reference.py: check_package), not this engine's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from scheduler.matching import fast as m
from scheduler.matching.reference import FILES

PUBLIC_UNCHECKED = "检查组匹配（公开包只含执法检查人员名录库、回避关系等的摘要，不含其文件，无法重新匹配）"


def task_spec_json(t: m.TaskSpec) -> dict:
    return {
        "entity_id": t.entity_id,
        "rank": t.rank,
        "departments": list(t.departments),
        "required": {d: sorted(t.required.get(d, frozenset())) for d in t.departments},
        "expert_fields": list(t.expert_fields),
    }


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
