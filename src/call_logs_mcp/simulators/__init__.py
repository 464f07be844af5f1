"""Platform-neutral plumbing for the platform simulators; knows no platform.

- `corpus`: what the calls say (text tables, script rendering from a call's seed and status).
- `dataset`: the simulated account's truth (`SimCall`, `SimCampaign`, `SimDataset`, `SimTurn`).
- `generate`: the deterministic generator (`generate_dataset`, `iter_calls`).
- `app`: app construction, auth, JSON errors, date parsing.
- `faults`: `Faults` (latency, rate limit, 5xx, 429, resets, truncated JSON) and the request log
  on `app.state.requests`.

Imports point one way: corpus ← dataset ← generate, and app ← {dataset, faults}. Each platform's
simulator app is `simulator.py` in its folder (`providers/<name>/`); the helpers that pick one by
platform name (`simulated_app`, `simulated_provider_config`, `serve`, ...) live in
`call_logs_mcp.providers.simulated`, above this package. Nothing here imports the platform list.
"""
