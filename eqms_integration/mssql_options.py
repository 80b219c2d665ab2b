"""Which client library reaches SQL Server.

mssql-django speaks to SQL Server through pyodbc (needing Microsoft's ODBC Driver 18 registered
with unixODBC) or through mssql-python, which bundles that driver. Unless the operator names an
ODBC driver or a DSN, use mssql-python: it works with only `unixodbc` and `libltdl7` installed.
"""

from __future__ import annotations

MSSQL_PYTHON = "mssql_python"


def mssql_options(options: dict) -> dict:
    """The OPTIONS of an mssql-django connection with the client library chosen."""
    chosen = dict(options)
    if not ({"python_driver", "driver", "dsn"} & chosen.keys()):
        chosen["python_driver"] = MSSQL_PYTHON
    return chosen
