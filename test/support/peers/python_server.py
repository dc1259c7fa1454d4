"""A real MCP server from the official Python SDK (`mcp` on PyPI), for the
prober tests. Runs one transport on the given host and port:

    python python_server.py sse|streamable-http HOST PORT

`sse` serves the legacy HTTP+SSE transport (GET /sse, POST /messages/);
`streamable-http` serves Streamable HTTP on /mcp. The SDK 2.x renamed
FastMCP to MCPServer; this is the same high-level server.
"""

import sys

from mcp.server.mcpserver import MCPServer


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in ("sse", "streamable-http"):
        sys.exit("usage: python_server.py sse|streamable-http HOST PORT")
    transport, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    server = MCPServer("python-peer", log_level="WARNING")

    @server.tool()
    def ping() -> str:
        """Answers pong."""
        return "pong"

    server.run(transport, host=host, port=port)


if __name__ == "__main__":
    main()
