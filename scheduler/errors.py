"""The base of every error a user of dsr may be shown: `DsrError`.

A refusal carries two things. `code` is a short, stable ASCII name (`draw.refused`,
`plan.not_found`, `permission.denied`) for programs, logs and tests: it does not
change when the wording does. The message is Chinese, for the people who use the
system; it is the exception's str(), so `st.error(str(e))` and `pytest.raises(...,
match=...)` read it as before.

The command line (scheduler/cli/base.py) and the web app (streamlit_app.py) catch
DsrError in one place each and show the message instead of a traceback: anything
else that escapes is a bug and keeps its traceback.

Each area keeps its own subclasses next to the code that raises them (DrawRefused in
scheduler/draw/service.py, PlanRuleError in scheduler/plans/rules.py ...), each with
its own `code`; some also keep a built-in base (ValueError, RuntimeError, LookupError,
PermissionError) because callers catch those. This module imports nothing of dsr, so
every layer, the pure rules included, can derive from it.
"""

from __future__ import annotations

from typing import ClassVar


class DsrError(Exception):
    """An error whose message is written for a user (Chinese) and whose `code` names it for programs."""

    code: ClassVar[str] = "dsr.error"

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        """The Chinese message shown to users (the same as str(self))."""
        return str(self)


__all__ = ["DsrError"]
