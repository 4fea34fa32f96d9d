"""start() on a fake page (tests/fake_page.py): ready without waiting for the KS or the
stored queue, nothing sent before a KS, a stored backlog sent ahead of what the page
recorded meanwhile, the performance marks, and only the modules a page needs imported."""

import asyncio
import subprocess
import sys

import pytest

from kaltura_web.browser import _env
from kaltura_web.browser.page import start
from kaltura_web.browser.storage import LocalStorageStore, QuotaExceeded
from kaltura_web.core.delivery import DeliveryEngine
from kaltura_web.core.encoding import STATS, TRACK
from tests.fake_page import FakePage, Transport, Video, settle
from tests.test_storage_budget import FakeStorage, stats, store_on, track

CONFIG = {"partnerId": 100, "serviceUrl": "https://collector.test/api_v3", "analyticsUrl": "https://collector.test",
          "userId": "viewer@example.com", "pageType": "lobby", "pageName": "main", "tabs": False}
MARKS = ["start", "imported", "config", "instrumented", "ready", "storage", "ks", "first-beacon"]


def marks(page):
    return [m.split(":", 1)[1] for m in page.performance.marks]


def by_queue(runtime, ids, queue):
    kinds = {r["i"]: r["k"] for r in runtime.tracker.queued()}
    return [i for i in ids if kinds.get(i, queue) == queue]


def play_to(video, positions):
    """The element plays on: a timeupdate at each position."""
    for position in positions:
        video.currentTime = position
        video.fire("timeupdate")


def test_ready_and_recording_before_the_ks_then_everything_in_order(monkeypatch):
    """With a KS provider that has not answered, start() returns and dispatches ready, the
    media is recorded and queued, nothing is sent; once the KS comes every beacon goes, in order, with it."""
    video = Video("0_lobby001")
    page = FakePage(CONFIG, [video]).install(monkeypatch)
    transport = Transport()

    async def main():
        gate = asyncio.get_running_loop().create_future()

        async def provider():
            return await gate

        starting = asyncio.ensure_future(start({"ksProvider": provider}, transport=transport))
        await settle()
        assert starting.done(), "start() is waiting for the KS"
        runtime = starting.result()
        assert page.ready() is not None and runtime.sender.held
        video.state(0.0, paused=False)
        video.fire("play")
        video.fire("playing")
        play_to(video, [0.5, 1.05])
        page.run_timers(0)  # the stored queue is read right after ready
        await settle()
        assert runtime.store_open and transport.requests == []
        assert page.event_names()[-2:] == ["FIRST_PLAY", "PLAY_REACHED_25"]
        queued = {q: [r["i"] for r in runtime.tracker.queued() if r["k"] == q] for q in (STATS, TRACK)}
        assert len(queued[STATS]) == 4 and len(queued[TRACK]) == 1  # WIDGET_LOADED..25, PageLoad
        assert "ks" not in marks(page)
        gate.set_result("ks-from-the-backend")
        await settle()
        sent = transport.beacon_ids()
        assert [i for i in sent if i in queued[STATS]] == queued[STATS]
        assert [i for i in sent if i in queued[TRACK]] == queued[TRACK]
        assert set(transport.kses()) == {"ks-from-the-backend"} and runtime.tracker.pending() == 0
        runtime.stop()

    asyncio.run(main())
    assert marks(page) == MARKS


def previous_visit(storage):
    """A first visit that never got a KS: its PageLoad, WIDGET_LOADED and a click stay stored.
    Returns their beacon ids by queue."""
    first = FakePage(CONFIG, [Video("0_lobby001")], storage=storage)
    with pytest.MonkeyPatch.context() as mp:
        first.install(mp)
        transport = Transport()

        async def visit():
            never = asyncio.get_running_loop().create_future()

            async def provider():
                return await never

            runtime = await start({"ksProvider": provider}, transport=transport)
            runtime.button("cta:register-now")
            first.run_timers(0)
            first.window.fire("pagehide")  # no KS: the keepalive flush sends nothing either
            await settle()
            ids = {q: [r["i"] for r in runtime.tracker.queued() if r["k"] == q] for q in (STATS, TRACK)}
            runtime.stop()
            never.cancel()
            return ids

        ids = asyncio.run(visit())
    assert transport.requests == []
    return ids


@pytest.mark.parametrize("tabs", [False, True])
def test_a_stored_backlog_goes_before_what_the_page_recorded_meanwhile(monkeypatch, tabs):
    """A backlog of an earlier visit is sent first, in its order, then the new page's beacons
    recorded before the stored queue was read; nothing leaves before the read (with or without the tabs' lease)."""
    storage = FakeStorage()
    old = previous_visit(storage)
    assert len(old[STATS]) == 2 and len(old[TRACK]) == 2  # WIDGET_LOADED, MEDIA_LOADED; PageLoad, the click
    video = Video("0_lobby001")
    page = FakePage(dict(CONFIG, ks="ks-now", tabs=tabs), [video], storage=storage).install(monkeypatch)
    transport = Transport()

    async def main():
        runtime = await start(transport=transport)
        assert page.ready()["pending"] == 3  # this page's WIDGET_LOADED, MEDIA_LOADED, PageLoad: not the backlog
        runtime.button("cta:register-now")
        await settle()
        assert transport.requests == [] and not runtime.store_open
        new = {q: [r["i"] for r in runtime.tracker.queued() if r["k"] == q] for q in (STATS, TRACK)}
        for _ in range(3):  # open_store, then the tabs' lease and its confirmation
            page.run_timers(200)
            await settle()
        sent = transport.beacon_ids()
        for queue in (STATS, TRACK):
            assert [i for i in sent if i in old[queue] + new[queue]] == old[queue] + new[queue]
        assert runtime.tracker.pending() == 0
        runtime.stop()

    asyncio.run(main())


