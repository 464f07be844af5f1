"""Platform-neutral plumbing for the platform simulators; knows no platform.

`data` (the deterministic generator, `SimCall`, `SimDataset`), `app` (app construction, auth,
errors) and `faults` (`Faults`: latency, rate limit, 5xx, 429, resets, truncated JSON; request
log on `app.state.requests`).

Each platform's simulator app is `simulator.py` in its folder (`providers/<name>/`); the helpers
that pick one by platform name (`simulated_app`, `simulated_provider_config`, `serve`, ...) live
in `call_logs_mcp.providers.simulated`, above this package. Nothing here imports the platform list.
"""
