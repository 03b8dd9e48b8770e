"""JSON -> typed staging rows.

The record rules are written once: ``framing`` (how a file's bytes become records) and ``rules`` (how
each field is typed, what is rejected with which reason, and the fast path's test). ``reader`` is the
fast path (DuckDB), which stages only records these rules would stage, identically; ``spool``
concatenates tiny files for it; every file it is not sure of goes through ``precise``, the rules
applied record by record. ``results`` holds what a read produced: rows, counts, rejects.
"""
