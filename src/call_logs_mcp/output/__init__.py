"""Everything that leaves the server: output models, budgets, rendering, sanitising and redaction.
`output.shaper.Shaper` is the facade the server calls."""
