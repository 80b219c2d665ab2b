"""Display formats of the admin and templates: ISO dates and times with seconds and the time
zone, so that deliveries, attempts and runs a few seconds apart can be told apart."""

from __future__ import annotations

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
TIME_FORMAT = "H:i:s"
