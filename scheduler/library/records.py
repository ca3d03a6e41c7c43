"""Editing one record of the two rosters and one list (两库一单) by hand.

An edit follows exactly the importer's rules: the record's stored values, with
the edited fields put in, become one import row, and
`scheduler.library.importing.validate_rows` converts and checks it (USCC check
character, status values, the configured risk-class scheme, industry codes,
towns by name or code, dates, lengths, the item list's ratio rules). A bad
value raises `RecordError`, whose Chinese message names the field.

A save is one transaction: the row, an `ImportRun` marked as a hand edit
(`file_name` = SOURCE, one row) with one `ChangeRecord` (field: [old, new], the
same trail a re-import leaves), and one audit event. Nothing is half-written: a
refusal or an error leaves the database as it was. An edit that changes
nothing writes nothing.

Keys do not change: a wrong USCC or roster id is fixed by adding the right
record and retiring the wrong one (status 注销 / 停用), so the trail of both stays.

Permission: `library.edit` (administrators and planners), within the actor's
bureau; an enterprise belongs to the bureau whose area holds its town.

Bureau scope (scheduler/access/scope.py): `bureau_id` names the bureau whose
record is read or edited (the page's bureau, ui/state.py). It must be in the
actor's scope (`require_bureau`: a city-level account may edit its districts'
records, a district account only its own); an enterprise must belong to it.
Without `bureau_id` the record is the actor's own bureau's, as before (an account
without a bureau: the only bureau).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from db.models import (
    Bureau,
    ChangeRecord,
    CheckItem,
    Conflict,
    Enterprise,
    Expert,
    ImportRun,
    Inspector,
    Town,
    utcnow,
)
from scheduler.library import importing
from scheduler.library.importing import COLUMNS, FIELDS, HEADER_OF, KEYS, Lookups, Table, nfkc
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.access.context import CLI, Actor
from scheduler.library.import_service import load_lookups, resolve_bureau
from scheduler.access.scope import in_scope, require_bureau, visible_bureaus
from scheduler.errors import DsrError

ACTION = "library.edit"
SOURCE = "（页面编辑）"  # ImportRun.file_name of a hand edit: no file was imported

MODELS = {
    "enterprises": Enterprise,
    "inspectors": Inspector,
    "experts": Expert,
    "items": CheckItem,
    "conflicts": Conflict,
}
OBJECT = {"enterprises": "enterprise", "inspectors": "inspector", "experts": "expert", "items": "item",
          "conflicts": "conflict"}
RECORD_NAMES = {"enterprises": "检查对象", "inspectors": "执法检查人员", "experts": "专家", "items": "抽查事项",
                "conflicts": "回避申报"}

# A conflict is keyed by (人员编号, 统一社会信用代码); every other kind by one text.
Key = Union[str, tuple[str, str]]


class RecordError(DsrError, ValueError):
    """A refused edit; the message (Chinese) names the field. `field` is its Chinese header."""

    code = "record.invalid"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class SaveResult:
    kind: str
    key: str  # as in ChangeRecord.key (a conflict: "人员编号/USCC")
    created: bool
    changes: dict[str, list] = field(default_factory=dict)  # field -> [old, new], storage values (dates as text)
    import_run_id: Optional[int] = None

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)

    def summary(self) -> str:
        """One Chinese line for the UI and the CLI."""
        name = RECORD_NAMES[self.kind]
        if self.created:
            return f"已新增{name} {self.key}"
        if not self.changes:
            return f"{name} {self.key} 没有修改任何内容，未保存"
        parts = [f"{HEADER_OF[self.kind].get(f, f)}：“{_shown(o)}”→“{_shown(n)}”" for f, (o, n) in self.changes.items()]
        return f"已保存{name} {self.key}：" + "；".join(parts)


def _shown(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)


# --- values as text (the importer's input) ---------------------------------------------


def import_text(kind: str, f: str, v: Any, lk: Lookups) -> str:
    """A stored or given value as the text a planner would type into an import file."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if f == "department_id" and isinstance(v, int):
        return lk.department_names.get(v, str(v))
    if f == "inspector_pk" and isinstance(v, int):
        return next((iid for iid, pk in lk.inspectors.items() if pk == v), str(v))
    if isinstance(v, (list, tuple, set, frozenset)):
        return ";".join(str(x) for x in v)
    return str(v)


