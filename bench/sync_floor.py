"""The raw floor of bench/sync_throughput.py: the same rows the sync engine writes (equipment
and one link per record with the hash and values of its base), written the fastest way the
PostgreSQL driver allows, with no validation, no services and no run log.

Full: the source is streamed with COPY ... TO STDOUT, mapped (status code -> status), ids are
reserved from the equipment sequence in one call, and equipment and links go in with COPY ...
FROM STDIN, in chunks, in one transaction. Delta: the rows past the floor's own cursor are
COPYed into temporary tables and upserted with INSERT ... ON CONFLICT (equipment RETURNING its
ids, then the links), cursor saved in the same transaction. The target tables are copies of
the QMS's (`CREATE TABLE ... (LIKE ... INCLUDING ALL)`, made by the bench) in a schema of
their own of the QMS database. Prints one JSON line: seconds (connect to commit), rows.

    .venv/bin/python bench/sync_floor.py --source-db test --source-table S.T --qms-db D
        [--qms-port 5432] --schema bench_floor --configuration ID --mode full|delta
"""

# ruff: noqa: S608 - the only identifiers in SQL are --schema and --source-table, checked by NAME
from __future__ import annotations

import argparse
import hashlib
import json
import re
import time

import psycopg

STATUS = {"A": "active", "M": "maintenance", "R": "retired"}
CHUNK = 10_000
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$")
SOURCE_COLUMNS = "equipment_no, description, status_code, calibration, changed_at"


