"""One-off: rewrite test files written against the two old helper modules to tests/helpers/records.py.

Usage: python scripts/migrate_test_helpers.py tests/test_x.py ...   (then ruff format them)

``tests.helpers`` (old keyword names, old defaults) and ``tests.helpers.fixtures`` (JSON keys,
``write_source(root, events, songs)``) become ``tests.helpers.records``, every record unchanged: an
old-vocabulary ``event()``/``song()`` call gets the JSON keys and, spelled out, each old default that
records' defaults differ from; ``write_source`` takes ``songs=``/``events=`` by keyword, with the files
where they were (a fixtures-style dict's day files under ``2018/11/``). Calls it cannot rewrite
safely are printed as MANUAL. Kept for merging branches written before the change; delete after.
"""

import ast
import itertools
import re
import sys
from pathlib import Path

NEW_EVENT = {
    "artist": "Muse",
    "auth": "Logged In",
    "firstName": "Ann",
    "gender": "F",
    "itemInSession": 0,
    "lastName": "Lee",
    "length": 200.5,
    "level": "free",
    "location": "Here, CA",
    "method": "PUT",
    "page": "NextSong",
    "registration": 1540919166796.0,
    "sessionId": 10,
    "song": "Uprising",
    "status": 200,
    "ts": 1541105830796,
    "userAgent": "Mozilla",
    "userId": "7",
}
NEW_SONG = {
    "artist_id": "AR1",
    "artist_latitude": 1.5,
    "artist_location": "Paris",
    "artist_longitude": 2.5,
    "artist_name": "Muse",
    "duration": 200.5,
    "num_songs": 1,
    "song_id": "SO1",
    "title": "Uprising",
    "year": 2009,
}
OLD_EVENT_PARAMS = [
    "user_id",
    "session_id",
    "item",
    "ts",
    "page",
    "song",
    "artist",
    "length",
    "level",
    "first_name",
    "last_name",
    "gender",
    "location",
    "user_agent",
]
EVENT_KEY = {
    "user_id": "userId",
    "session_id": "sessionId",
    "item": "itemInSession",
    "first_name": "firstName",
    "last_name": "lastName",
    "user_agent": "userAgent",
}
OLD_EVENT = {
    "artist": None,
    "firstName": "Ann",
    "gender": "F",
    "itemInSession": 0,
    "lastName": "Lee",
    "length": None,
    "level": "free",
    "location": "Here, CA",
    "method": "PUT",
    "page": "NextSong",
    "registration": 1540919166796.0,
    "sessionId": 1,
    "song": None,
    "status": 200,
    "ts": 1541105830796,
    "userAgent": "Mozilla/5.0",
    "userId": "10",
}
OLD_SONG_PARAMS = [
    "song_id",
    "title",
    "artist_id",
    "artist_name",
    "duration",
    "year",
    "latitude",
    "longitude",
    "location",
]
SONG_KEY = {"latitude": "artist_latitude", "longitude": "artist_longitude", "location": "artist_location"}
OLD_SONG = {
    "num_songs": 1,
    "artist_id": "ARA",
    "artist_latitude": None,
    "artist_longitude": None,
    "artist_location": "",
    "artist_name": "Artist A",
    "title": "A Song",
    "duration": 200.5,
    "year": 2000,
}


def seg(src, node):
    return ast.get_source_segment(src, node)


def offsets(src):
    starts = [0]
    for line in src.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def span(starts, node):
    return starts[node.lineno - 1] + node.col_offset, starts[node.end_lineno - 1] + node.end_col_offset


def call_name(node):
    return node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None


