"""The analytics report: a self-contained HTML page whose numbers match the data.

Unit tests read the HTML as text. The browser tests open it in headless Chromium, driven by
Playwright, and compare what it shows with numbers computed here: straight from the raw JSON, or
with SQL written in this file, never through ``sparkify.report``. When Chromium or Playwright is
missing the browser tests skip and say so, except under ``CI=true``, where they fail
(``scripts/install-chromium.sh`` installs Chromium).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sparkify import analytics, pipeline, quality, report
from sparkify.cli import main
from sparkify.errors import MissingTableError
from sparkify.report import charts
from sparkify.warehouse import connect

HOSTILE_TITLE = """<script>alert("title")</script> & 'Tom' "Jerry" <img src=x onerror=alert(1)>"""
HOSTILE_ARTIST = """Artist </text><svg onload=alert(2)> & "Co" 'Ltd'"""
HOSTILE_LOCATION = """<Springfield>, "IL" & 'MO'"""
HOSTILE_FIRST, HOSTILE_LAST = "<b>Bobby</b>", """"O'Hara" & <co>"""
LONG_TITLE = "Rock & Roll & Blues & Soul & Jazz & Funk & Disco & Punk & Metal & Folk & Country & Gospel"
HOSTILE_FILE = "2018-11-02-<b>&.json"
HOSTILE_STRINGS = (HOSTILE_TITLE, HOSTILE_ARTIST, HOSTILE_LOCATION, HOSTILE_FIRST, HOSTILE_LAST)


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_load(tmp_path_factory, sample_dir):
    """The shipped sample loaded into a fresh DuckDB file: (warehouse, RunReport)."""
    folder = tmp_path_factory.mktemp("sample")
    wh = connect(f"duckdb:///{folder}/sample.duckdb")
    run_report = pipeline.run(wh, sample_dir)
    yield wh, run_report
    wh.close()


@pytest.fixture(scope="module")
def sample_report(sample_load, tmp_path_factory) -> Path:
    """The report of the sample, built with the run's RunReport, written to a file."""
    wh, run_report = sample_load
    path = tmp_path_factory.mktemp("report") / "report.html"
    report.write(wh, path, run_report=run_report)
    return path


def _song(song_id, title, artist_id, artist_name, duration):
    return {
        "num_songs": 1, "artist_id": artist_id, "artist_latitude": None, "artist_longitude": None,
        "artist_location": "", "artist_name": artist_name, "song_id": song_id, "title": title,
        "duration": duration, "year": 0,
    }  # fmt: skip


def _event(i, song, artist, length, *, user="7", first=HOSTILE_FIRST, last=HOSTILE_LAST, level="paid"):
    return {
        "artist": artist, "auth": "Logged In", "firstName": first, "gender": "F", "itemInSession": i,
        "lastName": last, "length": length, "level": level, "location": HOSTILE_LOCATION, "method": "PUT",
        "page": "NextSong", "registration": 1540919166796.0, "sessionId": 1, "song": song, "status": 200,
        "ts": 1541105830796 + i * 60_000, "userAgent": '"Mozilla/5.0"', "userId": user,
    }  # fmt: skip


@pytest.fixture(scope="module")
def hostile_load(tmp_path_factory):
    """A tiny source whose titles, names, locations and a rejected file name are hostile HTML."""
    root = tmp_path_factory.mktemp("hostile")
    songs = root / "song_data" / "A" / "B" / "C"
    songs.mkdir(parents=True)
    (songs / "TRHOSTILE1.json").write_text(
        json.dumps(_song("SOHOSTILE1", HOSTILE_TITLE, "ARHOSTILE1", HOSTILE_ARTIST, 200.5))
    )
    (songs / "TRHOSTILE2.json").write_text(
        json.dumps(_song("SOHOSTILE2", LONG_TITLE, "ARHOSTILE2", "Band & Co", 100.25))
    )
    logs = root / "log_data" / "2018" / "11"
    logs.mkdir(parents=True)
    events = [_event(i, HOSTILE_TITLE, HOSTILE_ARTIST, 200.5) for i in range(3)]
    events += [
        _event(i, LONG_TITLE, "Band & Co", 100.25, user="8", first="Ann", last="Lee", level="free")
        for i in (3, 4)
    ]
    (logs / "2018-11-01-events.json").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    (logs / HOSTILE_FILE).write_text("{not json\n")
    wh = connect(f"duckdb:///{root}/hostile.duckdb")
    run_report = pipeline.run(wh, root, max_errors=1)
    yield wh, run_report
    wh.close()


