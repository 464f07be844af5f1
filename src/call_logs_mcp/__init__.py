"""call-logs-mcp: an MCP server for the call logs of AI voice-calling platforms."""

__version__ = "0.1.0"
