"""Who belongs in a plan's frame (pure): item scopes (检查对象) and stratum labels.

An entity qualifies for an item when it is 存续 and matches every part of the
item's scope that is set: entity type, industry (GB/T 4754 code prefixes),
required licence tags (all of them), towns. It belongs to a plan's frame when
it qualifies for at least one of the plan's items; its task then carries
every plan item it qualifies for (进一次门、查多项事).

The database services translate the same scope into SQL for large frames;
tests check both give the same frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

ACTIVE_STATUS = "存续"


def _split(v: str | None) -> tuple[str, ...]:
    return tuple(sorted({x.strip() for x in (v or "").replace("；", ";").split(";") if x.strip()}))


@dataclass(frozen=True)
class Scope:
    entity_types: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()  # prefixes: "F52" matches F5211
    tags: tuple[str, ...] = ()  # all required
    towns: tuple[str, ...] = ()

    @classmethod
    def from_fields(cls, entity_types: str = "", industries: str = "", tags: str = "", towns: str = "") -> "Scope":
        return cls(_split(entity_types), _split(industries), _split(tags), _split(towns))

    @classmethod
    def of(cls, item) -> "Scope":
        """The scope of a check item (any object with the scope_* fields of CheckItem)."""
        return cls.from_fields(item.scope_entity_types, item.scope_industries, item.scope_tags, item.scope_towns)

    def applies(self, entity_type: str, industry_code: str, tags: Iterable[str], town_code: str) -> bool:
        if self.entity_types and entity_type not in self.entity_types:
            return False
        if self.industries and not any(industry_code.startswith(p) for p in self.industries):
            return False
        if self.towns and town_code not in self.towns:
            return False
        if self.tags:
            have = set(tags)
            if not all(t in have for t in self.tags):
                return False
        return True


def stratum_label(strata_by: str, risk_class: str, town_code: str = "", industry_code: str = "") -> str:
    """`B`, `B/110117001` (by town) or `B/F` (by industry section, GB/T 4754 门类)."""
    if strata_by == "risk+town":
        return f"{risk_class}/{town_code}"
    if strata_by == "risk+industry":
        return f"{risk_class}/{industry_code[:1]}"
    return risk_class
