"""Prints the benchmark table: `make bench` (or .venv/bin/python bench/run.py)."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import core_bench  # noqa: E402


def print_table(rows):
    width = max(len(name) for name, _ in rows)
    print("| %-*s | %s |" % (width, "measurement", "result"))
    print("|%s|%s|" % ("-" * (width + 2), "-" * 10))
    for name, value in rows:
        print("| %-*s | %s |" % (width, name, value))


def main():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.extend(core_bench.rows(tmp))
    if "--core-only" not in sys.argv:
        import browser_bench

        rows.extend(browser_bench.rows())
    print_table(rows)


if __name__ == "__main__":
    main()
