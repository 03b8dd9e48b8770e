"""A DuckDB warehouse in a folder nobody may write (a read-only mount, an archive) can still be read:
check, query, runs, report and analytics open it read-only without the lock file they cannot make
(tester finding: every one of them was exit 74, "run sparkify as the user who owns the warehouse")."""

from __future__ import annotations

import os

import pytest

from tests.conftest import sparkify
from tests.helpers.records import event, song, write_source


@pytest.fixture
def read_only_folder(capsys, cli_env, tmp_path, monkeypatch):
    """A loaded warehouse in ``tmp_path/ro``, then that folder made unwritable as a read-only mount
    makes it: ``os.access(folder, W_OK)`` False (root ignores a folder's mode bits, so the test
    cannot chmod it), and any file created there fails with EROFS."""
    import errno

    src = write_source(tmp_path / "src", songs=[song()], events=[event()])
    (tmp_path / "ro").mkdir()
    assert sparkify(capsys, "run", "-q", "-s", src, "-w", "ro/w.duckdb")[0] == 0
    (tmp_path / "ro" / "w.duckdb.lock").unlink()
    folder = str(tmp_path / "ro")
    real_access, real_open = os.access, os.open

    def access(path, mode, *args, **kwargs):
        if os.path.realpath(path) == folder and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):
        if os.path.dirname(os.path.realpath(path)) == folder and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os, "open", open_)
    return tmp_path / "ro"


@pytest.mark.parametrize(
    "command",
    [["check"], ["query", "select count(*) as n from songs"], ["runs"], ["analytics", "top_songs"]],
)
def test_reading_commands_work_without_a_lock_file(capsys, read_only_folder, command):
    code, out, err = sparkify(capsys, *command, "-w", "ro/w.duckdb")
    assert code == 0, err
    assert out
    assert sorted(p.name for p in read_only_folder.iterdir()) == ["w.duckdb"]  # no lock file made


def test_a_writing_command_says_the_file_system_is_read_only(capsys, read_only_folder, tmp_path):
    code, _, err = sparkify(capsys, "run", "-s", tmp_path / "src", "-w", "ro/w.duckdb")
    assert code == 74
    assert err == (
        f"Error: Cannot open the lock file {read_only_folder}/w.duckdb.lock: the warehouse is on a read-only "
        "file system. Commands that write need it writable; check, query, runs, report and analytics read "
        "it as it is.\n"
    )
