"""平台对接 figures shared by the 平台对接 page and 首页: the four states of the published results."""

from __future__ import annotations

from typing import Any, Optional

import streamlit as st

from scheduler.access.context import Actor
from scheduler.access.permissions import can
from scheduler.docking import outbound

LABELS = (("waiting", "待报送"), ("sent", "已报送待回执"), ("accepted", "已接收"), ("rejected", "被拒收待修正"))


def state_counts(engine: Any, actor: Actor, bureau: Optional[dict[str, Any]]) -> Optional[dict[str, int]]:
    """The four metrics of the bureau's published results on the way to the publicity system
    (None, and nothing shown, for a role that may not see the batches)."""
    if bureau is None or not can(actor, "exchange.view"):
        return None
    counts = outbound.counts(engine, actor, bureau["code"])
    for col, (k, label) in zip(st.columns(len(LABELS)), LABELS):
        col.metric(label, f"{counts[k]:,}")
    return counts
