"""localStorage budget: characters per queued beacon, a small storageBudget, and an origin
whose localStorage is already full of another application's keys."""

import json

from e2e_helpers import assert_stored_once, wait_in_page

PAGE = "/web/pyodide.html"
LONG_REFERRER = ("https://events.example-portal.com/lobby/main-stage/sessions/2024-keynote?"
                 "utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch&ref=homepage-hero"
                 "&lang=en-US")

# fills this origin's localStorage with another app's keys until setItem throws, then frees
# about 3 KB: room for a context and a few records (runs before any page script, once)
FILL_SCRIPT = """
if (!localStorage.getItem('other-app:filled')) {
  localStorage.setItem('other-app:filled', '1');
  let n = 0;
  for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 8, 16]) {
    const chunk = 'j'.repeat(size);
    for (;;) { try { localStorage.setItem('other-app:junk:' + (n++), chunk); } catch (e) { break; } }
  }
  let freed = 0;
  for (let i = n - 1; i >= 0 && freed < 2500; i--) {
    const k = 'other-app:junk:' + i, v = localStorage.getItem(k);
    if (v !== null) { freed += k.length + v.length; localStorage.removeItem(k); }
  }
}
"""


def py(page, code):
    return page.evaluate("c => window.pyodide.runPython(c)", code)


def engine_state(page):
    return json.loads(py(page, """
import json
from kaltura_web.browser import current
t = current().tracker
e = t.engine
json.dumps({"storage_dropped": e.storage_dropped, "unpersisted": e.unpersisted, "pending": e.pending(),
            "store_failed": e.store_failed, "codes": [d["code"] for d in t.diagnostics], "lost": dict(t.lost)})
"""))


def record_sizes(page):
    return page.evaluate("""Object.keys(localStorage).filter(k => k.includes(':q:'))
        .map(k => k.length + localStorage.getItem(k).length)""")


def start_manual(p, config):
    p.page.goto(p.base + PAGE + "?manual=1")
    wait_in_page(p.page, "window.pyodide !== undefined", "Pyodide to load", timeout=60_000)
    p.page.evaluate("c => window.pyodide.runPythonAsync('from kaltura_web.browser import start\\n"
                    "import json\\nawait start(json.loads(' + JSON.stringify(JSON.stringify(c)) + '))')",
                    config)
    p.wait_ready()


def click_offline(p, kc, rounds):
    """Once the page's first two events are stored, go offline and click the three buttons ``rounds`` times."""
    kc.wait_for_events(2)
    p.context.set_offline(True)
    for _ in range(rounds):
        for button in ("#cta", "#share", "#download"):
            p.page.click(button)


def test_queued_beacon_size_and_small_budget(kw_pages, kaltura_collector):
    """Offline with storageBudget 3000: each queued beacon takes at most 300 characters, the
    oldest are dropped and reported, memory agrees with storage, the rest arrives once online."""
    kc = kaltura_collector
    p = kw_pages(PAGE, wait_ready=False)
    start_manual(p, {"storageBudget": 3000, "referrer": LONG_REFERRER})
    click_offline(p, kc, rounds=8)
    sizes = record_sizes(p.page)
    print("characters per queued beacon (key + value):", sorted(set(sizes)))
    assert sizes and max(sizes) <= 300
    state = engine_state(p.page)
    assert state["storage_dropped"] > 0
    assert "storage-full" in state["codes"] and state["lost"].get("storage-evicted", 0) > 0
    assert state["pending"] == len(sizes)  # the in-memory queue is what storage holds
    used = p.page.evaluate("""Object.keys(localStorage).filter(k => k.startsWith('kaltura_web:'))
        .reduce((n, k) => n + k.length + localStorage.getItem(k).length, 0)""")
    assert used <= 3000 + 200  # budget over records and contexts (+ counters, the lease)
    kept = state["pending"]
    before = len(kc.events())
    p.context.set_offline(False)
    kc.wait_for_events(before + kept, timeout=20)
    p.wait_queued("=== 0", "the queue to drain once online")
    track = [e for e in kc.events() if e["event_type"] == 10002]
    assert track and all(e["fields"].get("buttonName") for e in track)
    stats = [e for e in kc.events() if e["service"] == "stats"]
    assert all(e["fields"].get("referrer") == LONG_REFERRER for e in stats)  # restored from the context
    assert_stored_once(kc)


def test_full_local_storage_keeps_working(kw_pages, kaltura_collector):
    """localStorage already near its quota with another app's keys: no exception reaches the
    page, the oldest beacons are dropped and counted, and events are delivered when online."""
    kc = kaltura_collector

    def setup(p):
        p.context.add_init_script(FILL_SCRIPT)

    p = kw_pages(PAGE, setup=setup)
    junk = p.page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('other-app:junk')).length")
    assert junk > 3
    click_offline(p, kc, rounds=10)
    state = engine_state(p.page)
    assert not state["store_failed"]
    assert state["storage_dropped"] + state["unpersisted"] > 0
    assert "storage-full" in state["codes"]
    stored = p.page.evaluate("Object.keys(localStorage).filter(k => k.includes(':q:')).length")
    assert 0 < stored <= state["pending"]
    p.context.set_offline(False)
    kc.wait_for_events(timeout=20, predicate=lambda evs: any(e["event_type"] == 10002 for e in evs))
    p.wait_queued("=== 0", "the queue to drain once online")
    # online again: new events are stored and delivered
    before = len([e for e in kc.events() if e["event_type"] == 10002])
    p.page.click("#cta")
    kc.wait_for_events(timeout=10, predicate=lambda evs: len([e for e in evs if e["event_type"] == 10002]) > before)
    assert p.page.evaluate("window.__kwErrors") == []
    assert p.page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('other-app:junk')).length") == junk
    assert_stored_once(kc)
    assert kc.verify() == []
