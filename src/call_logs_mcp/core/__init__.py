"""What the tools do, as plain code that knows no MCP: resolve platforms, merge listings, locate
calls, keep the index fresh, run queries. `core.service.CallLogService` is the facade."""
