"""What the tools do, as plain code that knows no MCP: resolve platforms, merge listings, locate
calls, keep the index fresh, run queries. `core.service.CallLogService` is the facade.

- `arguments`: tool arguments in, domain values out (dates, statuses, speakers, ids, filters).
- `merge`: `list_calls` across platforms, a k-way merge behind one cursor.
- `locate`: `get_call`, and which platform holds an id.
- `local_index`: the index store as the core sees it (account scope, optional store).
- `freshness`: sync a stale scope within a time budget; what the index covers.
- `queries`: search (re-queried until its page fits), campaigns, recent calls, completion.
"""
