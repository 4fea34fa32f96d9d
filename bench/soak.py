"""`make soak` (or .venv/bin/python bench/soak.py): "a day in an hour".

1. Each SDK page (Pyodide: web/portal.html, MicroPython: web/portal-mpy.html)
   loops the 4-s clip web/media/test.webm (``<video loop>``) at 16x against the
   local collector for SOAK_MINUTES, sampled every SOAK_SAMPLE_SECONDS: JS
   heap after garbage collection, the WebAssembly memory, the runtime's own
   heap (Python objects on Pyodide, gc.mem_alloc() on MicroPython), live
   proxies, the SDK's listeners and every JS listener, what the SDK's lists
   and dicts hold, localStorage keys and bytes, loops, beacons stored
   (bench/soak_browser.py).
2. On CPython, ``SyncSender`` sends SOAK_BEACONS beacons through the collector
   while resident memory is sampled, and one playback session runs for
   SOAK_SESSION_HOURS of simulated time (bench/soak_cpython.py).

It prints the growth per 1,000 loops, per 100,000 beacons and per simulated
hour after warm-up, with its 95% confidence interval and the noise it is
judged against (bench/soak_metrics.py says how), writes bench/soak.json and
regenerates README.md's soak block.  Not part of `make test`.

Settings (environment; defaults give about 7 minutes on 2 cores):
SOAK_MINUTES per page (2; 60 is the real "day in an hour"),
SOAK_SAMPLE_SECONDS (60, or a twentieth of a run shorter than 20 minutes),
SOAK_RATE (16, Chromium's highest playback rate), SOAK_PROTOCOL ("both": the
guide's and KAVA's reporters at once; "guide" or "kava"), SOAK_PAGES
("pyodide,micropython"), SOAK_BEACONS (100000; 1000000 for the long run),
SOAK_SESSION_HOURS (24), SOAK_WARMUP (0.25, the fraction of each run's
samples set aside).  Options: --no-browser, --no-cpython, --no-write (print
only; bench/soak.json and the README keep the last full run)."""

import datetime
import json
import os
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(BENCH))
sys.path.insert(0, BENCH)

import soak_metrics  # noqa: E402
import soak_report  # noqa: E402

RESULTS = os.path.join(BENCH, "soak.json")
CLIP = "web/media/test.webm"  # the clip web/portal*.html play (4 s)
FLAGS = {"--no-browser", "--no-cpython", "--no-write"}


def _number(name, default, kind=float, low=0.0):
    raw = os.environ.get(name, "")
    value = kind(raw) if raw.strip() else default
    if not value > low:
        raise ValueError("%s must be greater than %g, got %r" % (name, low, raw))
    return value


def settings():
    minutes = _number("SOAK_MINUTES", 2.0)
    sample = _number("SOAK_SAMPLE_SECONDS", 60.0 if minutes >= 20 else max(3.0, minutes * 60 / 20))
    rate = _number("SOAK_RATE", 16.0)
    if rate > 16:
        raise ValueError("SOAK_RATE above 16: Chromium refuses playback rates beyond 16x")
    protocol = os.environ.get("SOAK_PROTOCOL", "").strip() or "both"
    if protocol not in ("guide", "kava", "both"):
        raise ValueError("SOAK_PROTOCOL must be guide, kava or both, got %r" % protocol)
    pages = [p.strip() for p in (os.environ.get("SOAK_PAGES") or "pyodide,micropython").split(",") if p.strip()]
    unknown = [p for p in pages if p not in ("pyodide", "micropython")]
    if unknown:
        raise ValueError("SOAK_PAGES names unknown pages: %s" % ", ".join(unknown))
    warmup = float(os.environ.get("SOAK_WARMUP") or soak_metrics.DEFAULT_WARMUP)
    if not 0 <= warmup < 0.9:
        raise ValueError("SOAK_WARMUP is a fraction in [0, 0.9)")
    return {"minutes": minutes, "sample_seconds": sample, "rate": rate, "protocol": protocol,
            "pages": pages, "beacons": _number("SOAK_BEACONS", 100000, int),
            "session_hours": _number("SOAK_SESSION_HOURS", 24.0), "warmup": warmup, "clip": CLIP}


