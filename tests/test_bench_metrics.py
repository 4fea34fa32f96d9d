"""The pure arithmetic of the browser benchmark (bench/bench_metrics.py): total
blocking time, start timelines, target verdicts.  No browser, no timing."""

import pathlib
import sys

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import bench_metrics as m  # noqa: E402


def test_blocking_time_counts_only_the_part_of_each_task_beyond_50_ms():
    """TBT sums max(0, duration - 50 ms): 120 ms blocks 70, 50 ms and 30 ms block nothing."""
    assert m.total_blocking_time([(10, 120), (200, 50), (300, 30), (400, 51.5)]) == 70 + 1.5


def test_blocking_time_attributes_each_task_to_the_window_where_it_starts():
    """A task belongs to [start, end) by its start time; either bound may be open."""
    tasks = [(0, 100), (500, 80), (999.9, 60), (1000, 200)]
    assert m.total_blocking_time(tasks, None, 1000) == 50 + 30 + 10
    assert m.total_blocking_time(tasks, 1000, None) == 150
    assert m.total_blocking_time(tasks, 500, 1000) == 30 + 10
    assert m.total_blocking_time([], None, None) == 0


def test_median_ignores_missing_values_and_ratio_refuses_what_it_cannot_divide():
    """A missing measurement never becomes a number: median of nothing and ratios with it are None."""
    assert m.median([3, None, 1, 2]) == 2
    assert m.median([None, None]) is None
    assert m.ratio(3, 2) == 1.5
    assert m.ratio(None, 2) is None and m.ratio(3, None) is None and m.ratio(3, 0) is None


def _probe(**kw):
    base = {"at": {"script": 700.0, "ready": 900.0},
            "progress": [["Loading MicroPython", 300.0], ["Loading files", 400.0],
                         ["Loaded files", 650.0], ["Loaded MicroPython", 651.0]],
            "marks": [["kaltura_web:imported", 760.0], ["kaltura_web:ready", 899.0],
                      ["somebody:else", 5.0]],
            "resources": [
                {"name": "/web/node_modules/x/micropython.wasm", "startTime": 310.0, "responseEnd": 350.0},
                {"name": "/web/dist/kaltura_web.mpy", "startTime": 401.0, "responseEnd": 420.0},
                {"name": "/dev/ks?userId=a", "startTime": 910.0, "responseEnd": 930.0},
                {"name": "/api_v3/service/multirequest", "startTime": 950.0, "responseEnd": 960.0},
                {"name": "/api_v3/index.php?service=analytics", "startTime": 940.0, "responseEnd": 990.0}]}
    base.update(kw)
    return base


def test_landmarks_of_a_micropython_page_come_from_progress_events_marks_and_resources():
    """Each landmark is read from where PyScript, the SDK or Resource Timing reports it."""
    marks = m.landmarks(_probe(), "mpy")
    assert marks == {"script": 700.0, "ready": 900.0, "loader": 300.0, "runtime_loaded": 651.0,
                     "interpreter": 400.0, "sdk_unpacked": 650.0, "wasm": 350.0,
                     "sdk_requested": 401.0, "sdk_received": 420.0, "ks_requested": 910.0,
                     "ks_received": 930.0, "first_beacon_sent": 940.0,
                     "mark:kaltura_web:imported": 760.0, "mark:kaltura_web:ready": 899.0}


def test_landmarks_of_a_floor_page_have_no_sdk_and_pyodide_starts_at_loaded_interpreter():
    """Without files the MicroPython interpreter is up at "Loaded MicroPython"; Pyodide's at "Loaded interpreter"."""
    floor = m.landmarks({"at": {"script": 270.0, "ready": 350.0},
                         "progress": [["Loading MicroPython", 230.0], ["Loaded MicroPython", 266.0]]}, "mpy")
    assert floor == {"script": 270.0, "ready": 350.0, "loader": 230.0, "runtime_loaded": 266.0,
                     "interpreter": 266.0}
    py = m.landmarks({"at": {}, "progress": [["Loading Pyodide", 200.0], ["Loaded interpreter", 3000.0],
                                             ["Loaded Pyodide", 3001.0]],
                      "resources": [{"name": "/web/dist/kaltura_web-0.1.0-py3-none-any.whl",
                                     "startTime": 500.0, "responseEnd": 510.0}]}, "py")
    assert py == {"loader": 200.0, "interpreter": 3000.0, "runtime_loaded": 3001.0,
                  "sdk_requested": 500.0, "sdk_received": 510.0}
    assert m.landmarks({"at": {"ready": 60.0}}, None) == {"ready": 60.0}


