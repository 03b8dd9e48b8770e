"""The exceptions sparkify raises. The CLI turns each into one line and an exit code."""

from __future__ import annotations


class SparkifyError(Exception):
    """Base class: a problem the user can act on. Its message is one line that says what to do."""

    exit_code = 1


class ConfigError(SparkifyError):
    """A setting is missing, unknown or invalid."""

    exit_code = 2


class SourceError(SparkifyError):
    """The input cannot be found or read (missing folder, bucket, key, unreadable file)."""

    exit_code = 1


class BadInputError(SparkifyError):
    """Input records could not be parsed or typed, and more of them than --max-errors allows."""

    exit_code = 1


class WarehouseError(SparkifyError):
    """The warehouse refused a statement or cannot be reached."""

    exit_code = 1


class TransientWarehouseError(WarehouseError):
    """A failure worth retrying: a lost connection, a serialization failure, a deadlock."""


class MissingTableError(WarehouseError):
    """A table the step needs does not exist yet."""


class QueryError(SparkifyError):
    """An analytics query cannot be read, or cannot be translated faithfully to the engine's SQL."""

    exit_code = 2


class CheckFailed(SparkifyError):
    """One or more quality checks, or an analytics comparison, failed."""

    exit_code = 1
