"""The dispatcher: method table generated from the model, and the checks every call passes.

Order of checks, as xapi's generated server does them: method known, arity, argument types
(XType.check), session, RBAC, references naming live objects; then the implementation runs in
one store transaction (committed when it returns, discarded when it raises). `Async.X.y`
creates a task, answers its reference at once and runs the call in the background.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterator

from ..api.caller import Caller
from ..api.context import Context, TaskCancelled, TaskHandle
from ..api.host_agent import ROUTES, forwarded
from ..api.registry import IMPLEMENTATIONS, NULLABLE
from ..api.where import records_where
from ..errors import XenAPIError
from ..model.dsl import MessageDef
from ..model.types import NULL_REF, XType
from ..store import DuplicateUuid, NoSuchObject, StoreConflict, StoreError
from ..store.retry import STALE_RETRIES, back_off
from ..store.memory import WOKE_WATCHERS
from . import implicit, rbac

if TYPE_CHECKING:
    from .app import Services

log = logging.getLogger(__name__)

Impl = Callable[..., Awaitable[Any]]

# implicit kinds whose reference arguments may be NULL (a setter clearing a ref field)
_NULL_OK_KINDS = frozenset({"set_field", "add", "remove", "create", "add_to"})
# implicit kinds that only read the store's memory: their generic implementations never wait
_READ_KINDS = frozenset({"get_field", "get_record", "get_all", "get_all_records",
                         "get_by_uuid", "get_by_name_label"})
# implicit kinds that write one object's field: their generic implementations wait only for
# their commit, and on this host's own store (not a pool's: its commits take timeouts) that
# needs no task (server/stepper.py)
_WRITE_KINDS = frozenset({"set_field", "add_to", "remove_from", "add", "remove"})


@dataclass(slots=True)
class _Entry:
    msg: MessageDef
    impl: Impl | None
    is_async: bool
    checkers: list[tuple[str, Callable[[Any, str], Any]]]
    ref_checks: list[tuple[int, XType, bool]]   # (arg index, param type, NULL allowed)
    record_arg: int | None                      # create: the record argument to scan for refs
    #: a generic accessor (no explicit implementation): its only effect is its transaction,
    #: so a write refused as stale (another host of the pool wrote first) is run again
    retry_stale: bool = False
    #: a generic read: answered without ever waiting, so the transport may run it at once
    #: (server/eager.py) rather than in a task of its own
    immediate: bool = False
    #: a generic write of one field: it waits only for its commit (server/stepper.py), on a
    #: store of this host's own
    writes_field: bool = False
    #: the message's argument counts (the session excluded), computed once
    min_args: int = field(init=False)
    max_args: int = field(init=False)

    def __post_init__(self) -> None:
        self.min_args, self.max_args = self.msg.min_args, self.msg.max_args


def _refs_in(t: XType, value: Any) -> Iterator[tuple[str, str]]:
    """(class, ref) of every reference inside a checked value of type `t`."""
    kind = t.kind
    if kind == "ref":
        yield (t.cls, value)  # type: ignore[attr-defined]
    elif kind == "set":
        el = t.element  # type: ignore[attr-defined]
        if el.kind in ("ref", "set", "map"):
            for v in value:
                yield from _refs_in(el, v)
    elif kind == "map":
        kt, vt = t.key, t.value  # type: ignore[attr-defined]
        if kt.kind == "ref" or vt.kind in ("ref", "set", "map"):
            for k, v in value.items():
                if kt.kind == "ref":
                    yield (kt.cls, k)
                yield from _refs_in(vt, v)


def _mentions_refs(t: XType) -> bool:
    if t.kind == "ref":
        return True
    if t.kind == "set":
        return _mentions_refs(t.element)  # type: ignore[attr-defined]
    if t.kind == "map":
        return _mentions_refs(t.key) or _mentions_refs(t.value)  # type: ignore[attr-defined]
    return False


class Dispatcher:
    """`await dispatcher.call(method, params, caller)` -> value, or raises XenAPIError."""

    def __init__(self, services: "Services") -> None:
        self.services = services
        self.model = services.model
        self._table: dict[str, _Entry] = {}
        self._sync_names: list[str] = []
        self._build()
        services.dispatcher = self

    # --- the method table ---------------------------------------------------------------------
    def _build(self) -> None:
        for name in IMPLEMENTATIONS:
            if name not in self.model.methods:
                log.warning("implementation of %s: no such message in the model", name)
        for name, msg in self.model.methods.items():
            impl = IMPLEMENTATIONS.get(name)
            if impl is not None and name in ROUTES:
                # carried out by the host the call is about (api/host_agent.py)
                impl = forwarded(name, impl)
            generic = impl is None
            if impl is None and msg.implicit is not None:
                impl = implicit.make(msg)
            elif impl is None and msg.cls in self.model.classes:
                impl = implicit.map_accessor(msg, self.model.classes[msg.cls])
            nullable = NULLABLE.get(name, frozenset())
            checkers = [(p.name, p.type.check) for p in msg.arg_params]
            ref_checks = []
            record_arg = None
            for i, p in enumerate(msg.arg_params):
                if _mentions_refs(p.type):
                    # NULL is fine where the reference's default for the parameter is
                    # NULL: a client that sends the default has left the option unset
                    null_ok = p.name in nullable or p.default == NULL_REF or (
                        msg.implicit in _NULL_OK_KINDS and i > 0)
                    ref_checks.append((i, p.type, null_ok))
                elif p.type.kind == "record" and msg.implicit == "create":
                    record_arg = i
            made = generic and impl is not None        # a generic implementation runs it
            entry = _Entry(msg, impl, False, checkers, ref_checks, record_arg, made,
                           made and msg.implicit in _READ_KINDS,
                           made and msg.implicit in _WRITE_KINDS)
            self._add(name, entry)
            self._sync_names.append(name)
            if msg.is_async or msg.implicit in ("create", "destroy"):
                self._add("Async." + name, _Entry(msg, impl, True, checkers, ref_checks,
                                                  record_arg))
        self._add_records_where()
        self._sync_names.sort()

    def _add_records_where(self) -> None:
        """xapi's hidden `<class>.get_all_records_where(expr)` for every class with get_all
        (message declares it in the model and implements it in api/message.py)."""
        from ..model import roles as R
        from ..model.dsl import SESSION_PARAM, MessageDef, Param
        from ..model.types import parse_type
        for cname, cdef in self.model.classes.items():
            name = f"{cname}.get_all_records_where"
            if not cdef.get_all or name in self.model.methods:
                continue
            msg = MessageDef(cls=cname, name="get_all_records_where",
                             params=[SESSION_PARAM, Param("expr", parse_type("string"),
                                                          "expression on the records")],
                             result=parse_type(f"({cname} ref -> {cname} record) map"),
                             roles=R.R_READ_ONLY,
                             doc=f"The {cname} records the expression selects.")

            async def impl(ctx: Context, expr: str, _c: str = cname, _d: Any = cdef) -> Any:
                return records_where(ctx.store.records(_c), _d, expr)
            entry = _Entry(msg, impl, False, [(p.name, p.type.check) for p in msg.arg_params],
                           [], None)
            self._add(name, entry)

    def _add(self, name: str, entry: _Entry) -> None:
        self._table[name] = entry
        alias = name.replace(".", "_") if not name.startswith("Async.") else (
            "Async." + name[6:].replace(".", "_"))
        self._table.setdefault(alias, entry)       # Class_message: the Python SDK's event_from

    def method_names(self) -> list[str]:
        """Every synchronous method name (system.listMethods)."""
        return list(self._sync_names)

    def has_method(self, name: str) -> bool:
        return name in self._table

    def immediate(self, name: str) -> bool:
        """Whether a call of `name` is answered without waiting (a generic read)."""
        entry = self._table.get(name)
        return entry is not None and entry.immediate

    def light(self, name: str) -> bool:
        """Whether a call of `name` never needs a task of its own: a generic write of one
        field on a store of this host's own (a pool's store times its commits with
        asyncio.timeout, which needs the task)."""
        entry = self._table.get(name)
        return entry is not None and entry.writes_field and not self.services.store.shared

    # --- a call -------------------------------------------------------------------------------
    async def call(self, method: str, params: list[Any], caller: Caller,
                   task: TaskHandle | None = None) -> Any:
        """`task`: the task a synchronous call reports its progress to (a call another host
        forwarded from an Async one: api/host_agent.py RelayedTask)."""
        WOKE_WATCHERS.set(False)
        try:
            result = await self._call(method, params, caller, task)
        except XenAPIError:
            raise
        except TaskCancelled as exc:
            # a call run for another host's task, cancelled there (pool_http): it says so
            raise XenAPIError("TASK_CANCELLED", str(exc)) from None
        except NoSuchObject as exc:
            raise XenAPIError("HANDLE_INVALID", exc.cls, exc.ref) from None
        except DuplicateUuid as exc:
            raise XenAPIError("DB_UNIQUENESS_CONSTRAINT_VIOLATION", "", "uuid",
                              exc.uuid) from None
        except StoreConflict as exc:
            # another host of the pool changed the object first: clients retry on this error
            raise XenAPIError("OTHER_OPERATION_IN_PROGRESS", exc.cls, exc.ref) from None
        except StoreError as exc:
            log.error("%s: store failure: %s", method, exc)
            raise XenAPIError("INTERNAL_ERROR", str(exc)) from None
        except Exception as exc:     # noqa: BLE001 - the boundary: never a traceback to clients
            log.exception("internal error in %s", method)
            raise XenAPIError("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}") from None
        if WOKE_WATCHERS.get():
            # this call's commit woke event.from calls: they answer first, one loop turn, so
            # that watchers learn of a change no later than its writer (a Python client's
            # threads then do not wait on each other for the two replies either)
            await asyncio.sleep(0)
        return result

    async def _call(self, method: str, params: list[Any], caller: Caller,
                    task: TaskHandle | None = None) -> Any:
        entry = self._table.get(method)
        if entry is None:
            raise XenAPIError("MESSAGE_METHOD_UNKNOWN", method)
        msg = entry.msg
        if not isinstance(params, list):
            params = list(params)
        if msg.takes_session:
            received = len(params) - 1
            args = params[1:]
        else:
            received = len(params)
            args = params
        if received < entry.min_args or received > entry.max_args:
            expected = entry.max_args if received > entry.max_args else entry.min_args
            raise XenAPIError("MESSAGE_PARAMETER_COUNT_MISMATCH", method, str(expected),
                              str(received))
        checked = [check(value, name) for (name, check), value in zip(entry.checkers, args)]
        for p in msg.arg_params[len(checked):]:      # defaulted trailing parameters
            checked.append(p.default)

        services = self.services
        session_ref = None
        session = None
        if msg.takes_session:
            session_ref = params[0]
            session = services.sessions.validate(session_ref)
            if msg.full_name != "session.change_password":   # any user, own password
                rbac.check(msg.full_name, msg.roles, session.role, session.local_superuser)

        store = services.store
        for i, t, null_ok in entry.ref_checks:
            for cls, ref in _refs_in(t, checked[i]):
                if ref == NULL_REF and null_ok:
                    continue
                if cls not in services.store_classes or store.get(cls, ref) is None:
                    raise XenAPIError("HANDLE_INVALID", cls, ref)
        if entry.record_arg is not None:
            cdef = self.model.classes[msg.cls]
            for fname, value in checked[entry.record_arg].items():
                fdef = cdef.fields.get(fname)
                if fdef is None or not _mentions_refs(fdef.type):
                    continue
                for cls, ref in _refs_in(fdef.type, value):
                    if ref != NULL_REF and (cls not in services.store_classes
                                            or store.get(cls, ref) is None):
                        raise XenAPIError("HANDLE_INVALID", cls, ref)

        impl = entry.impl
        if impl is None:
            raise XenAPIError("NOT_IMPLEMENTED", msg.full_name)

        if entry.is_async:
            return await self._start_async(method, entry, impl, checked, caller, session_ref,
                                           session)
        for attempt in range(STALE_RETRIES):
            ctx = Context(services, caller, msg.full_name, store.transaction(), session_ref,
                          session, task)
            try:
                return await self._run(ctx, impl, checked)
            except StoreConflict:
                if not entry.retry_stale or not store.shared or attempt == STALE_RETRIES - 1:
                    raise
                await back_off(store, attempt)      # then the same call again
        raise AssertionError("unreachable")

    @staticmethod
    async def _run(ctx: Context, impl: Impl, args: list[Any]) -> Any:
        txn = ctx.txn
        try:
            result = await impl(ctx, *args)
        except BaseException:
            txn.rollback()
            raise
        if not txn.done:
            await txn.commit()
        return result

    async def _start_async(self, method: str, entry: _Entry, impl: Impl, args: list[Any],
                           caller: Caller, session_ref: str | None, session: Any) -> str:
        services = self.services
        tasks = services.tasks
        ref = await tasks.create(method, owner=session.user if session is not None else None)
        msg = entry.msg
        void = msg.result is None or msg.result.kind == "void"

        async def run(handle: TaskHandle) -> tuple[Any, bool]:
            ctx = Context(services, caller, msg.full_name, services.store.transaction(),
                          session_ref, session, handle)
            return await self.call_checked(ctx, impl, args), void

        tasks.start(ref, run)
        return ref

    async def call_checked(self, ctx: Context, impl: Impl, args: list[Any]) -> Any:
        """Run an implementation with the dispatch boundary's error mapping (tasks use it)."""
        try:
            return await self._run(ctx, impl, args)
        except (XenAPIError, TaskCancelled):
            raise
        except NoSuchObject as exc:
            raise XenAPIError("HANDLE_INVALID", exc.cls, exc.ref) from None
        except StoreConflict as exc:
            raise XenAPIError("OTHER_OPERATION_IN_PROGRESS", exc.cls, exc.ref) from None
        except StoreError as exc:
            raise XenAPIError("INTERNAL_ERROR", str(exc)) from None