def _log(message):
    print("[soak] " + message, file=sys.stderr, flush=True)


def run_browser(s):
    from playwright.sync_api import sync_playwright

    import soak_browser
    from conftest import CHROMIUM, CHROMIUM_FLAGS
    from kaltura_web.collector.server import CollectorServer

    out = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        db = os.path.join(tmp, "soak.db")
        with CollectorServer(db=db) as server:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            version = browser.version
            try:
                for name in s["pages"]:
                    run = soak_browser.soak_page(browser, server.base_url, db, name, s["minutes"] * 60,
                                                 s["sample_seconds"], s["rate"], s["protocol"])
                    out[name] = soak_report.summarize_page(name, run, s["warmup"])
            finally:
                browser.close()
    return out, version


def run_cpython(s):
    import soak_cpython

    _log("cpython: %d beacons through the collector" % s["beacons"])
    sent = soak_cpython.beacons(s["beacons"])
    _log("cpython: one session of %g simulated hours" % s["session_hours"])
    session = soak_cpython.long_session(s["session_hours"])
    session["hours"] = s["session_hours"]
    return {"beacons": soak_report.summarize_process(sent, "beacons", soak_report.PER_BEACONS, s["warmup"]),
            "session": soak_report.summarize_process(session, "hours", soak_report.PER_HOUR, s["warmup"])}


def _loads(results):
    loads = []
    for page in (results.get("browser") or {}).values():
        loads += [x for x in page["load"] if x is not None]
    beacons = (results.get("cpython") or {}).get("beacons")
    if beacons:
        loads += [x.get("load") for x in beacons["samples"] if x.get("load") is not None]
    if not loads:
        return "-"
    return "%.1f-%.1f" % (min(loads), max(loads))


def problems(results):
    """What makes the run fail (exit 1): a page whose queue did not drain, beacons
    lost or not stored.  (Console errors of a page are kept in soak.json and
    shown in the block, not a failure: a busy machine can cause some.)"""
    out = []
    for name, page in (results.get("browser") or {}).items():
        if not page["drained"]:
            out.append("%s: the queue did not drain" % name)
    beacons = (results.get("cpython") or {}).get("beacons")
    if beacons and (beacons["stored"] != beacons["sent"] or beacons["sent"] != beacons["requested"]):
        out.append("cpython: %d beacons requested, %d sent, %d stored"
                   % (beacons["requested"], beacons["sent"], beacons["stored"]))
    return out


def main(argv=None):
    flags = set(sys.argv[1:] if argv is None else argv)
    if flags - FLAGS:
        print("unknown option(s): %s" % ", ".join(sorted(flags - FLAGS)), file=sys.stderr)
        return 2
    try:
        s = settings()
    except ValueError as exc:
        print("soak: %s" % exc, file=sys.stderr)
        return 2
    results = {"schema": 1, "measured_at": datetime.date.today().isoformat(), "settings": s}
    version = None
    if "--no-cpython" not in flags:
        results["cpython"] = run_cpython(s)
        results["cpython"]["beacons"]["requested"] = s["beacons"]
    if "--no-browser" not in flags:
        results["browser"], version = run_browser(s)
    results["machine"] = {"cores": os.cpu_count(), "chromium": version, "platform": sys.platform,
                          "load": _loads(results)}
    results["rows"] = soak_report.rows(results)
    print(soak_report.render(results))
    for name, page in (results.get("browser") or {}).items():
        for error in page["errors"]:
            _log("WARNING: %s page console error: %s" % (name, error))
    failed = problems(results)
    complete = not (flags & {"--no-browser", "--no-cpython", "--no-write"})
    if complete and not failed:
        with open(RESULTS, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, sort_keys=True)
            f.write("\n")
        soak_report.update_readme(results)
        _log("wrote bench/soak.json and README.md's soak block")
    for problem in failed:
        print("FAILED: " + problem, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