@pytest.fixture(scope="module")
def hostile_html(hostile_load) -> str:
    wh, run_report = hostile_load
    return report.build(wh, run_report=run_report)


# -- the HTML as text -------------------------------------------------------------------------------


def test_every_catalog_query_has_a_section_and_a_table(sample_report):
    text = sample_report.read_text(encoding="utf-8")
    for name in analytics.catalog():
        assert f'id="q-{name}"' in text, name
        assert f'<table class="data" data-query="{name}">' in text, name


def test_no_reference_to_anything_outside_the_file(sample_report):
    text = sample_report.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text)
    assert not re.search(r"<(script|iframe|object|embed|img|audio|video|base)\b", text, re.IGNORECASE)
    assert "@import" not in text and "url(" not in text and " src=" not in text
    for target in re.findall(r'href="([^"]*)"', text):
        assert target.startswith("#") or target == "data:,", target
    # and a Content-Security-Policy that would block a fetch if one slipped in
    assert "default-src 'none'" in text


class _Collector(HTMLParser):
    """Every start tag, and the text content, as a browser's parser sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_hostile_text_from_the_data_is_escaped(hostile_html):
    for raw in HOSTILE_STRINGS:
        assert raw not in hostile_html, raw
        assert html.escape(raw, quote=True) in hostile_html, raw
    assert html.escape(HOSTILE_FILE) in hostile_html  # the rejected file's name, in the rejects list
    parsed = _Collector()
    parsed.feed(hostile_html)
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "img", "iframe", "object", "b", "co", "springfield"}
    assert [t for t, _ in parsed.tags].count("svg") == sum(
        1 for t, a in parsed.tags if t == "svg" and a.get("class") == "chart"
    )
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    text = "".join(parsed.text)
    for raw in HOSTILE_STRINGS:
        assert raw in text, raw  # shown as text, intact


def test_long_labels_are_cut_before_escaping(hostile_html):
    # the long title is cut with an ellipsis in the chart, and the cut never splits an entity
    labels = re.findall(r'<text class="label"[^>]*><title>([^<]*)</title>([^<]*)</text>', hostile_html)
    cut = [(html.unescape(full), html.unescape(shown)) for full, shown in labels if shown.endswith("…")]
    assert cut, "the long title should have been shortened"
    for full, shown in cut:
        assert full.startswith(shown[:-1].rstrip())
        assert charts.text_width(shown, charts.LABEL_SIZE) <= 300 - 14
    assert not re.search(r"&[a-z#0-9]*…", hostile_html)


def test_report_without_run_report_reads_the_load_history(sample_load, sample_dir):
    wh, _ = sample_load
    text = report.build(wh)
    summary = text[text.index('id="summary"') : text.index("</section>")]
    assert str(sample_dir) in summary and "succeeded" in summary
    assert f"All {len(quality.checks(wh))} checks passed." in text


def test_report_without_any_load_history_says_what_is_not_known(tmp_path, sample_dir):
    with connect(f"duckdb:///{tmp_path}/nohistory.duckdb") as wh:
        pipeline.run(wh, sample_dir)
        wh.execute("drop table load_runs")
        text = report.build(wh)
    assert "not recorded" in text
    assert "staging_events" in text  # what the warehouse does know: rows staged


def test_report_shows_the_newest_run_and_its_rejects(tmp_path):
    from tests.helpers.records import event, song, write_source

    src = write_source(tmp_path / "src <&> x", songs=[song()], events=[event()])
    with connect(f"duckdb:///{tmp_path}/runs.duckdb") as wh:
        pipeline.run(wh, src)
        bad = src / "log_data" / "2018" / "11" / "bad <b>\x1b[31m.json"
        bad.write_text('{"oops\n{"also": "bad"}\n')
        pipeline.run(wh, src, max_errors=5)
        text = report.build(wh)
    summary = text[text.index('id="summary"') : text.index("</section>")]
    assert "src &lt;&amp;&gt; x" in summary
    # as a run's own report says them (tester finding: no files, a raw ESC, microseconds and no zone)
    assert "\x1b" not in text and "bad &lt;b&gt;\\x1b[31m.json:1: malformed JSON" in summary
    assert re.search(
        r"<th scope=\"row\">Loaded</th><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(run, succeeded\)<", summary
    )
    assert '<tr><td class="">events</td><td class="num">1</td><td class="num">2</td>' in summary
    assert '<div class="figure">2</div>' in summary  # rejected records of the newest run
    assert "input records the latest load did not load" in summary  # one load's count, said so
    assert (
        "bad &lt;b&gt;\\x1b[31m.json:2: field &#x27;ts&#x27;: required field is missing" in summary
        or "bad &lt;b&gt;\\x1b[31m.json:2: field 'ts': required field is missing" in summary
    )


SCRIPT = "<script>alert(1)</script>"


def test_every_field_of_the_page_renders_script_as_text():
    # Hand-made page parts with a script in every kind of field the template prints: a question's
    # name, title and description, a column and a value, a chart's error, the load's facts and
    # rejects, a check, the warehouse. None may become a tag; each must show as text.
    from types import SimpleNamespace

    from sparkify.report.figures import Question
    from sparkify.report.history import LoadInfo
    from sparkify.report.page import render

    def broken_chart(result):
        raise KeyError(f"column {SCRIPT!r}")

    query = analytics.Query(name=f"q{SCRIPT}", description=SCRIPT, ordered=None, sql=f"-- {SCRIPT}\nselect 1")
    result = analytics.Result([f"col{SCRIPT}"], [(SCRIPT,), (1.5,)])
    load = LoadInfo(
        "load_runs",
        facts=[(f"Source{SCRIPT}", SCRIPT)],
        inputs=[[SCRIPT, 1, 2, 3, 4]],
        rejected=5,
        rejects=[f"{SCRIPT}.json:1: field {SCRIPT!r}: {SCRIPT}"],
        history=result,
    )
    check = quality.CheckResult(quality.Check(f"unique:{SCRIPT}", SCRIPT, "t", SCRIPT, "select 0"), 1)
    wh = SimpleNamespace(name=SCRIPT, display_url=f"duckdb:///{SCRIPT}")
    text = render(
        wh,
        {query.name: query},
        {query.name: result},
        [check],
        load,
        dt.datetime(2018, 11, 1),
        questions=(Question(query.name, SCRIPT, broken_chart),),
    )
    parsed = _Collector()
    parsed.feed(text)
    assert "script" not in {tag for tag, _ in parsed.tags}
    assert SCRIPT not in text
    shown = "".join(parsed.text)
    # the question's title and description, the column, a value, the chart's error, a fact, a reject,
    # the check's description and name, the engine and the warehouse URL
    assert shown.count(SCRIPT) >= 12, shown


def test_report_on_empty_tables(tmp_path):
    with connect(f"duckdb:///{tmp_path}/empty.duckdb") as wh:
        pipeline.create_tables(wh)
        text = report.build(wh)
    assert "no rows" in text
    assert '<svg class="chart"' not in text


def test_report_needs_the_star_tables(tmp_path):
    with (
        connect(f"duckdb:///{tmp_path}/none.duckdb") as wh,
        pytest.raises(MissingTableError, match="sparkify run"),
    ):
        report.build(wh)


def test_truncate_fits_the_width():
    for text in ("short", LONG_TITLE, "W" * 80, "i" * 200, "日本語のタイトル" * 10):
        for width in (50, 120, 286):
            shown = charts.truncate(text, width, 13)
            assert shown == text or shown.endswith("…")
            assert shown == text or charts.text_width(shown, 13) <= width


def test_ticks_are_round_and_cover_the_maximum():
    for vmax in (0, 1, 7, 37, 542, 1364, 14896):
        ticks = charts.round_ticks(vmax)
        assert ticks[0] == 0 and ticks[-1] >= vmax
        step = ticks[1] - ticks[0]
        assert str(int(step)).rstrip("0") in ("1", "2", "5")


# -- the CLI ----------------------------------------------------------------------------------------


def _cli(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_report_command_writes_the_file_and_prints_its_path(tmp_path, capsys):
    from tests.helpers.records import event, song, write_source

    url = f"duckdb:///{tmp_path}/own.duckdb"  # its own warehouse: the module's one is held open
    with connect(url) as wh:
        pipeline.run(wh, write_source(tmp_path / "src", songs=[song()], events=[event()]))
    out_path = tmp_path / "sub" / "r.html"
    code, out, err = _cli(capsys, "report", "--warehouse", url, "--out", str(out_path))
    assert (code, out, err) == (0, f"Report: {out_path}\n", "")
    assert out_path.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_report_command_on_a_warehouse_without_tables(tmp_path, capsys):
    import duckdb

    duckdb.connect(str(tmp_path / "x.duckdb")).close()  # a database, without sparkify's tables
    code, out, err = _cli(
        capsys, "report", "-w", f"duckdb:///{tmp_path}/x.duckdb", "-o", str(tmp_path / "r.html")
    )
    assert (code, out) == (2, "")
    assert err.startswith("Error: Tables users, songs, artists, songplays, time do not exist")
    assert "Run `sparkify run` first" in err
    assert not (tmp_path / "r.html").exists()


def test_report_command_has_an_example_in_its_help(capsys):
    code, out, _ = _cli(capsys, "report", "--help")
    assert code == 0
    assert "Example:\n    sparkify report\n" in out


def test_run_writes_the_report_when_asked(tmp_path, sample_dir, capsys):
    out_path = tmp_path / "run-report.html"
    code, out, _ = _cli(
        capsys,
        "run",
        "-q",
        "--source",
        str(sample_dir),
        "-w",
        f"duckdb:///{tmp_path}/w.duckdb",
        "--report",
        str(out_path),
    )
    assert code == 0
    assert out.splitlines()[-1] == f"Report: {out_path}"
    text = out_path.read_text(encoding="utf-8")
    assert "From the run that just finished." in text
    assert html.escape(str(sample_dir)) in text


# -- what the numbers should be, computed without sparkify.report -------------------------------------


def _events(sample_dir: Path) -> list[dict]:
    events = []
    for path in sorted((sample_dir / "log_data").rglob("*.json")):
        events += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return events


def _utc(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts / 1000, tz=dt.UTC)


def expected_results(sample_dir: Path, wh) -> dict[str, list[tuple]]:
    """Every catalog query's answer on the sample. Time, level, user and location answers come
    from the raw event JSON; song and artist answers from SQL written here on the star tables."""
    events = _events(sample_dir)
    seen, plays = set(), []
    for e in events:
        key = (e["userId"], e["sessionId"], e["itemInSession"])
        if e["page"] == "NextSong" and e["userId"] != "" and key not in seen:
            seen.add(key)
            plays.append(e)
    out: dict[str, list[tuple]] = {}
    hours = Counter(_utc(e["ts"]).hour for e in plays)
    out["plays_by_hour"] = sorted(hours.items())
    names = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
    weekdays = Counter((_utc(e["ts"]).weekday() + 1) % 7 for e in plays)
    out["plays_by_weekday"] = [(d, names[d], n) for d, n in sorted(weekdays.items())]
    days: dict[dt.date, Counter] = defaultdict(Counter)
    for e in plays:
        days[_utc(e["ts"]).date()][e["level"]] += 1
    out["plays_per_day"] = [(d, c["free"] + c["paid"], c["free"], c["paid"]) for d, c in sorted(days.items())]
    levels = sorted({e["level"] for e in plays})
    out["level_split"] = [
        (
            lv,
            sum(e["level"] == lv for e in plays),
            len({e["userId"] for e in plays if e["level"] == lv}),
            sum(e["level"] == lv for e in plays) / len(plays),
        )
        for lv in levels
    ]
    latest = {}
    for e in events:
        if e["userId"]:
            rank = (e["ts"], e["sessionId"], e["itemInSession"])
            if e["userId"] not in latest or rank > latest[e["userId"]][0]:
                latest[e["userId"]] = (rank, e)
    per_user = Counter(int(e["userId"]) for e in plays)
    out["most_active_users"] = [
        (u, latest[str(u)][1]["firstName"], latest[str(u)][1]["lastName"], latest[str(u)][1]["level"], n)
        for u, n in sorted(per_user.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    ]
    locations = Counter(e["location"] for e in plays if e["location"] is not None)
    out["top_locations"] = sorted(locations.items(), key=lambda kv: (-kv[1], kv[0]))[:10]

    def sql(text):
        return [tuple(r) for r in wh.query(text)[1]]

    counts = {
        t: sql(f'select count(*) from "{t}"')[0][0]
        for t in ("songplays", "users", "songs", "artists", "time")
    }
    out["row_counts"] = list(counts.items())
    (matched,) = sql("select count(*) from songplays where song_id is not null")[0]
    out["matched_share"] = [(len(plays), matched, matched / len(plays))]
    out["top_songs"] = sql(
        "select sp.song_id, s.title, a.name, count(*) as n from songplays sp join songs s on s.song_id = sp.song_id "
        "left join artists a on a.artist_id = s.artist_id group by 1, 2, 3 order by n desc, sp.song_id limit 10"
    )
    out["top_artists"] = sql(
        "select sp.artist_id, a.name, count(*) as n from songplays sp "
        "left join artists a on a.artist_id = sp.artist_id "
        "where sp.artist_id is not null group by 1, 2 order by n desc, sp.artist_id limit 10"
    )
    return out


def test_expected_results_agree_with_the_published_facts(sample_load, sample_dir):
    """A check on the checker: the independent numbers match SOURCE.md's computed facts."""
    wh, _ = sample_load
    expected = expected_results(sample_dir, wh)
    assert sum(n for _, n in expected["plays_by_hour"]) == 6820
    assert expected["matched_share"][0][:2] == (6820, 319)
    assert set(expected) == set(analytics.catalog())


