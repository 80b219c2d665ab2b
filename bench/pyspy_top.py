"""Summarise py-spy's collapsed stacks (`py-spy record --format raw`): where the samples went.

    .venv/bin/python bench/pyspy_top.py FILE [--within NAME] [--top 10]

--within keeps the samples whose stack holds a frame whose function or file contains NAME
(e.g. `fast_trace_task`: the time spent inside Celery tasks; `execute`: a sync run) and
gives percentages of those. Printed: the leaf functions (where the samples were taken, the
"self" time), the same grouped by library or project package, and the project's own functions
inclusive of what they call, and every function below the --within frame inclusive (a flat
call tree). Recorded with `--idle`, waits (socket reads, database round trips)
count as their leaf frames; without it only time on the CPU is sampled.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>[^():]*)(?::\d+)?\)$")
PROJECT = ("apikeys/", "eqms_integration/", "quality/", "sync/", "webhooks/", "manage.py")


def short_path(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    for root in PROJECT:
        index = path.find(root)
        if index >= 0:
            return path[index:]
    return path


def parse(line: str) -> tuple[list[tuple[str, str]], int] | None:
    stack, _, count = line.rstrip("\n").rpartition(" ")
    if not stack or not count.isdigit():
        return None
    frames = []
    for raw in stack.split(";"):
        if raw.startswith(("process ", "thread ")):
            continue
        match = FRAME.match(raw)
        frames.append((match["func"], short_path(match["path"])) if match else (raw, ""))
    return frames, int(count)


def component(path: str) -> str:
    """The library (first path part; django and the project by two parts) a file belongs to."""
    parts = path.split("/")
    if parts[0] in ("django", "rest_framework", "celery", "kombu") or path.startswith(PROJECT):
        return "/".join(parts[:2]).removesuffix(".py")
    return parts[0].removesuffix(".py") or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--within", default="")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--deep", type=int, default=25, help="rows of the inclusive list of all")
    args = parser.parse_args()
    leaf: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    below: Counter[str] = Counter()
    total = everything = 0
    for line in args.file.read_text().splitlines():
        parsed = parse(line)
        if parsed is None:
            continue
        frames, count = parsed
        everything += count
        if args.within and not any(args.within in f or args.within in p for f, p in frames):
            continue
        total += count
        if not frames:
            continue
        func, path = frames[-1]
        leaf[f"{func} ({path})"] += count
        groups[component(path)] += count
        for name in {f"{f} ({p})" for f, p in frames if p.startswith(PROJECT)}:
            inclusive[name] += count
        start = next((i for i, (f, p) in enumerate(frames) if args.within in f + p), -1) + 1
        for name in {f"{f} ({p})" for f, p in frames[start:]}:
            below[name] += count
    if not total:
        raise SystemExit("no samples matched")
    scope = f" within {args.within!r}" if args.within else ""
    print(f"{total} samples{scope} ({100 * total / everything:.1f}% of {everything})")
    for title, counter in (
        ("leaf functions (self)", leaf),
        ("by library / package (self)", groups),
        ("project functions, inclusive", inclusive),
        (
            f"any function{' below the ' + repr(args.within) + ' frame' if scope else ''}, "
            "inclusive",
            below,
        ),
    ):
        print(f"\n{title}")
        rows = args.deep if counter is below else args.top
        for name, count in counter.most_common(rows):
            print(f"  {100 * count / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
