"""The MCP layer, the only package that imports `mcp`: `app.build_server` wires the tools,
resources and prompts (thin: parse → core → output → typed result) to a `runtime.Runtime`;
`http` serves it over Streamable HTTP with its hardening."""
