"""The tables as data: names, columns, logical types, keys and load order.

Every engine turns these logical types into its own through a type map (see ``warehouse/``), so the
DDL of all engines comes from this one definition. The semantics are those of ``CONTRACT.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """Logical type: text, integer, bigint, double, boolean, timestamp."""
    not_null: bool = False
    source: str | None = None
    """For staging columns: the JSON key the value comes from."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    kind: str = "star"
    """staging, star, or meta (ledger and accounting tables)."""
    references: tuple[tuple[str, str, str], ...] = ()
    """(column, other table, other column) relationships checked by ``quality``."""
    sort_key: str | None = None
    """Redshift SORTKEY (ignored elsewhere)."""
    dist: str = "all"
    """Redshift distribution: 'all', 'auto' or 'key:<column>' (ignored elsewhere)."""
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def record_columns(self) -> tuple[Column, ...]:
        """Staging columns filled from a JSON key (all but the lineage column)."""
        return tuple(c for c in self.columns if c.source)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


SOURCE_FILE = Column("source_file", "text")
"""Lineage: the file or object key a staging row came from. It lets a changed file replace its own
rows on an incremental run; the contract's fields are the other columns."""


def _staging(name: str, spec: list[tuple[str, str, str]], description: str) -> Table:
    return Table(
        name=name,
        columns=(*(Column(col, typ, source=key) for col, key, typ in spec), SOURCE_FILE),
        kind="staging",
        dist="auto",  # Redshift: loaded whole by COPY and read whole by the transform; let it choose
        description=description,
    )


STAGING_EVENTS = _staging(
    "staging_events",
    [
        ("artist", "artist", "text"),
        ("auth", "auth", "text"),
        ("first_name", "firstName", "text"),
        ("gender", "gender", "text"),
        ("item_in_session", "itemInSession", "integer"),
        ("last_name", "lastName", "text"),
        ("length", "length", "double"),
        ("level", "level", "text"),
        ("location", "location", "text"),
        ("method", "method", "text"),
        ("page", "page", "text"),
        ("registration", "registration", "double"),
        ("session_id", "sessionId", "integer"),
        ("song", "song", "text"),
        ("status", "status", "integer"),
        ("ts", "ts", "bigint"),
        ("user_agent", "userAgent", "text"),
        ("user_id", "userId", "text"),
    ],
    "One row per log line, the 18 event fields typed.",
)

STAGING_SONGS = _staging(
    "staging_songs",
    [
        ("num_songs", "num_songs", "integer"),
        ("artist_id", "artist_id", "text"),
        ("artist_latitude", "artist_latitude", "double"),
        ("artist_longitude", "artist_longitude", "double"),
        ("artist_location", "artist_location", "text"),
        ("artist_name", "artist_name", "text"),
        ("song_id", "song_id", "text"),
        ("title", "title", "text"),
        ("duration", "duration", "double"),
        ("year", "year", "integer"),
    ],
    "One row per song record, the 10 song fields typed.",
)

EVENT_REQUIRED = ("ts", "page", "sessionId", "itemInSession")
"""Event keys without which a record is rejected: the time, the page, and the natural key of a play."""

SONG_REQUIRED = ("song_id",)
"""Song keys without which a record is rejected."""


@dataclass(frozen=True)
class FileKind:
    """One kind of input file, as every layer names it: the source folder, the CLI flag and
    setting that move it elsewhere, the staging table it loads into, its required keys."""

    name: str
    """``songs`` or ``events``: the key in the ledger, run reports, summaries and manifests."""
    noun: str
    """What messages call one file: ``song`` (``No song files in ...``) or ``log``."""
    folder: str
    """The folder under a source root that holds these files: ``song_data`` or ``log_data``."""
    flag: str
    """The CLI flag that takes these files from a place of their own: ``--song-source``."""
    setting: str
    """The same as a setting (``sparkify.toml`` key, ``SPARKIFY_<SETTING>``): ``song_source``."""
    staging: Table
    """The staging table its records load into."""
    required: tuple[str, ...]
    """JSON keys without which a record is rejected."""


SONG_FILES = FileKind(
    "songs", "song", "song_data", "--song-source", "song_source", STAGING_SONGS, SONG_REQUIRED
)
EVENT_FILES = FileKind(
    "events", "log", "log_data", "--log-source", "log_source", STAGING_EVENTS, EVENT_REQUIRED
)

FILE_KINDS: dict[str, FileKind] = {k.name: k for k in (SONG_FILES, EVENT_FILES)}
"""The kinds of input file by name, songs first (the order runs stage them and reports list them)."""


def file_kind_of(staging_table: str) -> FileKind:
    """The kind of file whose records load into ``staging_table``; KeyError for another table."""
    for kind in FILE_KINDS.values():
        if kind.staging.name == staging_table:
            return kind
    raise KeyError(staging_table)


def C(name: str, typ: str, not_null: bool = False) -> Column:
    return Column(name, typ, not_null=not_null)


SONGPLAYS = Table(
    "songplays",
    (
        C("songplay_id", "identity", True),
        C("start_time", "timestamp", True),
        C("user_id", "integer", True),
        C("level", "text"),
        C("song_id", "text"),
        C("artist_id", "text"),
        C("session_id", "integer", True),
        C("location", "text"),
        C("user_agent", "text"),
    ),
    primary_key=("songplay_id",),
    references=(
        ("user_id", "users", "user_id"),
        ("start_time", "time", "start_time"),
        ("song_id", "songs", "song_id"),
        ("artist_id", "artists", "artist_id"),
    ),
    sort_key="start_time",
    # Redshift DISTKEY start_time, like time: the fact table is spread evenly (a play instant is
    # near-unique) and the join to time runs on each node without moving rows. Not song_id: most
    # plays match no song, and all NULL song_ids would land on one slice. The other dimensions are
    # small and DISTSTYLE ALL, so joins to them never move rows either.
    dist="key:start_time",
    description="One row per NextSong event of a logged-in user (natural key user, session, item).",
)

