"""The error family (scheduler/errors.py): every refusal a user may see is a DsrError with a stable
code and its Chinese message as str(); the built-in bases callers catch are kept."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import scheduler
from scheduler.errors import DsrError

# The codes are a contract for programs (logs, scripts, tests): renaming one is a breaking change.
CODES = {
    "scheduler.access.permissions.PermissionDenied": "permission.denied",
    "scheduler.accounts.service.LoginFailed": "account.login_failed",
    "scheduler.accounts.service.UserError": "account.refused",
    "scheduler.audit.backup.BackupError": "backup.refused",
    "scheduler.calendar.service.CalendarError": "calendar.refused",
    "scheduler.calendar.workdays.MissingYear": "calendar.missing_year",
    "scheduler.demo.history.HistoryRefused": "demo.history_refused",
    "scheduler.demo.service.DemoRefused": "demo.refused",
    "scheduler.docking.formats.DockingError": "docking.refused",
    "scheduler.draw.fast.DrawError": "draw.input_invalid",
    "scheduler.draw.service.DrawRefused": "draw.refused",
    "scheduler.exchange.tables.ExportRefused": "export.refused",
    "scheduler.library.bureaus.SettingsRefused": "settings.refused",
    "scheduler.library.import_service.ImportSetupError": "import.setup_refused",
    "scheduler.library.importing.FileError": "import.file_unreadable",
    "scheduler.library.records.RecordError": "record.invalid",
    "scheduler.library.uscc.USCCError": "uscc.invalid",
    "scheduler.matching.fast.MatchingError": "matching.input_invalid",
    "scheduler.matching.service.ReplaceRefused": "team.replace_refused",
    "scheduler.matching.vertical.VerticalRefused": "roster.vertical_refused",
    "scheduler.plans.rules.PlanRuleError": "plan.rule_violated",
    "scheduler.plans.schedules.ScheduleError": "plan.schedule_invalid",
    "scheduler.plans.listing.PlanNotFound": "plan.not_found",
    "scheduler.results.announcement.AnnouncementRefused": "announcement.refused",
    "scheduler.plans.lifecycle.PlanStateError": "plan.lifecycle",
    "scheduler.plans.lifecycle.PlanNotApproved": "plan.not_approved",
    "scheduler.plans.quota.PeriodOutsidePlan": "draw.period_outside_plan",
    "scheduler.plans.quota.AnnualCapExceeded": "draw.annual_cap_exceeded",
    "scheduler.plans.quota.FrameOutdated": "draw.frame_outdated",
    "scheduler.cli.acting.UnknownAccount": "account.unknown",
    "scheduler.results.lifecycle.Refused": "result.refused",
    "scheduler.results.selfcheck.SelfCheckRefused": "selfcheck.refused",
    "scheduler.results.attachment_rules.AttachmentRefused": "attachment.refused",
    "scheduler.results.followup_rules.FollowUpRefused": "followup.refused",
    "scheduler.results.task_documents.DocumentRefused": "document.refused",
    "scheduler.visits.rules.WindowError": "visits.window_invalid",
    "scheduler.visits.service.VisitsRefused": "visits.refused",
}


def _all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _all_subclasses(sub)
    return out


@pytest.fixture(scope="module")
def family() -> dict[str, type]:
    """Every DsrError subclass dsr defines: all of its modules imported (not __main__, which runs the CLI)."""
    for m in pkgutil.walk_packages(scheduler.__path__, "scheduler."):
        if not m.name.endswith("__main__"):
            importlib.import_module(m.name)
    return {f"{c.__module__}.{c.__qualname__}": c for c in _all_subclasses(DsrError) if c.__module__.startswith("scheduler.")}


def test_every_class_has_its_own_stable_code(family):
    assert {name: cls.code for name, cls in family.items()} == CODES
    assert len(set(CODES.values())) == len(CODES)
    assert all(re.fullmatch(r"[a-z]+\.[a-z_]+", code) for code in CODES.values())


def test_the_message_is_the_str_and_the_code_travels_with_the_instance():
    from scheduler.plans.rules import PlanRuleError
    from scheduler.plans.service import PlanNotFound

    e = PlanNotFound("PG-X")
    assert (e.code, e.message, str(e)) == ("plan.not_found", "抽查计划“PG-X”不存在", "抽查计划“PG-X”不存在")
    e = PlanRuleError(["事项不能为空", "比例无效"])
    assert e.message == "事项不能为空；比例无效" and e.messages == ["事项不能为空", "比例无效"]
    with pytest.raises(DsrError, match="比例无效") as info:
        raise e
    assert info.value.code == "plan.rule_violated"


def test_built_in_bases_that_callers_catch_are_kept():
    from scheduler.access.permissions import PermissionDenied
    from scheduler.calendar.workdays import MissingYear
    from scheduler.draw.fast import DrawError
    from scheduler.draw.service import DrawRefused
    from scheduler.library.import_service import ImportSetupError
    from scheduler.plans.service import PlanNotFound

    denied = PermissionDenied("无权操作", action="plan.edit", role="inspector")
    assert isinstance(denied, PermissionError) and str(denied) == "无权操作" and denied.action == "plan.edit"
    assert issubclass(DrawError, ValueError) and issubclass(ImportSetupError, ValueError)
    assert issubclass(DrawRefused, RuntimeError) and issubclass(PlanNotFound, LookupError)
    missing = MissingYear(2099)
    assert isinstance(missing, ValueError) and missing.year == 2099 and missing.code == "calendar.missing_year"


def test_the_two_exports_refuse_with_one_class():
    from scheduler.exchange.tables import ExportRefused
    from scheduler.library import export_service as lx
    from scheduler.results import export_service as es

    assert lx.ExportRefused is es.ExportRefused is ExportRefused
    with pytest.raises(ExportRefused, match="不支持的导出格式"):
        es.parse_formats("pdf")
