"""JSON -> typed staging rows.

``rules`` holds the record rules, written once: how a file's bytes are framed into records, how each
field is typed, and what is rejected with which reason. The reader's fast path (DuckDB) stages only
records these rules would stage, identically; every file it is not sure of goes through the rules.
"""
