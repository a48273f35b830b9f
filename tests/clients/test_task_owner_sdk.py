"""Nobody forges another user's task, through the real server and the official SDK: a vm-admin's
task cannot be written (status, result, error_info, progress) by read-only, vm-operator or
vm-power-admin sessions; its owner and pool operators may."""
from __future__ import annotations

import subprocess

import XenAPI
from sdk import details
from serverproc import SERVER

USERS = {"taskadmin": "vm-admin", "taskviewer": "read-only", "taskop": "vm-operator",
         "taskpower": "vm-power-admin", "taskpoolop": "pool-operator"}
FORGERIES = {"set_status": "success", "set_result": "<value>forged</value>",
             "set_error_info": ["FORGED"], "set_progress": 0.9}


def login(server, user: str) -> XenAPI.Session:
    s = XenAPI.Session(server.url)
    s.xenapi.login_with_password(user, f"{user}-pw", "1.0", "pytest-task-owner")
    return s


def test_only_the_owner_or_a_pool_operator_writes_a_task(server):
    for user, role in USERS.items():
        subprocess.run([SERVER, "user", "add", user, "--role", role, "--password-stdin",
                        "--db", server.db], input=f"{user}-pw\n".encode(), check=True,
                       capture_output=True)
    sessions = {user: login(server, user) for user in USERS}
    try:
        admin = sessions["taskadmin"].xenapi
        task = admin.task.create("backup", "the admin's")
        before = admin.task.get_record(task)
        for user in ("taskviewer", "taskop", "taskpower"):
            x = sessions[user].xenapi
            for setter, value in FORGERIES.items():
                assert details(getattr(x.task, setter), task, value) == [
                    "RBAC_PERMISSION_DENIED", f"task.{setter}/any",
                    "No permission in user session. (Roles with this permission: pool-admin, "
                    "pool-operator)"]
        assert admin.task.get_record(task) == before        # the admin sees it unforged
        assert admin.task.get_status(task) == "pending"
        sessions["taskpoolop"].xenapi.task.set_progress(task, 0.5)
        admin.task.set_status(task, "success")
        assert admin.task.get_record(task)["progress"] == 0.5
        assert admin.task.get_status(task) == "success"
        admin.task.destroy(task)
    finally:
        for s in sessions.values():
            s.xenapi.session.logout()