def convert_old_call(src, node):
    name = call_name(node)
    params, keymap, old, new = (
        (OLD_EVENT_PARAMS, EVENT_KEY, OLD_EVENT, NEW_EVENT)
        if name == "event"
        else (OLD_SONG_PARAMS, SONG_KEY, OLD_SONG, NEW_SONG)
    )
    given = []
    for p, a in zip(params, node.args):
        given.append((p, a))
    for k in node.keywords:
        if k.arg is None:
            raise SystemExit(f"**kwargs in {seg(src, node)}")
        given.append((k.arg, k.value))
    out = []
    keys = set()
    user_id_node = None
    for p, v in given:
        key = keymap.get(p, p)
        keys.add(key)
        out.append(f"{key}={seg(src, v)}")
        if p == "user_id":
            user_id_node = v
    for key, val in old.items():
        if key not in keys and new.get(key, object()) != val:
            out.append(f"{key}={val!r}")
    if name == "event":
        if user_id_node is None:
            pass  # "10": Logged In, as the new default
        elif isinstance(user_id_node, ast.Constant):
            if not user_id_node.value:
                out.append('auth="Logged Out"')
        else:
            out.append(f'auth="Logged In" if {seg(src, user_id_node)} else "Logged Out"')
    return (
        f"{name}({', '.join(out)})".replace("'", '"')
        if "\\" not in "".join(out)
        else f"{name}({', '.join(out)})"
    )


def apply(src, edits):
    for a, b, text in sorted(edits, reverse=True):
        src = src[:a] + text + src[b:]
    return src


def migrate(path):
    src = path.read_text()
    old_style = (
        re.search(r"^\s*from tests\.helpers import [^\n]*\b(event|song|write_source|rows|NOW)\b", src, re.M)
        is not None
    )
    fix_style = "tests.helpers.fixtures" in src
    if not (old_style or fix_style):
        return
    assert not (old_style and fix_style), path
    tree = ast.parse(src)
    starts = offsets(src)
    if old_style:
        edits = []
        for node in ast.walk(tree):
            if call_name(node) in ("event", "song"):
                a, b = span(starts, node)
                edits.append((a, b, convert_old_call(src, node)))
        # nested event/song in event/song? check
        edits.sort()
        for (a1, b1, _), (a2, _b2, _) in itertools.pairwise(edits):
            assert b1 <= a2, (path, a1)
        src = apply(src, edits)
        tree = ast.parse(src)
        starts = offsets(src)
    edits = []
    for node in ast.walk(tree):
        if call_name(node) != "write_source":
            continue
        if node.keywords or len(node.args) != 3:
            print("MANUAL write_source", path, node.lineno)
            continue
        root, first, second = node.args
        if old_style:
            songs, events = first, second
        else:
            events, songs = first, second
        ev = seg(src, events)
        if isinstance(events, (ast.List, ast.ListComp)):
            if old_style:
                ev = '{"2018-11-01-events.json": ' + ev + "}"
        elif isinstance(events, ast.Dict):
            if fix_style:
                a0, _ = span(starts, events)
                kedits = []
                for k in events.keys:
                    if isinstance(k, ast.Constant) and isinstance(k.value, str):
                        ka, kb = span(starts, k)
                        kedits.append((ka - a0, kb - a0, repr("2018/11/" + k.value).replace("'", '"')))
                    else:
                        print("MANUAL dict key", path, node.lineno)
                ev = apply(ev, kedits)
        else:
            print("MANUAL events expr", path, node.lineno, ev[:60])
            if old_style:
                ev = '{"2018-11-01-events.json": ' + ev + "}"  # check by hand
        a, b = span(starts, node)
        edits.append((a, b, f"write_source({seg(src, root)}, songs={seg(src, songs)}, events={ev})"))
    edits.sort()
    # nested write_source? no
    src = apply(src, edits)
    src = re.sub(r"from tests\.helpers\.fixtures import ", "from tests.helpers.records import ", src)

    def fix_import(m):
        names = [n.strip() for n in m.group(2).split(",")]
        rec = [n for n in names if n in ("NOW", "event", "rows", "song", "write_source")]
        other = [n for n in names if n not in rec]
        lines = []
        if other:
            lines.append(f"{m.group(1)}from tests.helpers import {', '.join(other)}")
        if rec:
            lines.append(f"{m.group(1)}from tests.helpers.records import {', '.join(rec)}")
        return "\n".join(lines)

    src = re.sub(r"^(\s*)from tests\.helpers import ([^\n(]+)$", fix_import, src, flags=re.M)
    path.write_text(src)
    print("migrated", path, "old" if old_style else "fixtures")


for p in sys.argv[1:]:
    migrate(Path(p))
