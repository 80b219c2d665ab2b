"""The dlt peer of bench/sync_throughput.py: one pipeline run, in the bench-only virtualenv.

`sql_table` source (sqlalchemy or pyarrow backend, `incremental` on the change timestamp) ->
`postgres` destination, `write_disposition="merge"` on the key. Prints one JSON line: seconds of
`pipeline.run` (imports and start-up excluded), rows loaded, dlt's version and file format.

    var/bench-peers-venv/bin/python bench/dlt_peer.py --source URL --schema S --table T
        --destination URL --dataset D --pipelines-dir DIR --backend sqlalchemy|pyarrow
"""

from __future__ import annotations

import argparse
import json
import time

import dlt
from dlt.sources.sql_database import sql_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("source", "schema", "table", "destination", "dataset", "pipelines-dir"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--backend", choices=("sqlalchemy", "pyarrow"), required=True)
    parser.add_argument("--key", default="equipment_no")
    parser.add_argument("--cursor", default="changed_at")
    parser.add_argument("--chunk-size", type=int, help="rows per read (dlt's default if unset)")
    args = parser.parse_args()

    options = {"chunk_size": args.chunk_size} if args.chunk_size else {}
    resource = sql_table(
        credentials=args.source,
        schema=args.schema,
        table=args.table,
        backend=args.backend,
        incremental=dlt.sources.incremental(args.cursor),
        **options,
    )
    resource.apply_hints(primary_key=args.key, write_disposition="merge")
    pipeline = dlt.pipeline(
        pipeline_name=f"{args.dataset}_{args.backend}",
        destination=dlt.destinations.postgres(args.destination),
        dataset_name=args.dataset,
        pipelines_dir=args.pipelines_dir,
    )
    started = time.perf_counter()
    pipeline.run(resource)
    seconds = time.perf_counter() - started
    counts = pipeline.last_trace.last_normalize_info.row_counts
    jobs = [
        job
        for package in pipeline.last_trace.last_load_info.load_packages
        for job in package.jobs["completed_jobs"]
    ]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": counts.get(args.table, 0),
                "dlt": dlt.__version__,
                "file_formats": sorted({job.job_file_info.file_format for job in jobs}),
                "chunk_size": args.chunk_size or "dlt default",
            }
        )
    )


if __name__ == "__main__":
    main()