def test_timeline_is_in_time_order_with_each_phase_since_the_previous_landmark():
    """Medians per landmark over the runs; a landmark only some runs reached still appears."""
    runs = [{"loader": 100.0, "script": 300.0, "ready": 400.0},
            {"loader": 120.0, "script": 340.0, "ready": 380.0, "mark:kaltura_web:ks": 500.0},
            {"loader": 110.0, "script": 320.0, "ready": 420.0}]
    line = m.timeline(runs)
    assert [(e["key"], e["at_ms"], e["phase_ms"]) for e in line] == [
        ("loader", 110.0, 110.0), ("script", 320.0, 210.0), ("ready", 400.0, 80.0),
        ("mark:kaltura_web:ks", 500.0, 100.0)]
    assert line[0]["label"] == m.LANDMARK_LABELS["loader"]
    assert m.timeline_at(line, "ready") == 400.0 and m.timeline_at(line, "sdk_received") is None


def test_timeline_breaks_ties_in_landmark_order():
    """Two landmarks at the same time keep the documented order (interpreter before runtime loaded)."""
    line = m.timeline([{"runtime_loaded": 266.0, "interpreter": 266.0}])
    assert [e["key"] for e in line] == ["interpreter", "runtime_loaded"]


def _results():
    return {"ready_ms": {"mpy": 360.0, "mpy_floor": 300.0, "pyodide": 3400.0, "pyodide_floor": 3000.0, "js": 70.0},
            "bytes": {"mpy": 880_000, "mpy_floor": 780_000, "pyodide": 13_900_000, "pyodide_floor": 13_750_000},
            "event_us": {"mpy": 6.0, "pyodide": 4.0, "js": 3.0},
            "tbt_ms": {"mpy": 100.0, "mpy_floor": 50.0},
            "backlog_10k_s": 8.0, "enqueue_ratio_10k_vs_10": 0.5}


def test_verdicts_compare_the_measured_ratio_with_each_limit():
    """1.2x is met at exactly 1.2; 100 KB at exactly 100 KB; TBT must be strictly under 50 ms above the floor."""
    v = {x["id"]: x for x in m.verdicts(_results())}
    assert v["mpy_ready"]["value"] == 1.2 and v["mpy_ready"]["met"] is True
    assert abs(v["pyodide_ready"]["value"] - 3400 / 3000) < 1e-9 and v["pyodide_ready"]["met"] is False
    assert v["mpy_bytes"]["value"] == 100.0 and v["mpy_bytes"]["met"] is True
    assert v["pyodide_bytes"]["value"] == 150.0 and v["pyodide_bytes"]["met"] is False
    assert v["mpy_event"]["value"] == 2.0 and v["mpy_event"]["met"] is True
    assert abs(v["pyodide_event"]["value"] - 4 / 3) < 1e-9 and v["pyodide_event"]["met"] is True
    assert v["mpy_tbt"]["value"] == 50.0 and v["mpy_tbt"]["met"] is False


def test_a_target_that_could_not_be_measured_is_neither_met_nor_missed():
    """A missing number gives met None (shown as "not measured"), never a verdict."""
    r = _results()
    del r["tbt_ms"]["mpy_floor"]
    r["ready_ms"]["pyodide_floor"] = None
    v = {x["id"]: x for x in m.verdicts(r)}
    assert v["mpy_tbt"]["value"] is None and v["mpy_tbt"]["met"] is None
    assert v["pyodide_ready"]["met"] is None


def test_issue_5_targets_use_absolute_limits():
    """0.4 s and 1 MB for the MicroPython page, 25 us per event on Pyodide, 2x enqueue, 30 s backlog."""
    v = {x["id"]: x for x in m.verdicts(_results(), m.EARLIER_TARGETS)}
    assert v["mpy_ready_abs"]["value"] == 0.36 and v["mpy_ready_abs"]["met"] is True
    assert v["mpy_size"]["value"] == 0.88 and v["mpy_size"]["met"] is True
    assert v["pyodide_event_abs"]["met"] is True
    assert v["enqueue_ratio"]["met"] is True and v["backlog"]["met"] is True
