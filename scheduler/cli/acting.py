"""`--as USER`: the command line acting as a named account.

Commands that the roles or the two-person rules govern (approving a plan, confirming a
year's holidays ...) take `--as USER`: the command acts as that account, with its role,
bureau and department, and the services check them as they check a logged-in user of the app.
Whoever runs `dsr` on the server has the database; `--as` makes the record say which person
acts, and makes two different accounts necessary where the rules want two people.
"""

from __future__ import annotations

from typing import Optional

import typer

from scheduler.access.context import Actor
from scheduler.errors import DsrError

AS_HELP = "以哪个账号的身份操作（用户名，须为有效账号）"


class UnknownAccount(DsrError, LookupError):
    """`--as` names no active account."""

    code = "account.unknown"


def actor_as(eng, username: Optional[str], *, deprecated: Optional[str] = None, option: str = "--by") -> Actor:  # noqa: ANN001
    """The Actor of the account `username` (or of `deprecated`, the old option's value, also an account)."""
    name = (username or "").strip()
    old = (deprecated or "").strip()
    if old:
        typer.echo(f"提示：{option} 已停用，请改用 --as 账号", err=True)
        if name and name != old:
            raise UnknownAccount(f"--as {name} 与 {option} {old} 不是同一账号，请只用 --as")
        name = name or old
    if not name:
        raise UnknownAccount("请用 --as 指明操作的账号（用户名）")
    return account_actor(eng, name)


def account_actor(eng, name: str) -> Actor:  # noqa: ANN001
    """The Actor of the active account `name`, or of the inspector account linked to roster id `name`."""
    from sqlalchemy import select
    from sqlmodel import Session

    from db.models import Inspector, User
    from scheduler.accounts.service import actor_of

    name = (name or "").strip()
    actor = actor_of(eng, name) if name else None
    if actor is None and name:
        with Session(eng) as s:
            linked = s.execute(select(User.username).join(Inspector, Inspector.id == User.inspector_pk)
                               .where(Inspector.inspector_id == name, User.active.is_(True))).scalars().first()
        actor = actor_of(eng, linked) if linked else None
    if actor is None:
        raise UnknownAccount(f"账号“{name}”不存在或已停用：--as 须为有效账号（dsr user list）")
    return actor
