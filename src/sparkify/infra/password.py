"""The cluster's master password: where it comes from (environment, file, generated), and what
Redshift accepts."""

from __future__ import annotations

import os
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path

from sparkify.errors import ConfigError

PASSWORD_ENV = "SPARKIFY_REDSHIFT_PASSWORD"
"""Environment variable holding the cluster's master password; when unset, one is generated."""

# -- the password ---------------------------------------------------------------------------------

_PASSWORD_FORBIDDEN = set("'\"\\/@ ")


def password_problem(password: str) -> str | None:
    """Why Redshift would refuse ``password`` as a master password, or None. Never quotes it."""
    if not 8 <= len(password) <= 64:
        return "it must be 8 to 64 characters long"
    if not (
        any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
    ):
        return "it needs an uppercase letter, a lowercase letter and a digit"
    if any(c in _PASSWORD_FORBIDDEN or not 33 <= ord(c) <= 126 for c in password):
        return "it may hold only printable ASCII other than ' \" \\ / @ and space"
    return None


def generate_password(length: int = 32) -> str:
    """A random password Redshift accepts: letters and digits, at least one of each kind."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if password_problem(candidate) is None:
            return candidate


def default_password_file(cluster_id: str) -> Path:
    """``$XDG_CONFIG_HOME/sparkify/<cluster>.redshift-password`` (default ``~/.config``): outside any
    repository, so it is never committed by accident."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sparkify" / f"{cluster_id}.redshift-password"


@dataclass
class Password:
    """Where the master password comes from: :data:`PASSWORD_ENV`, else ``file``, else generated into
    ``file`` (mode 0600). Read or generated only when a cluster is created: :meth:`get`."""

    file: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    _value: str | None = field(default=None, repr=False)

    @property
    def from_env(self) -> bool:
        return bool(self.env.get(PASSWORD_ENV))

    @property
    def source(self) -> str:
        """Where the password comes from, for people. Never the password."""
        if self.from_env:
            return f"from ${PASSWORD_ENV}"
        if self.file.is_file():
            return f"from {self.file}"
        return f"generated into {self.file} (mode 0600)"

    def get(self) -> str:
        """The password; generates and stores it (mode 0600) when neither the variable nor the file has one."""
        if self._value is None:
            self._value = self._resolve()
        return self._value

    def _resolve(self) -> str:
        if self.from_env:
            value, where = self.env[PASSWORD_ENV], f"${PASSWORD_ENV}"
        elif self.file.is_file():
            # Tighten a file someone loosened: it holds a database password.
            os.chmod(self.file, 0o600)
            value, where = self.file.read_text(encoding="utf-8").strip(), str(self.file)
        else:
            value, where = generate_password(), str(self.file)
            self._write(value)
        problem = password_problem(value)
        if problem:
            fix = (
                f"set a valid one, or unset {PASSWORD_ENV}"
                if self.from_env
                else "fix it, or delete the file to generate one"
            )
            raise ConfigError(
                f"The Redshift password in {where} is not valid: {problem}. {fix[:1].upper()}{fix[1:]}."
            )
        return value

    def _write(self, value: str) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL: never overwrite a password that may already belong to a cluster.
        fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (value + "\n").encode("ascii"))
        finally:
            os.close(fd)
