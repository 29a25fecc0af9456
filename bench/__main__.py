"""``python -m bench [NAME ...] [--quick]``: run the benchmarks, print a table, keep the numbers in bench/results/.

Each benchmark is a module of this package with ``run(quick) -> list[dict]``; add its name to BENCHMARKS.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# notifications: PostgreSQL, Redis
BENCHMARKS = ["claims_batch", "core_pages", "invoice_pdf", "list_pages", "notifications", "patient_search", "print_run"]
RESULTS = Path(__file__).resolve().parent / "results"


def table(rows: list[dict]) -> str:
    if not rows:
        return "(no results)"
    columns = list(rows[0])
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]

    def line(values):
        return "  ".join(v.rjust(w) if v[:1].isdigit() else v.ljust(w) for v, w in zip(values, widths, strict=True))

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(c) for c in cells)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="one of: " + ", ".join(BENCHMARKS) + " (default: all)")
    parser.add_argument("--quick", action="store_true", help="smallest data sizes only")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    os.environ.setdefault("MEDCOVER_ENV", "test")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for name in args.names or BENCHMARKS:
        started = time.perf_counter()
        rows = importlib.import_module(f"bench.{name}").run(quick=args.quick)
        took = time.perf_counter() - started
        path = RESULTS / f"{name}-{stamp}.json"
        path.write_text(
            json.dumps({"benchmark": name, "at": stamp, "seconds": round(took, 1), "results": rows}, indent=2)
        )
        print(f"\n{name} ({took:.1f} s) -> {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
        print(table([{k: v for k, v in row.items() if k != "benchmark"} for row in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