def _json_value(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def _storage(f: str, v: Any) -> Any:
    """A validated value (import record) as the model attribute."""
    if f in importing.DATE_FIELDS and isinstance(v, str):
        return dt.date.fromisoformat(v)
    return v


def _key_parts(kind: str, key: Key) -> tuple[str, ...]:
    if kind == "conflicts":
        if isinstance(key, str):
            iid, _, code = key.partition("/")
        else:
            iid, code = key
        return nfkc(iid), nfkc(code).upper()
    if not isinstance(key, str):
        raise RecordError(f"{RECORD_NAMES[kind]}的编号应为文本")
    k = nfkc(key)
    return (k.upper(),) if kind == "enterprises" else (k,)


def _key_text(kind: str, parts: tuple[str, ...]) -> str:
    return "/".join(parts)[:64]


# --- reading -----------------------------------------------------------------------------


def _bureau(s: Session, actor: Actor, bureau_id: Optional[int] = None) -> Bureau:
    """The bureau whose record is edited: `bureau_id` (in the actor's scope), else the actor's own."""
    if bureau_id is not None:
        require_bureau(s, actor, bureau_id)
        b = s.get(Bureau, bureau_id)
        if b is None:
            raise RecordError("指定的市场监管局不存在")
        return b
    if actor.bureau_id is not None:
        b = s.get(Bureau, actor.bureau_id)
        if b is None:
            raise RecordError("账号所属的市场监管局不存在")
        return b
    try:
        return resolve_bureau(s, None)
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def _find(s: Session, kind: str, bureau_id: int, parts: tuple[str, ...], lk: Lookups, lock: bool = False):
    m = MODELS[kind]
    if kind == "enterprises":
        stmt = select(Enterprise).where(Enterprise.uscc == parts[0])
    elif kind == "conflicts":
        pk = lk.inspectors.get(parts[0])
        if pk is None:
            return None
        stmt = select(Conflict).where(Conflict.inspector_pk == pk, Conflict.uscc == parts[1])
    else:
        key_col = getattr(m, KEYS[kind][0])
        stmt = select(m).where(m.bureau_id == bureau_id, key_col == parts[0])
    if lock and s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return s.execute(stmt).scalar_one_or_none()


def get_record(engine: Engine, kind: str, key: Key, actor: Actor = CLI,
               bureau_id: Optional[int] = None) -> Optional[dict[str, Any]]:
    """The stored record as {field: value} (storage values), or None; of bureau `bureau_id`
    (in the actor's scope) if given, else of the actor's bureau.

    Also `_text`: {field: the text the edit form starts from} (departments by name,
    inspectors by roster id, dates as YYYY-MM-DD, yes/no as 是/否).
    """
    _check_kind(kind)
    with Session(engine) as s:
        b = _bureau(s, actor, bureau_id)
        lk = load_lookups(s, b, kind)
        row = _find(s, kind, b.id, _key_parts(kind, key), lk)
        if row is None:
            return None
        out = {f: getattr(row, f) for f in FIELDS[kind]}
        out["_text"] = {f: import_text(kind, f, out[f], lk) for f in FIELDS[kind]}
        return out


def history(engine: Engine, kind: str, key: Key, limit: int = 50, actor: Optional[Actor] = None,
            bureau_id: Optional[int] = None) -> list[dict[str, Any]]:
    """Every recorded change of one record, newest first: hand edits and re-imports alike.

    Row: at, actor, source (the import file's name, or SOURCE for a hand edit), changes {field: [old, new]}.
    Scope: with `bureau_id` (in the actor's scope) the changes made in that bureau — roster ids
    and item codes repeat across bureaus, so this is that bureau's record; otherwise with an
    `actor` the changes made in the bureaus of its scope; neither: every change.
    """
    _check_kind(kind)
    key_text = _key_text(kind, _key_parts(kind, key))
    stmt = (
        select(ImportRun.at, ImportRun.actor, ImportRun.file_name, ChangeRecord.changes)
        .join(ImportRun, ImportRun.id == ChangeRecord.import_run_id)
        .where(ChangeRecord.kind == kind, ChangeRecord.key == key_text)
        .order_by(ChangeRecord.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        if bureau_id is not None:
            require_bureau(conn, actor, bureau_id)
            stmt = stmt.where(ImportRun.bureau_id == bureau_id)
        elif (cond := in_scope(ImportRun.bureau_id, visible_bureaus(conn, actor))) is not None:
            stmt = stmt.where(cond)
        return [{"at": r.at, "actor": r.actor, "source": r.file_name, "changes": json.loads(r.changes)}
                for r in conn.execute(stmt)]


def _check_kind(kind: str) -> None:
    if kind not in MODELS:
        raise RecordError(f"未知的名录类型：{kind}（可选：{'、'.join(MODELS)}）")


# --- writing -----------------------------------------------------------------------------


def _errors_message(errors) -> str:
    parts = []
    for e in errors:
        value = f"（填写的值：“{e.value}”）" if e.value else ""
        parts.append(f"{e.column}：{e.reason}{value}" if e.column else e.reason)
    return "；".join(parts)


def save(engine: Engine, kind: str, key: Key, changes: Mapping[str, Any], actor: Actor = CLI,
         create: bool = False, bureau_id: Optional[int] = None) -> SaveResult:
    """Edit (or, with `create`, add) one record; see the module's docstring.

    `changes`: {model field: value}; a value may be the text a planner types
    (e.g. a town's name, "5%", "2019-03-05", "是") or a stored value.
    `bureau_id`: the bureau whose record it is (PermissionDenied outside the actor's scope);
    None: the actor's own bureau.
    """
    _check_kind(kind)
    require(actor, ACTION)  # the role first: a refused role reads nothing
    fields = FIELDS[kind]
    unknown = [f for f in changes if f not in fields]
    if unknown:
        raise RecordError(f"未知的字段：{'、'.join(unknown)}")
    parts = _key_parts(kind, key)
    key_text = _key_text(kind, parts)
    try:
        with Session(engine) as s:
            b, lk, row = _locate(s, actor, kind, parts, key_text, create, bureau_id)
            new = _validated(kind, parts, row, changes, lk, create)
            _db_checks(s, kind, b.id, new, row)
            old = {f: (getattr(row, f) if row is not None else None) for f in fields}
            diff = {f: [_json_value(old[f]), _json_value(new[f])] for f in fields
                    if row is None or _json_value(old[f]) != _json_value(new[f])}
            result = SaveResult(kind, key_text, create)
            if not diff:
                return result
            result.import_run_id = _store(s, actor, kind, b.id, row, new, diff, key_text, create)
            result.changes = diff
            return result
    except (IntegrityError, DBAPIError) as exc:
        msg = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise RecordError(f"保存失败，已全部撤销：{msg}") from exc


def _locate(s: Session, actor: Actor, kind: str, parts: tuple[str, ...], key_text: str, create: bool,
            bureau_id: Optional[int]) -> tuple[Bureau, Lookups, Any]:
    """The bureau, its lookups and the stored row (None when new), once the actor may
    edit that bureau's record and the row exists (edit) or does not (create)."""
    b = _bureau(s, actor, bureau_id)
    if bureau_id is None:
        require(actor, ACTION, bureau_id=b.id)
    # else: require_bureau (in _bureau) has checked the scope; require's own bureau check
    # is strict equality and would refuse a city-level account on a district's record.
    lk = load_lookups(s, b, kind)
    row = _find(s, kind, b.id, parts, lk, lock=True)
    if kind == "enterprises" and row is not None:
        owner = s.execute(select(Town.bureau_id).where(Town.code == row.town_code)).scalar_one_or_none()
        if bureau_id is None:
            require(actor, ACTION, bureau_id=owner)
        else:
            require_bureau(s, actor, owner)
        if owner != b.id:
            raise RecordError(f"检查对象 {key_text} 不在本局辖区内，不能编辑")
    name = RECORD_NAMES[kind]
    if create and row is not None:
        raise RecordError(f"{name} {key_text} 已存在，请选择该记录进行编辑", HEADER_OF[kind][KEYS[kind][0]])
    if not create and row is None:
        raise RecordError(f"没有找到{name} {key_text}")
    return b, lk, row


def _validated(kind: str, parts: tuple[str, ...], row, changes: Mapping[str, Any], lk: Lookups,
               create: bool) -> dict[str, Any]:
    """The record's new storage values: its text row (stored values or empty, the key,
    then the edited fields) put through the importer's validation."""
    fields = FIELDS[kind]
    key_fields = KEYS[kind]
    if row is not None:
        texts = {f: import_text(kind, f, getattr(row, f), lk) for f in fields}
    else:
        texts = {f: "" for f in fields}
        key_texts = (parts[0],) if kind != "conflicts" else parts
        texts.update(dict(zip(key_fields, key_texts)))
    for f, v in changes.items():
        t = import_text(kind, f, v, lk)
        if f in key_fields and row is not None and nfkc(t) != texts[f]:
            raise RecordError(f"{HEADER_OF[kind][f]}不可修改：如有误，请新增正确的记录，并将原记录注销或停用",
                              HEADER_OF[kind][f])
        texts[f] = t
    if create and kind != "conflicts":
        given = nfkc(texts[key_fields[0]])
        if (given.upper() if kind == "enterprises" else given) != parts[0]:
            raise RecordError(f"{HEADER_OF[kind][key_fields[0]]}与要新增的记录不一致")
    table = Table("", list(COLUMNS[kind]), [[texts[f] for f in fields]], [2])
    v = importing.validate_rows(kind, SOURCE, table, lk)
    if v.errors:
        raise RecordError(_errors_message(v.errors), v.errors[0].column)
    return {f: _storage(f, x) for f, x in zip(v.fields, v.records[0])}


def _store(s: Session, actor: Actor, kind: str, bureau_id: int, row, new: dict[str, Any], diff: dict[str, list],
           key_text: str, create: bool) -> int:
    """Write the row with its hand-edit ImportRun, ChangeRecord and audit event, and commit; the run's id."""
    if row is None:
        row = MODELS[kind](**new, **({} if kind == "enterprises" else {"bureau_id": bureau_id}))
    else:
        for f in FIELDS[kind]:
            setattr(row, f, new[f])
    if kind != "conflicts":
        row.updated_at = utcnow()
    s.add(row)
    payload = json.dumps(diff, ensure_ascii=False, sort_keys=True)
    run = ImportRun(bureau_id=bureau_id, kind=kind, file_name=SOURCE,
                    file_sha256=hashlib.sha256(payload.encode()).hexdigest(), rows=1,
                    inserted=int(create), updated=int(not create), actor=actor.name[:64])
    s.add(run)
    s.flush()
    s.add(ChangeRecord(import_run_id=run.id, kind=kind, key=key_text, changes=payload))
    auditlog.record(s, actor, f"library.{'add' if create else 'edit'}", f"{OBJECT[kind]}:{key_text}",
                    {"kind": kind, "key": key_text, "changes": diff, "import_run": run.id}, bureau_id=bureau_id)
    s.commit()
    return run.id


def _db_checks(s: Session, kind: str, bureau_id: int, new: dict[str, Any], row) -> None:
    """Rules that need other stored rows (as the importer's): an 执法证号 belongs to one inspector."""
    if kind == "inspectors":
        other = s.execute(
            select(Inspector.inspector_id).where(Inspector.cert_no == new["cert_no"],
                                                 Inspector.id != (row.id if row is not None else -1))
        ).scalar_one_or_none()
        if other is not None:
            raise RecordError(f"执法证号：已属于人员编号 {other} 的执法检查人员（填写的值：“{new['cert_no']}”）",
                              HEADER_OF[kind]["cert_no"])


# --- one function per kind (what the pages and the CLI call) ------------------------------------


def update_enterprise(engine: Engine, uscc: str, changes: Mapping[str, Any], actor: Actor = CLI) -> SaveResult:
    return save(engine, "enterprises", uscc, changes, actor)


def add_enterprise(engine: Engine, values: Mapping[str, Any], actor: Actor = CLI) -> SaveResult:
    return save(engine, "enterprises", str(values.get("uscc", "")), values, actor, create=True)


def update_inspector(engine: Engine, inspector_id: str, changes: Mapping[str, Any], actor: Actor = CLI) -> SaveResult:
    return save(engine, "inspectors", inspector_id, changes, actor)


def add_inspector(engine: Engine, values: Mapping[str, Any], actor: Actor = CLI) -> SaveResult:
    return save(engine, "inspectors", str(values.get("inspector_id", "")), values, actor, create=True)


def update_expert(engine: Engine, expert_id: str, changes: Mapping[str, Any], actor: Actor = CLI) -> SaveResult:
    return save(engine, "experts", expert_id, changes, actor)


def add_expert(engine: Engine, values: Mapping[str, Any], actor: Actor = CLI) -> SaveResult:
    return save(engine, "experts", str(values.get("expert_id", "")), values, actor, create=True)


def update_item(engine: Engine, code: str, changes: Mapping[str, Any], actor: Actor = CLI) -> SaveResult:
    return save(engine, "items", code, changes, actor)


def add_item(engine: Engine, values: Mapping[str, Any], actor: Actor = CLI) -> SaveResult:
    return save(engine, "items", str(values.get("code", "")), values, actor, create=True)


def update_conflict(engine: Engine, inspector_id: str, uscc: str, changes: Mapping[str, Any],
                    actor: Actor = CLI) -> SaveResult:
    return save(engine, "conflicts", (inspector_id, uscc), changes, actor)


def add_conflict(engine: Engine, inspector_id: str, uscc: str, values: Mapping[str, Any],
                 actor: Actor = CLI) -> SaveResult:
    """Declare a conflict: `values` has reason, declared_by, note."""
    return save(engine, "conflicts", (inspector_id, uscc), values, actor, create=True)


def set_active(engine: Engine, kind: str, key: str, active: bool, actor: Actor = CLI) -> SaveResult:
    """停用 / 启用 an inspector or an expert (kept on record; never matched while inactive)."""
    if kind not in ("inspectors", "experts"):
        raise RecordError("只有执法检查人员和专家可以停用或启用；检查对象请修改登记状态")
    return save(engine, kind, key, {"active": active}, actor)
