"""`make bench` (or .venv/bin/python bench/run.py): measures, prints the tables,
writes bench/results.json and regenerates README.md's benchmark block from it.

Sections: the CPython core, the collector under load and kill -9
(bench/collector_bench.py), the browser pages (bench/browser_bench.py).
``--core-only`` runs the core alone, ``--collector-only`` the collector alone,
``--browser-only`` the browser alone,
``--no-browser`` skips the browser; a partial run only prints (results.json and
the README keep the last full run).  ``--runs N``: cold starts per page
(default 5; or BENCH_RUNS).  ``--no-write``: print only.  Exits 1 when the
collector lost an acknowledged event."""

import datetime
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import core_bench  # noqa: E402
import readme_table  # noqa: E402

FLAGS = {"--core-only", "--collector-only", "--browser-only", "--no-browser", "--no-write"}


def parse(argv):
    flags, runs, i = set(), int(os.environ.get("BENCH_RUNS", "5")), 0
    while i < len(argv):
        if argv[i] == "--runs" and i + 1 < len(argv):
            runs = int(argv[i + 1])
            i += 2
            continue
        flags.add(argv[i])
        i += 1
    return flags, runs


def write_results(results, path=readme_table.RESULTS):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")


def main(argv=None):
    flags, runs = parse(sys.argv[1:] if argv is None else argv)
    unknown = flags - FLAGS
    if unknown or runs < 1:
        print("unknown option(s): %s" % ", ".join(sorted(unknown) or ["--runs %d" % runs]), file=sys.stderr)
        return 2
    core = not (flags & {"--collector-only", "--browser-only"})
    collector = not (flags & {"--core-only", "--browser-only"})
    browser = not (flags & {"--core-only", "--collector-only", "--no-browser"})
    results = {"schema": 1, "measured_at": datetime.date.today().isoformat(), "rows": []}
    ok = True
    if core:
        with tempfile.TemporaryDirectory() as tmp:
            results["rows"].extend(core_bench.rows(tmp))
    if collector:
        import collector_bench

        measured = collector_bench.measure()
        results["collector"] = measured
        results["rows"].extend(collector_bench.rows(measured))
        ok = measured["ok"]
    if browser:
        import browser_bench

        results.update(browser_bench.measure(runs))
        results["rows"].extend(browser_bench.rows(results))
    results["rows"] = [list(row) for row in results["rows"]]
    print(readme_table.render(results))
    if core and collector and browser and "--no-write" not in flags:
        problems = readme_table.schema_problems(results)
        if problems:
            print("FAILED: results.json not written, the results lack " + "; ".join(problems),
                  file=sys.stderr)
            return 1
        # the verdicts too, for whoever reads results.json rather than the README
        results["targets"] = readme_table.metrics.verdicts(results)
        results["earlier_targets"] = readme_table.metrics.verdicts(
            results, readme_table.metrics.EARLIER_TARGETS)
        write_results(results)
        readme_table.update_readme(results)
        print("wrote bench/results.json and README.md's benchmark block", file=sys.stderr)
    if not ok:
        print("FAILED: the collector lost an acknowledged event or its database is damaged",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
