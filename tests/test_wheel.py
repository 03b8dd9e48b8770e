"""Installed from a wheel: the sample and log_json_path.json ship inside the package; a wheel built
from this checkout, installed into a fresh virtual environment, runs `sparkify run` and the README's
Python API example from an empty folder."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sparkify-sample"
README = (REPO / "README.md").read_text()


def readme_star_rows() -> dict[str, str]:
    """The star table's row counts as the README's quickstart shows them (``'97'``, ``'14,896'``)."""
    block = README.split("## Quickstart", 1)[1].split("Star schema", 1)[1].split("└", 1)[0]
    return dict(re.findall(r"│ (\w+) +│ +([\d,]+) │", block))


def readme_python_example() -> str:
    section = README.split("### Python API", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_archive_holds_exactly_the_sample_folder():
    from sparkify import sample

    archive = sample.archive_bytes()
    assert len(archive) < 2_000_000
    shipped = {}
    import io

    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:xz") as tar:
        for member in tar:
            assert member.isfile(), member.name
            shipped[member.name.removeprefix("sparkify-sample/")] = hashlib.sha256(
                tar.extractfile(member).read()
            ).hexdigest()
    on_disk = {
        p.relative_to(SAMPLE).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in SAMPLE.rglob("*")
        if p.is_file()
    }
    assert shipped == on_disk  # re-pack with scripts/pack-sample.py when the folder changes
    assert "SOURCE.md" in shipped


def test_log_json_path_ships_and_generate_writes_it(tmp_path):
    from sparkify import sample
    from sparkify.generate import generate
    from sparkify.warehouse.redshift import json_paths_document

    shipped = sample.json_paths_text()
    assert shipped == (SAMPLE / "log_json_path.json").read_text()
    assert json.loads(shipped) == json.loads(json_paths_document())
    generate(tmp_path / "g", events=50, songs=5, users=5)
    assert (tmp_path / "g" / "log_json_path.json").read_text() == shipped


def test_unpacked_once_into_the_cache_with_provenance(tmp_path, monkeypatch):
    from sparkify import sample

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = sample.path()
    assert first.parent == tmp_path / "cache" / "sparkify"
    assert (first / "SOURCE.md").read_text() == (SAMPLE / "SOURCE.md").read_text()
    assert "sha256" in (first / "UNPACKED.md").read_text()
    assert len(list((first / "song_data").rglob("*.json"))) == 14896
    (first / "song_data" / "marker").write_text("kept")
    assert sample.path() == first and (first / "song_data" / "marker").exists()  # not unpacked again


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel built from this checkout installed in it. Its third-party
    dependencies (duckdb, click, rich, pydantic) are borrowed from the test's environment through a
    .pth file, so no network is needed; sparkify itself comes only from the wheel."""
    root = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(REPO)], check=True, capture_output=True
    )
    [wheel] = (root / "dist").glob("sparkify-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root / "venv"


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKIFY_", "PYTHON", "VIRTUAL_ENV"))}
    return env | {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


def test_wheel_installs_and_runs_from_an_empty_folder(installed, tmp_path):
    env = clean_env(tmp_path)
    python = installed / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import sparkify, pathlib; print(pathlib.Path(sparkify.__file__).parent)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(installed)), where  # the installed package, not this checkout
    assert (Path(where) / "py.typed").is_file()
    # the report's template and stylesheet are package data (report/page.py reads them at run time)
    assert (Path(where) / "report" / "templates" / "report.html.j2").is_file()
    assert (Path(where) / "report" / "report.css").is_file()

    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run(
        [str(installed / "bin" / "sparkify"), "run"],
        capture_output=True,
        text=True,
        env=env,
        cwd=empty,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for table, rows in readme_star_rows().items():
        assert re.search(rf"│ {table} +│ +{rows} │", proc.stdout), (table, rows)
    assert "Checks: 33 of 33 passed." in proc.stdout
    assert "Loaded 22,952 records (0 rejected) from " in proc.stdout
    assert sorted(p.name for p in empty.iterdir()) == ["sparkify.duckdb", "sparkify.duckdb.lock"]

    api = tmp_path / "api"
    api.mkdir()
    (api / "example.py").write_text(readme_python_example())
    proc = subprocess.run(
        [str(python), "example.py"], capture_output=True, text=True, env=env, cwd=api, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    first, columns, top = proc.stdout.splitlines()
    load_id, songplays, failed = first.split()
    assert (
        len(load_id) == 32 and songplays == readme_star_rows()["songplays"].replace(",", "") and failed == "0"
    )
    assert columns == "['song_id', 'title', 'artist_name', 'plays']"
    expected_top = (REPO / "tests" / "expected" / "sample" / "top_songs.csv").read_text().splitlines()[1]
    assert top.startswith(f"('{expected_top.split(',')[0]}', ")
