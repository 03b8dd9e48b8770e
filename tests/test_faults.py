"""Failures whose outcome is known, retries that are safe: a connection lost at the commit or during
the checks, a frozen lock holder (--wait-timeout), a full disk or spool folder, a lock file owned by
another user. Faults are real: sessions terminated on the server, small tmpfs mounts, another uid."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sparkify import pipeline
from sparkify.errors import ChecksNotRun, ExitCode
from sparkify.warehouse import connect
from tests.helpers.records import event, song, write_source

SPARKIFY = str(Path(sys.executable).parent / "sparkify")


def sparkify(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")} | (env or {})
    return subprocess.run([SPARKIFY, *args], capture_output=True, text=True, env=full_env, timeout=300, **kw)


@pytest.fixture
def src(tmp_path):
    return write_source(
        tmp_path / "src", songs=[song()], events=[event(), event(ts=1541105831796, itemInSession=1)]
    )


def terminate(postgres_url: str, pid: int) -> None:
    """End one server session from outside, as a server restart or a network cut would."""
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(%s)", [pid])


# -- PostgreSQL: know whether the load committed before retrying ------------------------------------


def test_connection_lost_right_after_the_commit_is_not_loaded_twice(postgres_url, pg_schema, src):
    with connect(postgres_url, schema=pg_schema) as wh:
        execute = wh.execute
        cut = []

        def execute_then_cut(statement, params=None):
            execute(statement, params)
            if statement == "commit" and not cut:
                # the server committed; the client never hears so: its session dies now
                cut.append(wh.conn.info.backend_pid)
                terminate(postgres_url, cut[0])
                execute("select 1")  # raises the driver's own lost-connection error

        wh.execute = execute_then_cut
        report = pipeline.run(wh, src)
        assert cut  # the fault happened
        _, runs = wh.query("select load_id, status from load_runs")
        assert runs == [(report.load_id, "succeeded")]  # one outcome, no second attempt
        _, staged = wh.query("select count(*) from staging_events")
        assert staged == [(2,)]
        assert not report.checks_failed


def test_connection_lost_during_the_checks_says_loaded_checks_not_run(
    postgres_url, pg_schema, src, monkeypatch
):
    from sparkify import quality

    run_checks = quality.run_checks

    def cut_then_check(wh):
        terminate(postgres_url, wh.conn.info.backend_pid)
        return run_checks(wh)

    monkeypatch.setattr(quality, "run_checks", cut_then_check)
    with connect(postgres_url, schema=pg_schema) as wh, pytest.raises(ChecksNotRun) as exc:
        pipeline.run(wh, src)
    message = str(exc.value)
    assert message.startswith("Loaded (load id ") and "; the checks did not run: " in message
    assert "terminating connection due to administrator command" in message  # what the server said
    assert message.endswith("Run `sparkify check` to run them.") and "\n" not in message
    assert exc.value.exit_code == ExitCode.TEMPFAIL
    monkeypatch.setattr(quality, "run_checks", run_checks)
    with connect(postgres_url, schema=pg_schema) as wh:
        _, runs = wh.query("select load_id, status from load_runs")
        assert runs == [(message.split("load id ", 1)[1].split(")", 1)[0], "succeeded")]
        assert not [r for r in pipeline.check(wh) if not r.passed]


# -- --wait-timeout ---------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_wait_timeout_gives_up_with_the_temporary_failure_code(engine, tmp_path, src, request):
    if engine == "duckdb":
        target = ["-w", str(tmp_path / "w.duckdb")]
        holder = connect(str(tmp_path / "w.duckdb"))
        what = str(tmp_path / "w.duckdb")
    else:
        url, schema = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        target = ["-w", url, "--schema", schema]
        holder = connect(url, schema=schema)
        what = f"schema {schema} of {url}"
    with holder:  # a frozen holder: it never lets go while the other process waits
        proc = sparkify("run", "-q", "--wait-timeout", "0.5", "-s", str(src), *target)
        # a command that writes (on PostgreSQL one that only reads does not wait at all)
        env_proc = sparkify("transform", "-q", *target, env={"SPARKIFY_WAIT_TIMEOUT": "0.2"})
    assert proc.returncode == 75, proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        f"Error: Gave up after waiting 0.5s (--wait-timeout) for another sparkify process using {what}. "
        "Retry later, or find the process that holds it."
    )
    assert env_proc.returncode == 75 and "waiting 0.2s" in env_proc.stderr
    assert (
        sparkify("run", "-q", "--wait-timeout", "0.5", "-s", str(src), *target).returncode == 0
    )  # free again


# -- full disks, foreign lock files -----------------------------------------------------------------


@contextlib.contextmanager
def tiny_disk(size: str):
    """A fresh tmpfs of ``size`` (needs root: skipped, and reported as skipped, without)."""
    mount = Path(tempfile.mkdtemp(prefix="sparkify-tiny-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)
        mount.rmdir()


def test_disk_full_at_commit_is_one_line_naming_the_file(tmp_path, src, sample_dir):
    with tiny_disk("4m") as disk:
        db = disk / "w.duckdb"
        assert sparkify("run", "-q", "-s", str(src), "-w", str(db)).returncode == 0
        proc = sparkify("run", "-q", "-s", str(sample_dir), "-w", str(db))  # 65 MB of JSON: no room
        assert proc.returncode == 74, proc.stderr
        assert (
            proc.stderr.count("\n") == 1
            and str(db) in proc.stderr
            and "No space left on device" in proc.stderr
        )
        assert "The disk is full: free space there" in proc.stderr
        runs = sparkify("runs", "--json", "-w", str(db))
        assert runs.returncode == 0 and runs.stdout.count('"succeeded"') == 1  # the earlier load stands
        assert sparkify("check", "-q", "-w", str(db)).stdout == "Checks: 33 of 33 passed.\n"


def test_a_full_spool_folder_is_one_line_naming_it(tmp_path, sample_dir):
    with tiny_disk("1m") as disk:
        proc = sparkify(
            "run", "-q", "-s", str(sample_dir), "-w", str(tmp_path / "w.duckdb"), env={"TMPDIR": str(disk)}
        )
    assert proc.returncode == 74, proc.stderr
    assert proc.stderr.startswith(f"Error: Cannot write the spool folder {disk}/sparkify-spool-")
    assert "No space left on device. Set TMPDIR to a folder on a disk with room" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_a_lock_file_owned_by_another_user_is_named(src):
    if os.geteuid() != 0:
        pytest.skip("needs root, to run sparkify as another user")
    shared = Path(tempfile.mkdtemp(prefix="sparkify-shared-"))
    try:
        shared.chmod(0o777)
        db = shared / "w.duckdb"
        assert sparkify("run", "-q", "-s", str(src), "-w", str(db)).returncode == 0  # root's lock file
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")} | {"HOME": str(shared)}
        reach = subprocess.run(
            [*nobody, SPARKIFY, "--version"], capture_output=True, text=True, env=env, cwd=shared
        )
        if (
            reach.returncode != 0
        ):  # e.g. a checkout under a mode-0700 folder (mktemp -d): nobody cannot enter it
            pytest.skip(f"user nobody cannot run {SPARKIFY} from this checkout: {reach.stderr.strip()}")
        proc = subprocess.run(
            [*nobody, SPARKIFY, "check", "-w", str(db)],
            capture_output=True,
            text=True,
            env=env,
            cwd=shared,
            timeout=120,
        )
        assert proc.returncode == 74, proc.stderr
        assert proc.stderr == (
            f"Error: Cannot open the lock file {db}.lock (it belongs to root): Permission denied. Run sparkify as "
            f"the user who owns the warehouse, or remove {db}.lock if no sparkify process is running.\n"
        )
    finally:
        import shutil

        shutil.rmtree(shared)
