"""README.md's benchmark block and bench/results.json: the block is exactly what
bench/readme_table.py makes of the committed results, and the results have every
entry issue 12 asks for.  No browser, no timing."""

import copy
import pathlib
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import readme_table as rt  # noqa: E402


@pytest.fixture(scope="module")
def committed():
    return rt.load()


def test_readme_block_is_generated_from_the_committed_results(committed):
    """The README's benchmark block equals render(bench/results.json): run bench/readme_table.py after a bench run."""
    text = pathlib.Path(rt.README).read_text(encoding="utf-8")
    assert text.count(rt.BEGIN) == 1 and text.count(rt.END) == 1, "README.md needs one pair of bench markers"
    assert rt.current_block(text) == rt.render(committed), \
        "README.md's benchmark block is out of date: run .venv/bin/python bench/readme_table.py"


def test_readme_block_sits_in_the_benchmarks_section():
    """The generated block lives under "## Benchmarks", before the next section."""
    text = pathlib.Path(rt.README).read_text(encoding="utf-8")
    section = text.index("\n## Benchmarks\n")
    following = text.index("\n## ", section + 1)
    assert section < text.index(rt.BEGIN) < text.index(rt.END) < following


def test_committed_results_have_every_required_number(committed):
    """ready_ms, bytes, event_us (gated and not), tbt_ms, backlog, enqueue ratio, machine, phases."""
    assert rt.schema_problems(committed) == []


def test_committed_verdicts_are_those_of_the_committed_numbers(committed):
    """results.json's "targets" (met / missed, for machine readers) agree with its own numbers."""
    assert committed["targets"] == rt.metrics.verdicts(committed)
    assert committed["earlier_targets"] == rt.metrics.verdicts(committed, rt.metrics.EARLIER_TARGETS)


@pytest.mark.parametrize("damage, problem", [
    (lambda r: r["ready_ms"].pop("mpy_floor"), "ready_ms.mpy_floor"),
    (lambda r: r["event_us_ungated"].__setitem__("pyodide", None), "event_us_ungated.pyodide"),
    (lambda r: r["tbt_ms"].__setitem__("js", "12 ms"), "tbt_ms.js"),
    (lambda r: r.__setitem__("backlog_10k_s", True), "backlog_10k_s"),
    (lambda r: r.pop("bytes"), "bytes: missing"),
    (lambda r: r["machine"].pop("chromium"), "machine.chromium"),
    (lambda r: r["phases"].__setitem__("pyodide_floor", []), "phases"),
])
def test_schema_check_names_what_is_missing_or_not_a_number(committed, damage, problem):
    """Each required entry, when missing or not a number, is reported by name."""
    results = copy.deepcopy(committed)
    damage(results)
    problems = rt.schema_problems(results)
    assert any(p.startswith(problem) for p in problems), problems


def test_render_shows_missing_measurements_as_not_available():
    """Partial results (a run before the SDK sets its marks, or without a page) render with n/a, no crash."""
    text = rt.render({"ready_ms": {"mpy": 400.0}, "phases": {"mpy": [
        {"key": "ready", "label": "kaltura-web:ready dispatched", "at_ms": 400.0, "phase_ms": 400.0}]}})
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
             for line in text.splitlines() if line.startswith("| ")}
    assert cells["ready, PyScript + MicroPython page with the SDK"][0] == "400 ms, n/a"
    assert cells["MicroPython page ready within 1.2x the empty MicroPython page"] == ["n/a", "not measured"]
    assert cells["kaltura-web:ready dispatched"] == ["n/a", "400 ms (+400 ms)"]


def test_render_gives_the_spread_of_runs_and_the_ratio_round_by_round():
    """Fastest-slowest ready per page, and each round's page/floor ratio range, from per_run."""
    text = rt.render({"ready_ms": {"mpy": 600.0, "mpy_floor": 500.0},
                      "per_run": {"mpy": {"ready_ms": [600.0, 900.0, 550.0]},
                                  "mpy_floor": {"ready_ms": [500.0, 450.0, 550.0]}}})
    row = [line for line in text.splitlines() if "MicroPython page with the SDK" in line][0]
    assert "600 ms (550-900)" in row and "1.20x its floor" in row and "run by run 1.00-2.00x" in row


def test_replace_block_changes_only_what_is_between_the_markers():
    """Text before BEGIN and from END on is kept byte for byte; without markers it refuses."""
    text = "intro\n%s\nold\n%s\ntail\n" % (rt.BEGIN, rt.END)
    assert rt.replace_block(text, "new\n") == "intro\n%s\nnew\n%s\ntail\n" % (rt.BEGIN, rt.END)
    assert rt.current_block(rt.replace_block(text, "x\n")) == "x\n"
    with pytest.raises(ValueError):
        rt.replace_block("no markers here\n", "new\n")


def test_tables_are_padded_markdown():
    """Every row has as many cells as the header, columns padded to one width."""
    out = rt.table(["a", "long header"], [["xyz", "1"], ["", "22"]]).splitlines()
    assert out == ["| a   | long header |", "|-----|-------------|", "| xyz | 1           |",
                   "|     | 22          |"]
    assert rt.fmt(None, "ms") == "n/a" and rt.fmt(1234.5, "ms") == "1,234 ms" and rt.fmt(1.234, "x", 2) == "1.23x"