def escape(text: str) -> str:
    """A value for COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def digest(values: dict) -> str:
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def mapped(line: bytes) -> tuple[str, str, str, str, str, dict]:
    key, description, code, calibration, changed = line.decode().rstrip("\n").split("\t")
    values = {
        "name": description.strip(),
        "status": STATUS[code],
        "calibration_due_date": None if calibration == "\\N" else calibration,
    }
    return key, values["name"], values["status"], calibration, changed, values


def full(source: psycopg.Connection, qms: psycopg.Connection, args: argparse.Namespace) -> int:
    schema, config = args.schema, args.configuration
    total = source.execute(f"SELECT count(*) FROM {args.source_table}").fetchone()[0]
    first = qms.execute(
        "SELECT setval(s, nextval(s) + %s - 1) - %s + 1 FROM pg_get_serial_sequence(%s, 'id') s",
        [total, total, f"{schema}.quality_equipment"],
    ).fetchone()[0]
    now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
    equipment, links, count, last = [], [], 0, ("", "")
    with source.cursor().copy(
        f"COPY (SELECT {SOURCE_COLUMNS} FROM {args.source_table} "
        "ORDER BY changed_at, equipment_no) TO STDOUT"
    ) as copy:
        for line in copy:
            key, name, status, calibration, changed, values = mapped(bytes(line))
            pk = first + count
            count += 1
            equipment.append(
                f"{pk}\t{escape(key)}\t{escape(name)}\t\t\t\t\t\t{status}\t"
                f"{calibration}\t{now}\t{now}\n"
            )
            links.append(
                f"{config}\t{escape(key)}\t{pk}\t{digest(values)}\t"
                f"{escape(json.dumps(values))}\t{now}\t\\N\t{now}\n"
            )
            last = (changed, key)
            if len(equipment) >= CHUNK:
                write(qms, schema, equipment, links)
    write(qms, schema, equipment, links)
    save_cursor(qms, schema, last)
    return count


def write(qms: psycopg.Connection, schema: str, equipment: list[str], links: list[str]) -> None:
    with qms.cursor().copy(
        f"COPY {schema}.quality_equipment (id, number, name, category, location, manufacturer, "
        "model, serial_number, status, calibration_due_date, created_at, updated_at) FROM STDIN"
    ) as copy:
        copy.write("".join(equipment))
    with qms.cursor().copy(
        f"COPY {schema}.sync_synclink (configuration_id, external_id, local_id, base_hash, "
        "base_values, synced_at, last_seen_run, created_at) FROM STDIN"
    ) as copy:
        copy.write("".join(links))
    equipment.clear()
    links.clear()


def save_cursor(qms: psycopg.Connection, schema: str, last: tuple[str, str]) -> None:
    if last[1]:
        qms.execute(f"UPDATE {schema}.state SET cursor_value = %s, cursor_key = %s", last)


def delta(source: psycopg.Connection, qms: psycopg.Connection, args: argparse.Namespace) -> int:
    schema, config = args.schema, args.configuration
    cursor_value, cursor_key = qms.execute(
        f"SELECT cursor_value, cursor_key FROM {schema}.state"
    ).fetchone()
    rows = source.execute(
        f"SELECT {SOURCE_COLUMNS} FROM {args.source_table} "
        "WHERE (changed_at, equipment_no) > (%s, %s) ORDER BY changed_at, equipment_no",
        [cursor_value, cursor_key],
    ).fetchall()
    if not rows:
        return 0
    qms.execute(
        "CREATE TEMPORARY TABLE floor_in (number text, name text, status text, "
        "calibration date) ON COMMIT DROP"
    )
    with qms.cursor().copy("COPY floor_in FROM STDIN") as copy:
        for key, description, code, calibration, _ in rows:
            copy.write_row((key, description.strip(), STATUS[code], calibration))
    ids = dict(
        qms.execute(
            f"INSERT INTO {schema}.quality_equipment (number, name, category, location, "
            "manufacturer, model, serial_number, status, calibration_due_date, created_at, "
            "updated_at) SELECT number, name, '', '', '', '', '', status, calibration, now(), "
            "now() "
            "FROM floor_in ON CONFLICT (number) DO UPDATE SET name = EXCLUDED.name, "
            "status = EXCLUDED.status, calibration_due_date = EXCLUDED.calibration_due_date, "
            "updated_at = EXCLUDED.updated_at RETURNING number, id"
        ).fetchall()
    )
    qms.execute(
        "CREATE TEMPORARY TABLE floor_links (external_id text, local_id bigint, "
        "base_hash text, base_values jsonb) ON COMMIT DROP"
    )
    with qms.cursor().copy("COPY floor_links FROM STDIN") as copy:
        for key, description, code, calibration, _ in rows:
            values = {
                "name": description.strip(),
                "status": STATUS[code],
                "calibration_due_date": calibration.isoformat() if calibration else None,
            }
            copy.write_row((key, ids[key], digest(values), json.dumps(values)))
    qms.execute(
        f"INSERT INTO {schema}.sync_synclink (configuration_id, external_id, local_id, "
        "base_hash, base_values, synced_at, created_at) SELECT %s, external_id, local_id, "
        "base_hash, base_values, now(), now() FROM floor_links "
        "ON CONFLICT (configuration_id, external_id) DO UPDATE SET local_id = EXCLUDED.local_id, "
        "base_hash = EXCLUDED.base_hash, base_values = EXCLUDED.base_values, "
        "synced_at = EXCLUDED.synced_at",
        [config],
    )
    save_cursor(qms, schema, (rows[-1][4], rows[-1][0]))
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source-db", required=True)
    parser.add_argument("--source-table", required=True)
    parser.add_argument("--qms-db", required=True)
    parser.add_argument("--qms-port", type=int, default=5432)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--configuration", type=int, required=True)
    parser.add_argument("--mode", choices=("full", "delta"), required=True)
    args = parser.parse_args()
    for name in (args.schema, args.source_table):
        if not NAME.match(name):
            parser.error(f"{name!r} is not a plain lower-case [schema.]name")
    started = time.perf_counter()
    server = {"host": "127.0.0.1", "user": "postgres"}
    with (
        psycopg.connect(**server, port=5432, dbname=args.source_db, autocommit=True) as source,
        psycopg.connect(**server, port=args.qms_port, dbname=args.qms_db) as qms,
    ):
        rows = (full if args.mode == "full" else delta)(source, qms, args)
        qms.commit()
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))


if __name__ == "__main__":
    main()
