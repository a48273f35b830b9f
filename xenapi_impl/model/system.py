"""The ``system`` pseudo-class: the XML-RPC introspection calls xapi answers.

They take no session. ``system.listMethods`` returns every synchronous class method (sent
without the Status envelope); ``system.isAlive`` echoes its argument (xapi answers any
``system.isAlive...`` call with its first parameter).
"""
from __future__ import annotations

from xenapi_impl.model.dsl import MessageDef, message, param
from xenapi_impl.model.roles import R_READ_ONLY

__all__ = ["SYSTEM_MESSAGES"]


def _system(m: MessageDef) -> MessageDef:
    m.cls = "system"
    m.__post_init__()
    return m


SYSTEM_MESSAGES: list[MessageDef] = [
    _system(message(
        "listMethods",
        doc="The names of every synchronous method this server answers (no Status envelope).",
        result="string set", result_doc="method names",
        roles=R_READ_ONLY, session=False)),
    _system(message(
        "isAlive",
        doc="Liveness probe: returns its argument unchanged.",
        params=[param("value", "string", "any string, echoed back", default="")],
        result="string", result_doc="the argument",
        roles=R_READ_ONLY, session=False)),
]
