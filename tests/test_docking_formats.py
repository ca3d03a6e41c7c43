"""The exchange's documented formats: docs/schemas/ holds exactly the schemas the code checks with,
each a valid JSON Schema; batch folders round-trip and any changed byte is detected."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.docking import formats as fm
from scheduler.docking.manifest import build_manifest, read_batch, write_batch
from scheduler.docking.schemas import all_schemas, manifest_schema, schema_text

ROOT = Path(__file__).resolve().parents[1]


def test_docs_hold_the_schemas_the_code_uses():
    docs = ROOT / "docs" / "schemas"
    assert sorted(p.name for p in docs.glob("*.json")) == sorted(all_schemas())
    for name, schema in all_schemas().items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert (docs / name).read_text("utf-8") == schema_text(schema), f"docs/schemas/{name} is stale"


def test_the_guide_names_every_field_and_column():
    guide = (ROOT / "docs" / "exchange.md").read_text("utf-8")
    for col in (*fm.CITY_RECORD_FIELDS, *fm.RECEIPT_COLUMNS, *fm.INBOUND_COLUMNS[fm.CITY_REGISTRY],
                *fm.INBOUND_COLUMNS[fm.CITY_RISK], *fm.INBOUND_COLUMNS[fm.CITY_TASKS], *fm.CHECK_TYPES):
        assert f"`{col}`" in guide, col
    for name in all_schemas():
        assert f"schemas/{name}" in guide, name


def test_check_types_are_the_publicity_systems():
    assert fm.check_type_label("case", None, 1) == "个案"
    assert fm.check_type_label("special", None, 1) == fm.check_type_label("random", "special", 2) == "专项检查"
    assert fm.check_type_label("random", "random", 2) == "联合抽查"
    assert fm.check_type_label("random", "random", 1) == "双随机抽查"


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.dictionaries(st.sampled_from(fm.CONTENT_FIELDS), texts), max_size=6),
       flip=st.integers(min_value=0, max_value=10_000))
def test_batch_folders_round_trip_and_any_changed_byte_is_refused(tmp_path_factory, rows, flip):
    out = tmp_path_factory.mktemp("batch")
    data = json.dumps(rows, ensure_ascii=False).encode("utf-8")
    m = build_manifest(fm.GSXT, "110117-GSXT-000009", 9, ("110117", "平谷"), "2026-12-05T08:00:00Z",
                       [("records.json", data, len(rows))])
    assert not list(jsonschema.Draft202012Validator(manifest_schema()).iter_errors(m))
    folder = write_batch(out, m["batch_id"], {"records.json": data}, m)
    b = read_batch(folder / fm.MANIFEST)
    assert b.files == {"records.json": data} and b.manifest == m
    assert write_batch(out, m["batch_id"], {"records.json": data}, m) == folder  # the same batch again: replaced
    assert sorted(p.name for p in out.iterdir()) == [m["batch_id"]]
    raw = bytearray(data)
    i = flip % len(raw)
    raw[i] = (raw[i] + 1) % 256
    (folder / "records.json").write_bytes(bytes(raw))
    with pytest.raises(fm.DockingError, match="SHA-256 与清单不符"):
        read_batch(folder)


def test_a_foreign_folder_is_never_overwritten(tmp_path):
    (tmp_path / "110117-GSXT-000001").mkdir()
    (tmp_path / "110117-GSXT-000001" / "mine.txt").write_text("x")
    m = build_manifest(fm.GSXT, "110117-GSXT-000001", 1, ("110117", "平谷"), "2026-12-05T08:00:00Z",
                       [("records.json", b"[]", 0)])
    with pytest.raises(fm.DockingError, match="不是批次"):
        write_batch(tmp_path, "110117-GSXT-000001", {"records.json": b"[]"}, m)
    assert (tmp_path / "110117-GSXT-000001" / "mine.txt").exists()
