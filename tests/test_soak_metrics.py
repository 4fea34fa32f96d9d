"""The pure parts of the soak benchmark (bench/soak_metrics.py, soak_walk.py,
soak_report.py): the growth line and its confidence interval, the verdicts,
the object-graph walk, the table and README's soak block.  No browser, no
timing."""

import json
import math
import pathlib
import statistics
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import soak_metrics as m  # noqa: E402
import soak_report  # noqa: E402
import soak_walk  # noqa: E402


def test_fit_matches_a_hand_computed_line_and_interval():
    """Three points worked by hand: slope 0.5, residuals -0.5/1/-0.5, SE sqrt(0.75), t(1) = 12.706."""
    line = m.fit([0, 1, 2], [0, 2, 1])
    assert line["slope"] == pytest.approx(0.5) and line["intercept"] == pytest.approx(0.5)
    assert line["residual_range"] == pytest.approx(1.5)
    assert line["half_width"] == pytest.approx(12.706 * math.sqrt(0.75))


def test_fit_agrees_with_the_standard_library_on_noisy_data():
    """Slope and intercept equal statistics.linear_regression's on an irregular sample."""
    xs = [0, 3, 4, 9, 10, 17, 25, 26]
    ys = [5.0, 6.1, 5.7, 9.2, 8.8, 13.0, 17.5, 16.9]
    line = m.fit(xs, ys)
    ref = statistics.linear_regression(xs, ys)
    assert line["slope"] == pytest.approx(ref.slope) and line["intercept"] == pytest.approx(ref.intercept)
    assert line["half_width"] > 0 and line["n"] == 8


def test_points_on_a_line_have_no_interval_and_no_noise():
    """An exact line: half width 0 and residual range 0 (up to rounding)."""
    line = m.fit([0, 1, 2, 3], [7, 9, 11, 13])
    assert line["slope"] == pytest.approx(2) and line["half_width"] == pytest.approx(0, abs=1e-9)
    assert line["residual_range"] == pytest.approx(0, abs=1e-9)


def test_fit_refuses_what_has_no_slope_or_no_interval():
    """Fewer than 3 points, every x the same, or lengths that differ: ValueError."""
    with pytest.raises(ValueError):
        m.fit([1, 2], [1, 2])
    with pytest.raises(ValueError):
        m.fit([4, 4, 4], [1, 2, 3])
    with pytest.raises(ValueError):
        m.fit([1, 2, 3], [1, 2])


def test_t_quantiles_are_conservative_between_table_entries():
    """Listed df give the table value, others the next smaller df's (wider), past 120 the normal 1.96."""
    assert m.t95(1) == 12.706 and m.t95(30) == 2.042
    assert m.t95(21) == m.t95(20) and m.t95(45) == m.t95(40)
    assert m.t95(10_000) == 1.960
    with pytest.raises(ValueError):
        m.t95(0)


def test_warm_up_drops_the_first_fraction_of_samples():
    """A quarter of 10 samples is 3 (rounded up); 4 samples lose at least one; 0 keeps all."""
    samples = list(range(10))
    assert m.steady(samples, 0.25) == list(range(3, 10))
    assert m.steady([1, 2, 3, 4], 0.1) == [2, 3, 4]
    assert m.steady(samples, 0) == samples
    with pytest.raises(ValueError):
        m.steady(samples, 1.0)


def _series(values, x="loops", y="v", step=100):
    return [{x: i * step, y: v} for i, v in enumerate(values)]


def test_a_steady_leak_grows_and_noise_alone_is_flat():
    """A linear rise with a little noise "grows" (growth per 1,000 loops recovered); alternating noise is "flat"."""
    wobble = [((-1) ** i) * 3 for i in range(20)]
    leak = m.growth(_series([1000 + 5 * i + w for i, w in enumerate(wobble)]), "loops", "v", 1000)
    assert leak["verdict"] == m.GROWS and leak["growth"] == pytest.approx(50, rel=0.05)
    assert leak["growth"] - leak["ci"] > 0
    flat = m.growth(_series([1000 + w for w in wobble]), "loops", "v", 1000)
    assert flat["verdict"] == m.FLAT and flat["growth"] - flat["ci"] < 0 < flat["growth"] + flat["ci"]


