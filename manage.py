#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

Beside `make run`, commands use the development settings it saved in var/run.env (unless DEBUG
is exported). A setting that is missing or wrong is one line on stderr and exit status 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from eqms_integration import runenv

BASE_DIR = Path(__file__).resolve().parent


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eqms_integration.settings")
    run_env = runenv.var_dir(BASE_DIR) / runenv.FILE_NAME
    applied = runenv.load(run_env)
    if applied:
        sys.stderr.write(
            f"manage.py: using the settings `make run` saved in {run_env} "
            f"({', '.join(applied)}); export DEBUG to use your own.\n"
        )
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"manage.py: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
