"""The pure arithmetic of the browser benchmark (unit-tested in
tests/test_bench_metrics.py): total blocking time, the start timeline of a
page built from what the probe recorded, medians that tolerate missing
values, and the verdicts on the issue's targets.

Times are milliseconds since the page's navigation started
(``performance.now()``), as the browser reports them."""

import statistics

# a task blocks the main thread for the part of it beyond 50 ms (the Long Tasks API's threshold)
BLOCKING_THRESHOLD_MS = 50.0

# The pages measured side by side: key in results.json, label, path.  A floor page is the same
# page (same video and markup) with the same interpreter started but without the SDK.
PAGES = (
    ("mpy", "PyScript + MicroPython", "/web/portal-mpy.html"),
    ("mpy_floor", "PyScript + MicroPython, no SDK (floor)", "/web/bench/mpy-empty.html"),
    ("pyodide", "PyScript + Pyodide", "/web/portal.html"),
    ("pyodide_floor", "PyScript + Pyodide, no SDK (floor)", "/web/bench/pyodide-empty.html"),
    ("js", "JavaScript baseline", "/web/bench/baseline.html"),
)
RUNTIME = {"mpy": "mpy", "mpy_floor": "mpy", "pyodide": "py", "pyodide_floor": "py", "js": None}

# Start landmarks, in the order used when two fall at the same time: key, label.
#   progress:<text>  a PyScript "<mpy|py>:progress" event with that text
#   script           PyScript's "<mpy|py>:ready" (the interpreter is up, the script is about to run)
#   mark:<name>      a performance mark the SDK sets (kaltura_web/browser)
#   ready            the "kaltura-web:ready" event (what "ready" means in every table)
#   sdk_*, ks_*, wasm, first_beacon_sent  Resource Timing entries (see ``landmarks``)
LANDMARKS = (
    ("loader", "PyScript and the interpreter's loader loaded"),
    ("wasm", "runtime binary (.wasm) received"),
    ("interpreter", "interpreter started (Pyodide: with the wheel installed)"),
    ("sdk_requested", "SDK archive requested"),
    ("sdk_received", "SDK archive received"),
    ("sdk_unpacked", "SDK archive in the interpreter (PyScript's files)"),
    ("runtime_loaded", "runtime loaded (PyScript done with files and packages)"),
    ("script", "page script started (PyScript's ready event)"),
    ("mark:kaltura_web:unpacked", "SDK modules unpacked (MicroPython: the bundle's first import)"),
    ("mark:kaltura_web:start", "start() entered (the page script imported the SDK)"),
    ("mark:kaltura_web:imported", "the rest of the SDK imported"),
    ("mark:kaltura_web:config", "configuration read"),
    ("mark:kaltura_web:storage", "stored queue scanned"),
    ("mark:kaltura_web:instrumented", "media instrumented"),
    ("mark:kaltura_web:ready", "SDK listening (ready mark)"),
    ("ready", "kaltura-web:ready dispatched"),
    ("ks_requested", "KS requested"),
    ("ks_received", "KS response received"),
    ("mark:kaltura_web:ks", "KS obtained"),
    ("first_beacon_sent", "first beacon sent"),
    ("mark:kaltura_web:first-beacon", "first beacon accepted"),
)
LANDMARK_LABELS = dict(LANDMARKS)
_ORDER = {key: i for i, (key, _) in enumerate(LANDMARKS)}


