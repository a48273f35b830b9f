"""Running one network command (`ip ...`) with a time limit."""
from __future__ import annotations

import asyncio


async def run(cmd: list[str], timeout: float) -> tuple[int, bytes, bytes] | None:
    """(exit status, stdout, stderr), or None when it outran `timeout` (it is killed);
    OSError when it cannot be started."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    return proc.returncode or 0, out, err
