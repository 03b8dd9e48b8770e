"""The default engine works where POSIX-only modules do not exist (Windows has no ``fcntl``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_duckdb_imports_and_locks_without_fcntl(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["fcntl"] = None  # as on Windows: `import fcntl` raises ImportError
        from sparkify.errors import WarehouseBusyError
        from sparkify.warehouse import connect

        db = {str(tmp_path / "w.duckdb")!r}
        first = connect(db)
        try:
            connect(db, wait=False)
        except WarehouseBusyError as exc:
            print("busy:", exc)
        first.close()
        connect(db, wait=False).close()  # released by close()
        print("reopened")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"busy: Another sparkify process is using {tmp_path / 'w.duckdb'}. Wait for it to finish, "
        "or run with --wait to queue behind it.",
        "reopened",
    ]
