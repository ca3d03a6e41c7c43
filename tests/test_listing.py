"""The listings that answer at once (`dsr stats --json`): plain SELECTs over db/tables.py, no ORM
models imported on the way."""

from __future__ import annotations

from sqlmodel import SQLModel

import db.models  # noqa: F401 — SQLModel.metadata
from db import tables


def test_light_tables_name_columns_of_the_models_with_their_types():
    light = [v for v in vars(tables).values() if hasattr(v, "c") and hasattr(v, "name") and not isinstance(v, type)]
    assert {t.name for t in light} >= {"plan", "draw", "task", "planitem", "checkitem", "department", "calendaryear"}
    for t in light:
        model = SQLModel.metadata.tables[t.name]
        for c in t.c:
            assert c.name in model.c, f"{t.name}.{c.name}"
            assert c.type._type_affinity is model.c[c.name].type._type_affinity, f"{t.name}.{c.name}"