# -- in a real browser ------------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    """The Chromium to drive, or skip (fail under CI=true) saying what is missing."""
    reasons = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("the playwright package is not installed (pip install -e '.[dev]')")
    path = os.environ.get("SPARKIFY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        reasons.append("no chromium on PATH (run scripts/install-chromium.sh, or set SPARKIFY_CHROMIUM)")
    if reasons:
        message = "browser test needs Chromium and Playwright: " + "; ".join(reasons)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " -- CI=true, so this must not skip")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium with a fresh profile, as a Playwright persistent context."""
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1366, "height": 800},
        )
        yield context
        context.close()


class Visit:
    """One page load, with everything the page tried to fetch or complain about."""

    def __init__(self, context, path: Path):
        self.page = context.new_page()
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on(
            "console", lambda m: m.type in ("error", "warning") and self.errors.append(f"{m.type}: {m.text}")
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(self.url, wait_until="load")

    def close(self):
        self.page.close()


@pytest.fixture(scope="module")
def sample_page(browser, sample_report):
    visit = Visit(browser, sample_report)
    yield visit
    visit.close()


READ_TABLES = """() => Object.fromEntries([...document.querySelectorAll('table.data')].map(t => [
  t.dataset.query,
  {columns: [...t.querySelectorAll('thead th')].map(th => th.textContent.trim()),
   rows: [...t.querySelectorAll('tbody tr')].map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent.trim()))}
]))"""

READ_CHARTS = """() => [...document.querySelectorAll('figure.chart-box')].map(f => {
  const svg = f.querySelector('svg');
  const r = svg.getBoundingClientRect();
  return {query: f.dataset.query, width: r.width, height: r.height,
    bars: [...svg.querySelectorAll('rect.bar')].map(b => {
      const br = b.getBoundingClientRect();
      return {label: b.dataset.label, series: b.dataset.series || null, value: Number(b.dataset.value),
              width: br.width, height: br.height};
    })};
})"""

# Every text box in every chart: inside its chart, clear of other texts, and clear of the bars
# (the percentages printed on a share bar excepted).
FIND_OVERLAPS = """() => {
  const problems = [];
  const box = el => el.getBoundingClientRect();
  const cross = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
                          Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
  for (const svg of document.querySelectorAll('svg.chart')) {
    const name = svg.closest('figure').dataset.query;
    const s = box(svg);
    const shown = t => [...t.childNodes].filter(n => n.nodeName !== 'title').map(n => n.textContent).join('');
    const texts = [...svg.querySelectorAll(':scope > text')].map(t => ({el: t, r: box(t), text: shown(t)}));
    const bars = [...svg.querySelectorAll('rect.bar')].map(box);
    for (const t of texts) {
      if (t.r.left < s.left - 1 || t.r.right > s.right + 1 || t.r.top < s.top - 1 || t.r.bottom > s.bottom + 1)
        problems.push(`${name}: "${t.text}" sticks out of the chart`);
      if (!t.el.classList.contains('in-bar') && bars.some(b => cross(t.r, b)))
        problems.push(`${name}: "${t.text}" overlaps a bar`);
    }
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++)
        if (cross(texts[i].r, texts[j].r)) problems.push(`${name}: "${texts[i].text}" overlaps "${texts[j].text}"`);
  }
  return problems;
}"""


def _parse(text: str):
    """A number, percentage, date or text as shown in a table cell."""
    if text in ("–", ""):
        return None
    if re.fullmatch(r"-?[\d,]+", text):
        return int(text.replace(",", ""))
    if re.fullmatch(r"-?[\d.]+%", text):
        return float(text[:-1]) / 100
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return dt.date.fromisoformat(text)
    return text


def _same(shown, expected) -> bool:
    if isinstance(expected, float):
        return shown is not None and abs(shown - expected) <= 0.0005  # shares are shown to 0.1 %
    return shown == expected


def test_page_loads_offline_without_errors(sample_page, tmp_path):
    page = sample_page.page
    assert sample_page.errors == []
    assert sample_page.dialogs == []
    assert [u for u in sample_page.requests if u != sample_page.url] == []
    assert page.title().startswith("Sparkify analytics report")
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    print(f"screenshot: {shot}")


def test_every_chart_renders_at_a_readable_size(sample_page):
    charts = sample_page.page.evaluate(READ_CHARTS)
    charted = {c["query"] for c in charts}
    assert charted == {
        "plays_per_day", "plays_by_hour", "plays_by_weekday", "level_split", "matched_share",
        "top_songs", "top_artists", "most_active_users", "top_locations",
    }  # fmt: skip
    for chart in charts:
        assert 500 <= chart["width"] <= 800, chart["query"]
        assert 80 <= chart["height"] <= 700, chart["query"]
        assert chart["bars"], chart["query"]
        assert any(b["width"] > 1 and b["height"] > 1 for b in chart["bars"]), chart["query"]


def test_tables_fit_without_sideways_scrolling(sample_page):
    overflowing = sample_page.page.evaluate(
        "() => [...document.querySelectorAll('.table-box')]"
        ".filter(b => b.scrollWidth > b.clientWidth + 1).map(b => b.querySelector('table').dataset.query)"
    )
    assert overflowing == []
    assert sample_page.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_chart_labels_do_not_overlap(sample_page):
    assert sample_page.page.evaluate(FIND_OVERLAPS) == []


def test_tables_show_the_independently_computed_numbers(sample_page, sample_load, sample_dir):
    wh, _ = sample_load
    expected = expected_results(sample_dir, wh)
    tables = sample_page.page.evaluate(READ_TABLES)
    catalog = analytics.catalog()
    for name in catalog:
        shown = tables[name]
        want = expected[name]
        assert len(shown["rows"]) == len(want), name
        for row_shown, row_want in zip(shown["rows"], want):
            values = [_parse(v) for v in row_shown]
            assert all(_same(s, w) for s, w in zip(values, row_want)), (
                f"{name}: shows {row_shown}, expected {row_want}"
            )
    # the run's inputs and the checks
    assert [r[0] for r in tables["inputs"]["rows"]] == ["songs", "events"]
    assert [_parse(v) for v in tables["inputs"]["rows"][1][1:]] == [30, 8056, 8056, 0]
    assert len(tables["checks"]["rows"]) == len(quality.checks(wh))
    assert {r[0] for r in tables["checks"]["rows"]} == {"pass"}


def test_summary_cards_show_the_row_counts(sample_page, sample_load, sample_dir):
    wh, _ = sample_load
    cards = sample_page.page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.card')].map(c => "
        "[c.querySelector('.label').textContent, c.querySelector('.figure').textContent]))"
    )
    for table in ("songplays", "users", "songs", "artists"):
        assert _parse(cards[table]) == wh.query(f'select count(*) from "{table}"')[1][0][0]
    assert cards["matched plays"] == f"{319 / 6820:.1%}"
    assert cards["rejected records"] == "0"
    n = len(quality.checks(wh))
    assert cards["checks"] == f"{n} / {n}"


def test_chart_bars_draw_the_independently_computed_numbers(sample_page, sample_load, sample_dir):
    wh, _ = sample_load
    expected = expected_results(sample_dir, wh)
    charts = {c["query"]: c for c in sample_page.page.evaluate(READ_CHARTS)}

    hours = dict(expected["plays_by_hour"])
    bars = charts["plays_by_hour"]["bars"]
    assert [(int(b["label"]), b["value"]) for b in bars] == [(h, hours.get(h, 0)) for h in range(24)]
    _assert_proportional(bars, "height")

    weekdays = [n for _, _, n in expected["plays_by_weekday"]]
    assert [b["value"] for b in charts["plays_by_weekday"]["bars"]] == weekdays

    days = charts["plays_per_day"]["bars"]
    assert [b["value"] for b in days if b["series"] == "paid"] == [p for *_, p in expected["plays_per_day"]]
    assert [b["value"] for b in days if b["series"] == "free"] == [
        f for _, _, f, _ in expected["plays_per_day"]
    ]

    songs = charts["top_songs"]["bars"]
    assert [(b["label"], b["value"]) for b in songs] == [(t, n) for _, t, _, n in expected["top_songs"]]
    _assert_proportional(songs, "width")
    assert [b["value"] for b in charts["top_artists"]["bars"]] == [n for *_, n in expected["top_artists"]]

    plays, matched, _ = expected["matched_share"][0]
    assert [b["value"] for b in charts["matched_share"]["bars"]] == [matched, plays - matched]


def _assert_proportional(bars, dimension):
    ratios = [b[dimension] / b["value"] for b in bars if b["value"]]
    assert max(ratios) - min(ratios) <= 0.02 * max(ratios) + 1 / min(b["value"] for b in bars if b["value"])


def test_page_reads_on_a_narrow_window_and_prints(browser, sample_report, tmp_path):
    visit = Visit(browser, sample_report)
    page = visit.page
    try:
        page.set_viewport_size({"width": 800, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
        assert page.evaluate("getComputedStyle(document.querySelector('.table-box')).overflow") == "visible"
        assert page.evaluate(FIND_OVERLAPS) == []
        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
        page.screenshot(path=str(tmp_path / "report-print.png"), full_page=True)
    finally:
        visit.close()
    assert visit.errors == []


def test_hostile_report_in_the_browser(browser, hostile_html, tmp_path):
    path = tmp_path / "hostile.html"
    path.write_text(hostile_html, encoding="utf-8")
    visit = Visit(browser, path)
    try:
        page = visit.page
        text = page.evaluate("document.body.innerText")
        for raw in (HOSTILE_TITLE, HOSTILE_LOCATION):
            assert raw in text
        assert page.evaluate("document.querySelectorAll('script, img, b').length") == 0
        labels = page.evaluate(
            "() => [...document.querySelectorAll('figure[data-query=top_songs] text.label')]"
            ".map(t => t.lastChild.textContent)"
        )
        assert labels[0] == HOSTILE_TITLE[: len(labels[0]) - 1] + "…" or labels[0] == HOSTILE_TITLE
        assert any(label.endswith("…") for label in labels)
        assert page.evaluate(FIND_OVERLAPS) == []
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
    finally:
        visit.close()
    assert visit.dialogs == [] and visit.errors == []
    assert [u for u in visit.requests if u != visit.url] == []


def test_the_rejected_card_says_whose_count_it_is(hostile_html):
    # built with this run's report: the count is this run's (a tester read a 0 as "nothing ever rejected")
    assert "input records this run did not load" in hostile_html