def median(values):
    """Median of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(a, b):
    """a / b, or None when either is missing or b is not positive."""
    if a is None or b is None or b <= 0:
        return None
    return a / b


def total_blocking_time(tasks, start=None, end=None):
    """Sum of max(0, duration - 50 ms) over the long tasks ``[(startTime, duration), ...]``
    that start in [start, end) (either bound may be None: open)."""
    total = 0.0
    for begin, duration in tasks:
        if start is not None and begin < start:
            continue
        if end is not None and begin >= end:
            continue
        total += max(0.0, duration - BLOCKING_THRESHOLD_MS)
    return total


def _first(entries, predicate):
    hits = [e for e in entries if predicate(e["name"])]
    return min(hits, key=lambda e: e["startTime"]) if hits else None


def _is_archive(name):
    path = name.split("?")[0]
    return path.endswith("/kaltura_web.mpy") or (
        "/kaltura_web-" in path and path.endswith(".whl"))


def _is_beacon(name):
    return "/api_v3/" in name and "/dev/ks" not in name


def landmarks(probe, runtime):
    """``{landmark key: ms}`` of one page load.

    ``probe``: what the page recorded: ``at`` (``{"script": ms, "ready": ms}``),
    ``progress`` (``[[text, ms], ...]`` of PyScript's progress events), ``marks``
    (``[[name, ms], ...]``), ``resources`` (Resource Timing entries with ``name``,
    ``startTime``, ``responseEnd``).  ``runtime``: "mpy", "py" or None (no PyScript).
    Landmarks the page did not reach are left out."""
    out = {}
    at = probe.get("at") or {}
    for key in ("script", "ready"):
        if at.get(key) is not None:
            out[key] = at[key]
    progress = {}
    for text, t in probe.get("progress") or ():
        progress.setdefault(text, t)
    resources = probe.get("resources") or []
    if runtime == "mpy":
        name = "MicroPython"
    elif runtime == "py":
        name = "Pyodide"
    else:
        name = None
    if name is not None:
        if "Loading " + name in progress:
            out["loader"] = progress["Loading " + name]
        if "Loaded " + name in progress:
            out["runtime_loaded"] = progress["Loaded " + name]
        if runtime == "mpy":
            # MicroPython starts, then PyScript fetches and unpacks the "files" of the config
            started = progress.get("Loading files", progress.get("Loaded " + name))
            if "Loaded files" in progress:
                out["sdk_unpacked"] = progress["Loaded files"]
        else:
            # Pyodide loads the page's packages inside its own start ("Loaded interpreter")
            started = progress.get("Loaded interpreter")
        if started is not None:
            out["interpreter"] = started
        wasm = _first(resources, lambda n: n.split("?")[0].endswith(".wasm"))
        if wasm is not None:
            out["wasm"] = wasm["responseEnd"]
    archive = _first(resources, _is_archive)
    if archive is not None:
        out["sdk_requested"] = archive["startTime"]
        out["sdk_received"] = archive["responseEnd"]
    ks = _first(resources, lambda n: "/dev/ks" in n)
    if ks is not None:
        out["ks_requested"] = ks["startTime"]
        out["ks_received"] = ks["responseEnd"]
    beacon = _first(resources, _is_beacon)
    if beacon is not None:
        out["first_beacon_sent"] = beacon["startTime"]
    for mark, t in probe.get("marks") or ():
        key = "mark:" + mark
        if key in _ORDER and key not in out:
            out[key] = t
    return out


def timeline(runs):
    """The median start timeline of a page over ``runs`` (each a ``landmarks`` dict):
    ``[{"key", "label", "at_ms", "phase_ms"}, ...]`` in time order, where ``phase_ms`` is
    the time from the previous landmark (the first from navigation start).  A landmark
    appears when any run reached it; its time is the median over the runs that did."""
    keys = set()
    for run in runs:
        keys.update(run)
    at = {key: median([run.get(key) for run in runs]) for key in keys}
    ordered = sorted(keys, key=lambda k: (at[k], _ORDER.get(k, len(_ORDER))))
    out = []
    previous = 0.0
    for key in ordered:
        out.append({"key": key, "label": LANDMARK_LABELS.get(key, key),
                    "at_ms": at[key], "phase_ms": at[key] - previous})
        previous = at[key]
    return out


def timeline_at(entries, key):
    """The ``at_ms`` of landmark ``key`` in a ``timeline``; None when it is not there."""
    for entry in entries:
        if entry["key"] == key:
            return entry["at_ms"]
    return None


# The issue-12 targets: (id, text, how the measured ratio is computed, limit).  A target is met
# when its measured value is at most the limit; a missing measurement is "not measured".
def _get(results, *path):
    value = results
    for key in path:
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return value


def _diff(a, b):
    return None if a is None or b is None else a - b


# (id, text, unit, limit, strict, measure): met when the measured value is at most the limit
# (below it when strict); a value that could not be measured is "not measured".
TARGETS = (
    ("mpy_ready", "MicroPython page ready within 1.2x the empty MicroPython page",
     "x", 1.2, False, lambda r: ratio(_get(r, "ready_ms", "mpy"), _get(r, "ready_ms", "mpy_floor"))),
    ("pyodide_ready", "Pyodide page ready within 1.1x the empty Pyodide page",
     "x", 1.1, False, lambda r: ratio(_get(r, "ready_ms", "pyodide"), _get(r, "ready_ms", "pyodide_floor"))),
    ("mpy_bytes", "at most 100 KB of transfer beyond the runtime, MicroPython page",
     "KB", 100.0, False, lambda r: _kb(_diff(_get(r, "bytes", "mpy"), _get(r, "bytes", "mpy_floor")))),
    ("pyodide_bytes", "at most 100 KB of transfer beyond the runtime, Pyodide page",
     "KB", 100.0, False, lambda r: _kb(_diff(_get(r, "bytes", "pyodide"), _get(r, "bytes", "pyodide_floor")))),
    ("pyodide_event", "timeupdate within 1.5x the JS baseline on Pyodide (gated)",
     "x", 1.5, False, lambda r: ratio(_get(r, "event_us", "pyodide"), _get(r, "event_us", "js"))),
    ("mpy_event", "timeupdate within 2x the JS baseline on MicroPython (gated)",
     "x", 2.0, False, lambda r: ratio(_get(r, "event_us", "mpy"), _get(r, "event_us", "js"))),
    ("mpy_tbt", "MicroPython page total blocking time under 50 ms above its floor",
     "ms", 50.0, True, lambda r: _diff(_get(r, "tbt_ms", "mpy"), _get(r, "tbt_ms", "mpy_floor"))),
)
# issue 5's targets, kept in view
EARLIER_TARGETS = (
    ("mpy_ready_abs", "MicroPython page ready in under 0.4 s",
     "s", 0.4, True, lambda r: _s(_get(r, "ready_ms", "mpy"))),
    ("mpy_size", "MicroPython page under 1 MB",
     "MB", 1.0, True, lambda r: _mb(_get(r, "bytes", "mpy"))),
    ("pyodide_event_abs", "timeupdate under 25 us on Pyodide (gated)",
     "us", 25.0, True, lambda r: _get(r, "event_us", "pyodide")),
    ("enqueue_ratio", "enqueue at 10,000 queued within 2x of enqueue at 10",
     "x", 2.0, False, lambda r: _get(r, "enqueue_ratio_10k_vs_10")),
    ("backlog", "10,000-beacon backlog delivered in under 30 s",
     "s", 30.0, True, lambda r: _get(r, "backlog_10k_s")),
)


def _s(value):
    return None if value is None else value / 1000.0


def _mb(value):
    return None if value is None else value / 1e6


def _kb(value):
    return None if value is None else value / 1000.0


def verdicts(results, targets=TARGETS):
    """``[{"id", "target", "value", "unit", "limit", "met"}, ...]`` for ``targets``
    (``met`` is None when the value could not be measured)."""
    out = []
    for ident, text, unit, limit, strict, measure in targets:
        value = measure(results)
        if value is None:
            met = None
        else:
            met = value < limit if strict else value <= limit
        out.append({"id": ident, "target": text, "value": value, "unit": unit, "limit": limit,
                    "met": met})
    return out
