"""One legacy SSE session with the official Python MCP SDK client, for the
front-door tests: connect to URL, call the `whoami` tool CALLS times
(optionally pausing IDLE seconds after the first call, with the stream
open and silent), print one JSON line with what happened.

    python python_sse_client.py URL CALLS [IDLE]
"""

import json
import sys
import time

import anyio
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client


def describe(err: BaseException) -> str:
    """The first real error inside exception groups (anyio task groups wrap them)."""
    while isinstance(err, BaseExceptionGroup) and err.exceptions:
        err = err.exceptions[0]
    return f"{type(err).__name__}: {err}"[:300]


async def main(url: str, calls: int, idle: float) -> dict:
    outcome = {"connected": False, "ok": 0, "failed": 0, "replicas": {}, "error": None}
    try:
        async with sse_client(url, timeout=5.0, sse_read_timeout=60.0) as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=5.0) as session:
                await session.initialize()
                outcome["connected"] = True
                for i in range(calls):
                    if i == 1 and idle > 0:
                        await anyio.sleep(idle)
                    try:
                        result = await session.call_tool("whoami", {})
                        text = result.content[0].text if getattr(result, "content", None) else ""
                        if getattr(result, "isError", False) or getattr(result, "is_error", False):
                            raise RuntimeError(text)
                        outcome["ok"] += 1
                        outcome["replicas"][text] = outcome["replicas"].get(text, 0) + 1
                    except Exception as err:  # one failed call is counted, the session goes on
                        outcome["failed"] += 1
                        outcome["error"] = outcome["error"] or describe(err)
    except BaseException as err:  # connect failures arrive as exception groups
        outcome["error"] = outcome["error"] or describe(err)
    outcome["failed"] = calls - outcome["ok"]
    return outcome


if __name__ == "__main__":
    started = time.monotonic()
    result = anyio.run(main, sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
    result["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(result))
