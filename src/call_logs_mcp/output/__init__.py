"""Everything that leaves the server: output models, budgets, rendering, sanitising and redaction.
`output.shaper.Shaper` is the facade the server calls; this package is THE ONLY place that
truncates, budgets or renders what leaves the server.

Modules: `schemas` (the output models), `budget` (measure and fit), `text` (formatters and the
one ELLIPSIS), `scrub` (`Scrubber`, over `sanitize` and `redact`), and one renderer per answer:
`calls`, `transcript`, `search`, `campaigns`, `resources`.

One budget, `Settings.max_output_chars`, bounds every tool result twice over: the text content
(`len(text)`) and the structured content (`len(json.dumps(structured, ensure_ascii=False))`,
which is at least as long as the compact JSON the SDK puts on the wire) each stay within it.

- Lists shrink by rows: the renderer asks how many rows fit and hands out a cursor that resumes
  right after the last row shown.
- Transcripts shrink by whole turns, from `transcript_offset`; a turn longer than the budget is
  split at a character position (`transcript_char_offset`) and the continuation loses nothing.
  Positions count characters of the turn text as it is shown (sanitised and redacted), so a split
  can never cut a phone number in half before redaction.
- Free text (summaries, snippets, extracted data) shrinks by length, announced with "…".

Every string that leaves goes through `Scrubber`: control/zero-width/bidi/tag characters removed
(`sanitize.clean_text`), PII redacted (`redact.Redactor`), markdown links/images made inert
(`sanitize.inert_markdown`). Transcript turns are rendered one per line inside an untrusted block
whose markers the content cannot forge (`sanitize.turn_line`, `sanitize.untrusted_block`).
Text content is written for a model: compact lines, not indented JSON.
"""
