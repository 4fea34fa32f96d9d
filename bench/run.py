"""Prints the benchmark table: `make bench` (or .venv/bin/python bench/run.py).

Sections: the CPython core, the collector under load and kill -9
(bench/collector_bench.py), the browser pages.  ``--core-only`` runs the core
alone, ``--collector-only`` the collector alone, ``--no-browser`` skips the
browser.  Exits 1 when the collector lost an acknowledged event."""

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


def main(argv=None):
    args = set(sys.argv[1:] if argv is None else argv)
    unknown = args - {"--core-only", "--collector-only", "--no-browser"}
    if unknown:
        print("unknown option(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 2
    core = "--collector-only" not in args
    collector = "--core-only" not in args
    browser = not (args & {"--core-only", "--collector-only", "--no-browser"})
    rows = []
    ok = True
    if core:
        with tempfile.TemporaryDirectory() as tmp:
            rows.extend(core_bench.rows(tmp))
    if collector:
        import collector_bench

        results = collector_bench.measure()
        rows.extend(collector_bench.rows(results))
        ok = results["ok"]
    if browser:
        import browser_bench

        rows.extend(browser_bench.rows())
    print_table(rows)
    if not ok:
        print("FAILED: the collector lost an acknowledged event or its database is damaged",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