USERS = Table(
    "users",
    (
        C("user_id", "integer", True),
        C("first_name", "text"),
        C("last_name", "text"),
        C("gender", "text"),
        C("level", "text"),
    ),
    primary_key=("user_id",),
    sort_key="user_id",
    description="One row per non-empty userId over all events; details from the latest event.",
)

SONGS = Table(
    "songs",
    (
        C("song_id", "text", True),
        C("title", "text"),
        C("artist_id", "text"),
        C("year", "integer"),
        C("duration", "double"),
    ),
    primary_key=("song_id",),
    references=(("artist_id", "artists", "artist_id"),),
    sort_key="song_id",
    dist="all",  # Redshift: a small dimension, copied to every node
    description="One row per distinct song_id; year NULL where the source says 0.",
)

ARTISTS = Table(
    "artists",
    (
        C("artist_id", "text", True),
        C("name", "text"),
        C("location", "text"),
        C("latitude", "double"),
        C("longitude", "double"),
    ),
    primary_key=("artist_id",),
    sort_key="artist_id",
    description="One row per distinct artist_id, from the most complete record.",
)

TIME = Table(
    "time",
    (
        C("start_time", "timestamp", True),
        C("hour", "integer", True),
        C("day", "integer", True),
        C("week", "integer", True),
        C("month", "integer", True),
        C("year", "integer", True),
        C("weekday", "integer", True),
    ),
    primary_key=("start_time",),
    sort_key="start_time",
    # Redshift: one row per play instant, so nearly as large as songplays: distributed on start_time
    # like songplays (see there), not copied to every node.
    dist="key:start_time",
    description="One row per distinct songplays.start_time, broken into calendar parts.",
)

LOAD_RUNS = Table(
    "load_runs",
    (
        C("load_id", "text", True),
        C("command", "text", True),
        C("status", "text", True),
        C("started_at", "timestamp", True),
        C("finished_at", "timestamp"),
        C("source", "text"),
        C("full_refresh", "boolean"),
        C("prune", "boolean"),
        C("files_listed", "integer"),
        C("files_loaded", "integer"),
        C("files_removed", "integer"),
        C("songs_read", "bigint"),
        C("songs_staged", "bigint"),
        C("songs_rejected", "bigint"),
        C("events_read", "bigint"),
        C("events_staged", "bigint"),
        C("events_rejected", "bigint"),
        C("unknown_fields", "text"),
        C("checks_failed", "integer"),
        C("message", "text"),
    ),
    primary_key=("load_id",),
    kind="meta",
    description="One row per run of stage or run: its accounting (read = staged + rejected per kind).",
)

LOAD_FILES = Table(
    "load_files",
    (
        C("file", "text", True),
        C("kind", "text", True),
        C("size", "bigint"),
        C("version", "text"),
        C("records_read", "bigint", True),
        C("records_staged", "bigint", True),
        C("records_rejected", "bigint", True),
        C("load_id", "text", True),
        C("loaded_at", "timestamp", True),
        C("content_hash", "text"),
        C("rules", "text"),
    ),
    primary_key=("file",),
    kind="meta",
    description="The load ledger: every file or object whose records are in staging, as loaded.",
)

LOAD_ERRORS = Table(
    "load_errors",
    (
        C("load_id", "text", True),
        C("source", "text", True),
        C("line", "integer"),
        C("field", "text"),
        C("reason", "text", True),
        C("raw_text", "text"),
    ),
    kind="meta",
    description="Every input record rejected by a run that tolerated it (--max-errors).",
)

LOAD_SCHEMA = Table(
    "load_schema",
    (
        C("version", "integer", True),
        C("upgraded_at", "timestamp", True),
    ),
    primary_key=("version",),
    kind="meta",
    description="The version of the bookkeeping tables' layout, one row per upgrade (see ledger.py).",
)

META_TABLES: tuple[Table, ...] = (LOAD_RUNS, LOAD_FILES, LOAD_ERRORS, LOAD_SCHEMA)

STAGING_TABLES: tuple[Table, ...] = (STAGING_EVENTS, STAGING_SONGS)
STAR_TABLES: tuple[Table, ...] = (USERS, SONGS, ARTISTS, SONGPLAYS, TIME)
"""Star tables in load order: users, songs, artists, then songplays (which needs songs), then time
(which is built from songplays.start_time)."""

TABLES: dict[str, Table] = {t.name: t for t in (*STAGING_TABLES, *STAR_TABLES, *META_TABLES)}


def missing_table_hint(message: str) -> str:
    """``message`` (an engine's "table does not exist" error, one line) with the next step: `sparkify
    run` when the missing table is one of sparkify's own (:data:`TABLES`), else a check of the name
    with the list of sparkify's tables (a user's query naming a table that never existed). A
    trailing ``!`` of the engine's words is dropped so the sentence ends once."""
    import re

    found = re.search(r'(?:Table with name|relation|table)\s+"?([\w."]+?)"?(?:\s|$|!)', message)
    name = found.group(1).replace('"', "").rsplit(".", 1)[-1].lower() if found else ""
    text = message.rstrip().rstrip("!.")
    if found and name not in TABLES:
        return f"{text}. Check the name: sparkify's tables are {', '.join(TABLES)}."
    return f"{text}. Run `sparkify run` first."
