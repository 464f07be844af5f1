"""The index on PostgreSQL, for a team sharing one database (issue 18; in progress).

Same tables and semantics as the SQLite index (see `index.migrations`), one module per concern:
`migrations` (the schema, versioned, run once under an advisory lock), `db` (the psycopg 3 async
pool and its errors), `writes`, `reads`, and `store` (`PostgresStore`, the `IndexStore`
methods). Not selectable by users yet: `PostgresStore` implements only part of `IndexStore`
(see its docstring), and the settings do not offer it until it implements all of it.
"""

from __future__ import annotations

from call_logs_mcp.index.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