def test_a_steady_decline_falls():
    """A queue that empties over the run "falls", the mirror of "grows"."""
    report = m.growth(_series([500 - 10 * i + (i % 2) for i in range(12)]), "loops", "v", 1000)
    assert report["verdict"] == m.FALLS and report["growth"] < 0


def test_a_significant_slope_smaller_than_the_noise_is_flat():
    """Many samples make a tiny slope significant, but a rise below the wobble is not growth."""
    samples = _series([0.01 * i + (20 if i % 2 else -20) for i in range(1000)], step=1)
    report = m.growth(samples, "loops", "v", 1000)
    assert report["growth"] - report["ci"] > 0  # significant...
    assert report["growth"] / 1000 * report["span"] < report["noise"]  # ...but inside the noise
    assert report["verdict"] == m.FLAT


def test_warm_up_is_left_out_of_the_growth():
    """A start-up ramp in the first quarter of the samples does not count: the rest is flat."""
    values = [0, 400, 800, 1000] + [1000 + (i % 2) for i in range(12)]
    report = m.growth(_series(values), "loops", "v", 1000)
    assert report["verdict"] == m.FLAT and report["first"] in (1000, 1001)
    ramp = m.growth(_series(values), "loops", "v", 1000, warmup=0)
    assert ramp["growth"] - ramp["ci"] > 0  # with the ramp in, the slope is significantly positive


def test_growth_skips_missing_values_and_says_when_it_cannot_judge():
    """Samples without the value are skipped; fewer than 3 left, or no progress in x: "too few samples"."""
    samples = [{"loops": 0, "v": 1}, {"loops": 10, "v": None}, {"loops": 20, "v": 1}, {"loops": 30}]
    report = m.growth(samples, "loops", "v", 1000, warmup=0)
    assert report["n"] == 2 and report["verdict"] == m.UNKNOWN and report["growth"] is None
    stuck = m.growth([{"loops": 5, "v": i} for i in range(6)], "loops", "v", 1000, warmup=0)
    assert stuck["verdict"] == m.UNKNOWN


def test_growers_names_the_paths_that_grow():
    """Only the growing path is reported; a path absent from early samples counts as 0 there."""
    samples = [{"loops": i * 100, "held": {"a.flat": 5, "a.leak": 12 * i}} for i in range(10)]
    samples[0]["held"].pop("a.leak")
    found = m.growers(samples, "loops", 1000, warmup=0)
    assert [path for path, _ in found] == ["a.leak"]
    assert found[0][1]["growth"] == pytest.approx(120)


def test_rss_is_read_from_the_second_statm_field():
    """statm's resident pages times the page size; a line without it is an error."""
    assert m.rss_bytes("9000 250 30 4 0 100 0\n", 4096) == 250 * 4096
    with pytest.raises(ValueError):
        m.rss_bytes("", 4096)


def test_values_and_growth_cells_are_human_readable():
    """Bytes as B/KB/MB, counts with separators, growth with its sign and interval, missing as '-'."""
    assert m.human(512, "B") == "512 B" and m.human(2500, "B") == "2.5 KB"
    assert m.human(31_457_280, "B") == "31.46 MB" and m.human(12345, "") == "12,345"
    assert m.human(0.25, "") == "0.25" and m.human(16.14, "") == "16.1" and m.human(12345.6, "") == "12,346"
    assert m.human(-404.4, "") == "-404" and m.human(0, "") == "0" and m.human(None, "B") == "-"
    assert m.growth_cell({"growth": -1500.0, "ci": 800.0}, "B") == "-1.5 KB +- 800 B"
    assert m.growth_cell({"growth": None}, "") == "-"
    assert m.verdict_cell({"verdict": m.GROWS}) == "**grows**" and m.verdict_cell({}) == m.UNKNOWN


