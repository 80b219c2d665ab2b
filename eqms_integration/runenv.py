"""The settings `make run` serves with, kept in `var/run.env`, so that an operator command run
beside it (`.venv/bin/python manage.py run_sync 1`) uses the same ones with nothing exported.

`serve` writes the file when DEBUG is on (development only: a production process never leaves
its settings on disk). `manage.py` reads it only when DEBUG is not in the environment, and
says so on stderr, so exported settings always win and nothing is applied silently. Pure
standard library: it runs before Django is set up.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

FILE_NAME = "run.env"


def var_dir(base_dir: Path) -> Path:
    """Where settings keep SQLite, the file broker and this file (EQMS_VAR_DIR or ./var)."""
    return Path(os.environ.get("EQMS_VAR_DIR") or base_dir / "var").resolve()


def save(path: Path, names: Iterable[str]) -> list[str]:
    """Write the current values of these environment variables; returns the names written."""
    values = {name: os.environ[name] for name in sorted(set(names)) if name in os.environ}
    lines = [f"{name}={value}\n" for name, value in values.items() if "\n" not in value]
    path.parent.mkdir(parents=True, exist_ok=True)
    # Owner-only: the file may hold a SECRET_KEY exported for `make run`.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("# Written by `manage.py serve` (make run); read by manage.py beside it.\n")
        file.writelines(lines)
    return list(values)


def load(path: Path) -> list[str]:
    """Apply the file's values to variables not set in the environment; the names applied.
    Nothing is applied when DEBUG is set: the operator chose their own settings."""
    if "DEBUG" in os.environ or not path.is_file():
        return []
    applied = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name or name.startswith("#") or name in os.environ:
            continue
        os.environ[name] = value
        applied.append(name)
    return applied
