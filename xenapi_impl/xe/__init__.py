"""``xe``, xapi's command line, over this server's XenAPI (see README.md, "xe").

| Module | Holds |
|---|---|
| grammar.py | the command line: connection switches, ``cmd key=value --flag`` |
| transport.py | XML-RPC over the Unix socket (default), HTTP or HTTPS; the session |
| fields.py | the model as xe names and prints it (hyphenated names, RO/RW markers, values) |
| output.py | record blocks, ``--minimal``, the progress bar |
| errors.py | failures printed as xe prints them |
| commands.py | the command table and a command's Ctx (calls, tasks with progress) |
| classcmds.py | ``<class>-list`` and ``-param-*``, generated for every class of the model |
| verbs.py | the hand-written verbs (vm-install, vm-start, vm-disk-add...) |
| help.py, completion.py | ``xe help``; the bash completion generated from it |
"""
from __future__ import annotations

from xenapi_impl.xe.main import main

__all__ = ["main"]