def test_table_columns_line_up():
    """Every line of the Markdown table has the same width; the header comes first."""
    text = m.table([m.row("run", "heap", "B", {"first": 1000, "last": 1200, "growth": 10.0, "ci": 5.0,
                                              "noise": 3.0, "verdict": m.FLAT}, "1,000 loops")])
    lines = text.splitlines()
    assert len(lines) == 3 and len({len(line) for line in lines}) == 1
    assert lines[0].startswith("| run") and "1.0 KB -> 1.2 KB" in lines[2] and "+10 B +- 5 B" in lines[2]


class Node:
    def __init__(self, **attributes):
        self.__dict__.update(attributes)


class Slotted:
    __slots__ = ("items", "missing")

    def __init__(self):
        self.items = [1, 2]


class Foreign:
    """Stands for a JavaScript object: not one of the walked classes."""

    def __init__(self):
        self.hidden = list(range(100))


def test_walk_measures_containers_through_the_given_classes_only():
    """Lists and dicts are measured by path; a foreign object is not entered; a shared list counts once."""
    shared = [1, 2, 3]
    root = Node(queue=[Node(items=shared), Node(items=shared)], index={"a": [9], "b": [8, 7]},
                other=Foreign(), slots=Slotted())
    sizes = soak_walk.held([("root", root)], {Node, Slotted})
    assert sizes["root.queue"] == 2 and sizes["root.queue[].items"] == 3  # the shared list once
    assert sizes["root.index"] == 2 and sizes["root.index[]"] == 3
    assert sizes["root.slots.items"] == 2
    assert not any("hidden" in path for path in sizes)
    assert soak_walk.total(sizes) == 2 + 3 + 2 + 3 + 2


def test_walk_counts_records_without_entering_them():
    """Tuples in a list are elements, not entered; a tuple held by an attribute is measured."""
    root = Node(order=[("a", 1, "k")] * 1000, pair=(1, 2))
    sizes = soak_walk.held([("r", root)], {Node})
    assert sizes == {"r.order": 1000, "r.pair": 2}


def test_walk_stops_at_its_bounds():
    """A depth limit keeps deeper containers out; the node limit is reported, never silent."""
    deep = Node(a=Node(b=Node(c=[1, 2, 3])))
    assert "d.a.b.c" not in soak_walk.held([("d", deep)], {Node}, depth=2)
    assert soak_walk.held([("d", deep)], {Node}, depth=3)["d.a.b.c"] == 3
    wide = Node(items=[[i] for i in range(100)])
    assert soak_walk.held([("w", wide)], {Node}, max_nodes=10)["(walk stopped)"] == 1


def test_walk_finds_the_sdk_classes_and_sums_its_listeners():
    """classes_of collects the kaltura_web classes imported; listeners() sums the _listeners paths."""
    import kaltura_web.core.tracker as tracker

    assert tracker.Tracker in soak_walk.classes_of()
    assert soak_walk.listeners({"kw._owner._listeners": 5, "kw.a[]._owner._listeners": 16,
                                "kw._owner._proxies": 9}) == 21


def _page_run(loops_per_sample=100, beacons_per_loop=12, leak=0):
    samples = []
    for i in range(8):
        loops = i * loops_per_sample
        samples.append({"t": i * 10.0, "loops": loops, "beacons": loops * beacons_per_loop,
                        "by_type": {"stats:16": loops, "stats:7": loops, "stats:17": 0},
                        "js_heap": 9_000_000 + (i % 2) * 1000, "wasm_bytes": 31_457_280, "malloc_bytes": 9_000_000,
                        "py_objects": 23_000, "live_proxies": 31, "listeners": 26, "dom_listeners": 55,
                        "held_total": 4000 + leak * loops, "ls_keys": 7, "ls_bytes": 1800,
                        "held": {"kw.store._order[]": leak * loops}, "load": 2.0})
    final = dict(samples[-1], by_type={"stats:16": 700, "stats:7": 700, "stats:17": 2})
    return {"page": "/web/portal.html", "rate": 16, "samples": samples, "final": final,
            "drained": True, "errors": []}


