"""External SQL databases: a connection (`connector`), the table or view one configuration
reads and writes (`session`, on `read` and `write`), what the catalogue says of it (`catalog`),
the quoting of names (`identifiers`), SQL Server's own SQL (`mssql`) and the targets a
connection may never reach (`targets`)."""

from sync.connectors.sql.catalog import Column, TableCatalogue
from sync.connectors.sql.connector import SQLConnector
from sync.connectors.sql.identifiers import split_object_name
from sync.connectors.sql.session import SQLSession

__all__ = ["Column", "SQLConnector", "SQLSession", "TableCatalogue", "split_object_name"]
