"""The service's settings, with static files collected under the run's EQMS_VAR_DIR (DEBUG is
off in the fuzz run, as in production, so the admin's login page needs them collected)."""

from __future__ import annotations

from eqms_integration.settings import *  # noqa: F403
from eqms_integration.settings import VAR_DIR

STATIC_ROOT = VAR_DIR / "static"