def test_pagehide_before_the_read_sends_the_backlog_first(monkeypatch):
    """A page hidden before its stored queue was read reads it at once: the keepalive flush
    carries the backlog ahead of the new beacons; without a KS it sends nothing."""
    storage = FakeStorage()
    old = previous_visit(storage)
    page = FakePage(dict(CONFIG, ks="ks-now"), [Video("0_lobby001")], storage=storage).install(monkeypatch)
    transport = Transport()

    async def main():
        runtime = await start(transport=transport)
        new_stats = [r["i"] for r in runtime.tracker.queued() if r["k"] == STATS]
        page.window.fire("pagehide")
        await settle()
        assert runtime.store_open
        sent = list(dict.fromkeys(transport.beacon_ids()))  # the send loop may repeat what keepalive carries
        assert [i for i in sent if i in old[STATS] + new_stats] == old[STATS] + new_stats
        assert [i for i in sent if i in old[TRACK]] == old[TRACK]
        runtime.stop()

    asyncio.run(main())


def test_a_configured_ks_is_marked_at_start_and_a_failing_provider_keeps_everything(monkeypatch):
    """A KS in the configuration is there at once (the ks mark before ready); a provider that
    fails is retried later and meanwhile nothing leaves, not even on pagehide."""
    page = FakePage(CONFIG, [Video("0_lobby001")]).install(monkeypatch)
    transport = Transport()

    async def failing():
        raise RuntimeError("KS URL answered HTTP 503")

    async def main():
        runtime = await start({"ksProvider": failing}, transport=transport)
        page.run_timers(0)
        page.window.fire("pagehide")
        await settle()
        assert transport.requests == [] and runtime.sender.held and runtime.tracker.pending() == 3
        assert any(ms == 10000 for ms, _fn in page.host.timers.values())  # asked again in 10 s
        assert "ks-provider-failed" in [d["code"] for d in runtime.tracker.diagnostics]
        runtime.stop()

    asyncio.run(main())
    assert "ks" not in marks(page)
    other = FakePage(dict(CONFIG, ks="ks-now"), [])
    with pytest.MonkeyPatch.context() as mp:
        other.install(mp)
        asyncio.run(start(transport=Transport()))
    assert marks(other).index("ks") < marks(other).index("ready")


def test_the_store_before_its_scan_keeps_fifo_and_evicts_nothing_unread():
    """A store whose scan is deferred: appends sort after the stored backlog, load() before the
    scan is what it wrote, a full quota keeps the new record in memory (the unread backlog is not
    evicted), pruning waits for the scan; after it the engine has the backlog first."""
    storage = FakeStorage()
    earlier = store_on(storage)
    backlog = [stats(0), stats(1)]
    for record in backlog + [track(2)]:
        earlier.append(record["k"], record)
    lazy = store_on(storage, scan_later=True)
    engine = DeliveryEngine(store=lazy)
    assert engine.pending() == 0 and not lazy.scanned
    fresh = stats(3)
    engine.enqueue(fresh, 0.0)
    assert [r["i"] for r in lazy.load(STATS)] == [fresh["i"]]
    assert lazy.prune_contexts() == 0
    storage.quota = sum(len(k) + len(v) for k, v in storage.data.items()) + 10  # full
    crowded = stats(4)
    engine.enqueue(crowded, 0.0)
    assert engine.unpersisted == 1 and engine.storage_dropped == 0 and not engine.store_failed
    lazy.scan()
    engine.reload(0.0)
    assert [r["i"] for r in engine.records(STATS)] == [r["i"] for r in backlog] + [fresh["i"], crowded["i"]]
    assert engine.pending(TRACK) == 1


def test_a_quota_error_before_the_scan_is_not_a_store_failure():
    """setItem refusing for the quota before the scan leaves the store in use (the record stays in memory)."""
    storage = FakeStorage(quota=10)
    lazy = store_on(storage, scan_later=True)
    with pytest.raises(QuotaExceeded):
        lazy.write_item("k", "x" * 20)
    engine = DeliveryEngine(store=lazy)
    engine.enqueue(stats(5), 0.0)
    assert engine.unpersisted == 1 and not engine.store_failed and isinstance(engine.store, LocalStorageStore)


def test_marks_are_a_no_op_without_a_page():
    """_env.mark does nothing on plain CPython (no performance object to mark)."""
    assert _env.mark("start") is None


MEMORY_PAGE = """
import asyncio, sys
import pytest
from tests.fake_page import FakePage, Transport, Video
page = FakePage({"partnerId": 100, "storage": "memory", "ks": "k", "timeupdateGate": False}, [Video("0_lobby001")],
                storage=object())  # never touched: no localStorage store on this page
with pytest.MonkeyPatch.context() as mp:
    page.install(mp, preimport=False)
    from kaltura_web.browser import start
    asyncio.run(start(transport=Transport()))
print(sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("kaltura_web.browser.")))
"""


def test_a_memory_page_imports_neither_storage_nor_tabs():
    """A page with "storage": "memory" and its own transport never imports the localStorage store, the tabs or fetch."""
    out = subprocess.run([sys.executable, "-c", MEMORY_PAGE], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent)).stdout
    modules = out.strip().splitlines()[-1]
    assert "'driver'" in modules and "'media'" in modules
    for name in ("'storage'", "'storage_layout'", "'tabs'", "'transport'"):
        assert name not in modules, modules