def test_page_summary_counts_beacons_per_loop_and_finds_the_leak():
    """Beacons per loop after warm-up, per type, wraps reported as SEEK, and the growing path by name."""
    summary = soak_report.summarize_page("pyodide", _page_run(leak=12))
    assert summary["beacons_per_loop"] == pytest.approx(12)
    assert summary["per_loop_by_type"] == {"stats:16": 1.0, "stats:7": 1.0}
    assert summary["wrap_seeks"] == 2 and summary["loops_per_second"] == pytest.approx(10)
    assert summary["growth"]["held_total"]["verdict"] == m.GROWS
    assert summary["growth"]["js_heap"]["verdict"] == m.FLAT
    assert [path for path, _ in summary["growers"]] == ["kw.store._order[]"]
    # only two samples keep their per-path sizes in soak.json
    assert sum(1 for s in summary["samples"] if "held" in s) == 2


def _process_samples(x, step, rss_growth=0):
    return [{x: i * step, "rss": 30_000_000 + rss_growth * i, "blocks": 80_000, "held_total": 1700,
             "held": {"tracker.engine.queues": 2}} for i in range(10)]


def _results():
    page = soak_report.summarize_page("pyodide", _page_run())
    beacons = soak_report.summarize_process(
        {"samples": _process_samples("beacons", 10_000, rss_growth=4096), "sent": 100_000, "stored": 100_000,
         "repeats": 0, "lost": {}, "pending": 0, "seconds": 100.0}, "beacons", soak_report.PER_BEACONS)
    session = soak_report.summarize_process(
        {"samples": _process_samples("hours", 0.5), "observations": 345_600, "beacons": 9000,
         "guide_sessions": 1, "kava_sessions": 1, "seconds": 5.0, "lost": {}, "pending": 0,
         "diagnostics": [], "hours": 24}, "hours", soak_report.PER_HOUR)
    return {"measured_at": "2026-01-01", "machine": {"cores": 2, "load": "1.0-2.0", "chromium": "1"},
            "settings": {"clip": "web/media/test.webm", "rate": 16, "minutes": 2, "sample_seconds": 6,
                         "protocol": "both", "warmup": 0.25},
            "browser": {"pyodide": page}, "cpython": {"beacons": beacons, "session": session}}


def test_render_has_the_table_and_what_each_run_did():
    """The block: the run's line, one table row per quantity and run, a line per page and CPython run."""
    text = soak_report.render(_results())
    assert "| Pyodide page, 16x loop" in text and "1,000 loops" in text
    assert "| CPython SyncSender, 100,000 beacons" in text and "100,000 beacons" in text
    assert "| CPython, one session of 24 simulated hours" in text
    assert "guide REPLAY 1.00" in text and "guide PLAY_REACHED_100 1.00" in text
    assert "100,000 beacons in 100 s (1000 a second" in text and "345,600 observations" in text
    assert "Growing containers" in text and "- none" in text


def test_process_summary_judges_rss_per_100000_beacons():
    """4 KB more resident memory every 10,000 beacons is 40 KB per 100,000: "grows"; the rest is flat."""
    growth = _results()["cpython"]["beacons"]["growth"]
    assert growth["rss"]["growth"] == pytest.approx(40960) and growth["rss"]["verdict"] == m.GROWS
    assert growth["blocks"]["verdict"] == m.FLAT and growth["held_total"]["verdict"] == m.FLAT


def test_readme_block_is_replaced_between_its_markers_only():
    """Text outside the soak markers is kept byte for byte; missing markers raise."""
    text = "before\n%s\nold\n%s\nafter\n" % (soak_report.BEGIN, soak_report.END)
    new = soak_report.replace_block(text, "new table")
    assert new == "before\n%s\nnew table\n%s\nafter\n" % (soak_report.BEGIN, soak_report.END)
    assert soak_report.block_of(new) == "new table"
    with pytest.raises(ValueError):
        soak_report.replace_block("no markers here", "x")


def test_readme_soak_block_matches_the_committed_soak_json():
    """README.md's soak block is what bench/soak.json renders to: the figures cannot drift from the run."""
    results = json.loads((BENCH / "soak.json").read_text(encoding="utf-8"))
    readme = (BENCH.parent / "README.md").read_text(encoding="utf-8")
    assert soak_report.block_of(readme) == soak_report.render(results)
