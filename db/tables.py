"""Light table clauses of db/models.py for the read-only listings (`dsr plans --json`, `dsr stats`, …).

Importing db/models.py costs about 0.3 s (SQLModel builds a pydantic model per table), more than a
listing's whole answer should take. These clauses (sqlalchemy `table`/`column`) name only the
columns the listings read, with the types that change what a read returns (booleans, dates, aware
UTC times); tests/test_listing.py keeps them equal to the models' columns.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, Integer, String, Text, column, table
from sqlalchemy.types import TypeDecorator


class UTCTime(TypeDecorator):
    """Read side of SQLModel's UTCDateTime: aware UTC (SQLite keeps UTC without an offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


bureau = table("bureau", column("id", Integer), column("code", String), column("level", String),
               column("parent_id", Integer))
town = table("town", column("code", String), column("bureau_id", Integer))
department = table("department", column("id", Integer), column("bureau_id", Integer), column("code", String),
                   column("name", String), column("legal_name", String))
checkitem = table("checkitem", column("id", Integer), column("bureau_id", Integer), column("code", String),
                  column("name", String), column("kind", String), column("department_id", Integer),
                  column("ratio_cap", String), column("ratio_floor", String))
plan = table(
    "plan",
    column("id", Integer), column("bureau_id", Integer), column("code", String), column("name", String),
    column("year", Integer), column("kind", String), column("lead_department_id", Integer),
    column("strata_by", String), column("ratios", Text), column("counts", Text), column("batches", Integer),
    column("reserve_ratio", String), column("team_size", Integer), column("matching_policy", String),
    column("workload_cap", Integer), column("frequency", Text), column("schedule", String),
    column("require_public_seed", Boolean), column("merge_visits", Boolean), column("version", Integer),
    column("status", String), column("task_days", Integer),
)
planitem = table("planitem", column("plan_id", Integer), column("item_id", Integer))
planversion = table(
    "planversion",
    column("plan_id", Integer), column("version", Integer), column("document", Text), column("reason", Text),
    column("changed_by", String), column("approved_by", String), column("approved_at", UTCTime),
    column("published_by", String), column("published_at", UTCTime),
)
draw = table("draw", column("id", Integer), column("plan_id", Integer), column("period", String),
             column("status", String), column("frame_sha256", String), column("plan_version", Integer),
             column("drawn_at", UTCTime), column("annual", Text), column("certificate", Text))
task = table("task", column("id", Integer), column("draw_id", Integer), column("bureau_id", Integer),
             column("kind", String), column("uscc", String), column("stratum", String), column("rank", Integer),
             column("reserve_rank", Integer), column("note", Text), column("completed_on", Date),
             column("deadline", Date))
taskitem = table("taskitem", column("task_id", Integer), column("item_id", Integer))
itemresult = table(
    "itemresult",
    column("id", Integer), column("task_id", Integer), column("item_id", Integer), column("department_id", Integer),
    column("categories", String), column("note", Text), column("status", String), column("inspected_on", Date),
    column("entered_by", String), column("entered_at", UTCTime), column("published_at", UTCTime),
    column("version", Integer),
)
resultcategory = table("resultcategory", column("code", String), column("name", String), column("problem", Boolean),
                       column("no_problem", Boolean), column("opens_follow_up", Boolean),
                       column("follow_up_action", String), column("sort_order", Integer), column("active", Boolean))
followup = table("followup", column("id", Integer), column("result_id", Integer), column("action", String),
                 column("status", String), column("outcome", Text))
calendaryear = table("calendaryear", column("year", Integer), column("status", String), column("notice", String),
                     column("entered_by", String), column("entered_at", UTCTime), column("confirmed_by", String),
                     column("confirmed_at", UTCTime), column("revision", Integer), column("updated_at", UTCTime))
calendarday = table("calendarday", column("day", Date), column("year", Integer), column("kind", String),
                    column("name", String), column("notice", String))

enterprise = table("enterprise", column("id", Integer), column("uscc", String), column("name", String),
                   column("town_code", String))
inspector = table("inspector", column("id", Integer), column("bureau_id", Integer), column("inspector_id", String))
useraccount = table(
    "useraccount",
    column("id", Integer), column("username", String), column("display_name", String), column("role", String),
    column("bureau_id", Integer), column("department_id", Integer), column("inspector_pk", Integer),
    column("active", Boolean), column("locked_until", UTCTime), column("last_login_at", UTCTime),
)
expert = table("expert", column("id", Integer), column("bureau_id", Integer))
conflict = table("conflict", column("id", Integer), column("bureau_id", Integer))
exchangebatch = table(
    "exchangebatch",
    column("id", Integer), column("bureau_id", Integer), column("direction", String), column("kind", String),
    column("batch_no", String), column("sequence", Integer), column("status", String), column("record_count", Integer),
    column("accepted", Integer), column("rejected", Integer), column("manifest_sha256", String), column("summary", Text),
    column("created_at", UTCTime), column("written_at", UTCTime), column("sent_at", UTCTime),
    column("receipt_at", UTCTime),
)
