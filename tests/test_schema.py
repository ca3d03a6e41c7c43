"""The migrations create exactly the models' schema, on both back-ends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from db.migrate import current_revision, upgrade
from db.models import alembic_include_object


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_object": alembic_include_object}), SQLModel.metadata
        )
    assert diff == []


def _head(engine) -> str:
    from alembic.script import ScriptDirectory

    from db.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def test_upgrade_is_idempotent(engine):
    upgrade(engine)
    assert current_revision(engine) == _head(engine) == "0009"


def test_upgrade_from_the_released_baseline_keeps_plans(tmp_path):
    """A database created at 0001 with a plan in it upgrades to head; the plan stays and
    becomes mergeable (the new column's server default)."""
    from sqlalchemy import text

    from db.engine import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(eng, "0001")
    with eng.begin() as c:
        c.execute(text("INSERT INTO bureau (id, code, name, level, area_code) VALUES (1, 'B', 'b', 'district', '110117')"))
        c.execute(text("INSERT INTO department (id, bureau_id, code, name) VALUES (1, 1, 'D', 'd')"))
        c.execute(text(
            "INSERT INTO plan (id, bureau_id, code, name, kind, lead_department_id, strata_by, ratios, counts, batches,"
            " reserve_ratio, frame_towns, team_size, matching_policy, workload_cap, expert_cap, frequency, schedule,"
            " require_public_seed, description, created_at, updated_at) VALUES (1, 1, 'P1', '计划', 'random', 1, 'risk',"
            " '{}', '{}', 1, '0.1', '', 2, 'balanced', 20, 20, '{}', '', 0, '', '2026-01-01', '2026-01-01')"))
    upgrade(eng)
    with eng.connect() as c:
        assert c.execute(text("SELECT code, merge_visits FROM plan")).one() == ("P1", 1)
        assert c.execute(text("SELECT count(*) FROM visit")).scalar() == 0
    eng.dispose()


def test_0003_drops_the_task_draw_index_and_downgrades_back(tmp_path):
    """0003 removes ix_task_draw_id (lookups by draw use ix_task_draw_rank's leading column);
    its downgrade restores it."""
    from sqlalchemy import inspect

    from db.engine import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'idx.db'}")
    upgrade(eng, "0002")
    names = lambda: {ix["name"] for ix in inspect(eng).get_indexes("task")}  # noqa: E731
    assert {"ix_task_draw_id", "ix_task_draw_rank"} <= names()
    upgrade(eng)
    assert "ix_task_draw_id" not in names() and "ix_task_draw_rank" in names()
    with eng.connect() as c:
        plan = " ".join(str(r) for r in c.exec_driver_sql("EXPLAIN QUERY PLAN SELECT id FROM task WHERE draw_id = 1"))
    assert "ix_task_draw_rank" in plan
    from alembic import command

    from db.migrate import alembic_config

    command.downgrade(alembic_config(eng), "0002")
    assert "ix_task_draw_id" in names()
    eng.dispose()


def test_0004_drops_drawframe_and_downgrades_back(engine):
    """0004 drops the drawframe table; its downgrade recreates it as 0001 created it (columns,
    primary key, foreign key), on both back-ends."""
    from alembic import command
    from sqlalchemy import inspect

    from db.migrate import alembic_config

    def table() -> dict | None:
        insp = inspect(engine)
        if "drawframe" not in insp.get_table_names():
            return None
        return {"columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns("drawframe")],
                "pk": insp.get_pk_constraint("drawframe")["constrained_columns"],
                "fk": [(f["constrained_columns"], f["referred_table"], f["referred_columns"])
                       for f in insp.get_foreign_keys("drawframe")]}

    assert table() is None
    command.downgrade(alembic_config(engine), "0003")
    assert current_revision(engine) == "0003"
    assert table() == {"columns": [("draw_id", "INTEGER", False), ("entity_id", "VARCHAR(18)", False),
                                   ("stratum", "VARCHAR(64)", False)],
                       "pk": ["draw_id", "entity_id"], "fk": [(["draw_id"], "draw", ["id"])]}
    upgrade(engine)
    assert current_revision(engine) == _head(engine) and table() is None


def test_0004_downgrade_is_0001s_drawframe(tmp_path):
    """The table 0004's downgrade creates is the one 0001 created (same SQLite DDL)."""
    from alembic import command

    from db.engine import make_engine
    from db.migrate import alembic_config

    def ddl(eng) -> str:
        with eng.connect() as c:
            return c.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'drawframe'").scalar_one()

    at_0001 = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(at_0001, "0001")
    downgraded = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    upgrade(downgraded)
    command.downgrade(alembic_config(downgraded), "0003")
    assert ddl(downgraded) == ddl(at_0001)
    at_0001.dispose()
    downgraded.dispose()


def test_sqlite_pragmas(sqlite_engine):
    with sqlite_engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
