"""Automatic instrumentation follows the DOM (kaltura_web/browser/dom_watch.py) on a fake
page (tests/fake_page.py): media added after start() is attached, removed media is released
(session closed, listeners and proxies gone), a moved element keeps its session, a re-added
one gets a new session, buttons added later work; and the JavaScript that decides which
mutation batches reach Python, run in Node."""

import asyncio
import json
import shutil
import subprocess

import pytest

from kaltura_web.browser import _proxies, attach, dom_watch
from kaltura_web.browser.page import start
from kaltura_web.core.session import CLOSED
from tests.fake_page import Element, FakePage, Namespace, NodeList, Transport, Video

CONFIG = {"partnerId": 100, "serviceUrl": "https://collector.test/api_v3", "analyticsUrl": "https://collector.test",
          "userId": "viewer@example.com", "storage": "memory", "pageLoad": False}


class FakeObserver:
    """What OBSERVER_JS returns, standing in for the MutationObserver: ``batch()`` is a
    mutation batch the JavaScript filter let through (it calls Python's callback)."""

    def __init__(self, notify):
        self.notify = notify
        self.roots = []
        self.stopped = False

    def observe(self, root):
        self.roots.append(root)

    def stop(self):
        self.stopped = True

    def batch(self):
        if not self.stopped:
            self.notify()


class Dom:
    """A FakePage whose elements can come and go, and the observers the watcher made."""

    def __init__(self, monkeypatch, config=None, media=()):
        self.page = FakePage(dict(CONFIG, **(config or {})), []).install(monkeypatch)
        self.observers = []
        self.doc = self.page.document
        self.doc.isConnected = True
        self.inside = []  # elements in the page other than media (a section)
        self.doc.contains = lambda node: node is self.doc or any(node is n for n in self.doc.media + self.inside)

        def factory(notify):
            observer = FakeObserver(notify)
            self.observers.append(observer)
            return observer

        monkeypatch.setattr(dom_watch, "js", Namespace(eval=lambda source: factory))
        monkeypatch.setattr(dom_watch.csp, "js_value", lambda source: factory)
        monkeypatch.setattr(dom_watch, "_factory", [None])
        for video in media:
            self.add(video)

    def add(self, video):
        """Insert ``video`` into the page (the observer's callback has not run yet)."""
        video.isConnected = True
        self.doc.media.append(video)
        return video

    def remove(self, video):
        video.isConnected = False
        self.doc.media = [v for v in self.doc.media if v is not video]

    def batch(self):
        """The observer's callback runs."""
        (observer,) = self.observers
        observer.batch()

    def events(self, entry_id):
        """(name, sessionId) of the player events of ``entry_id``."""
        return [(e["name"], e["sessionId"]) for e in self.page.window.events("kaltura-web:event")
                if e["entryId"] == entry_id]

    def diagnostics(self):
        return [d["code"] for d in self.page.window.events("kaltura-web:diagnostic")]


def run(main):
    """Run the coroutine function ``main`` (start() is async; the rest runs inside it)."""
    return asyncio.run(main())


def play(video, positions):
    """The element starts playing (if paused) and plays on: a timeupdate at each position."""
    if video.paused:
        video.state(video.currentTime, paused=False)
        video.fire("play")
        video.fire("playing")
    for position in positions:
        video.currentTime = position
        video.fire("timeupdate")


def test_media_added_after_start_is_attached_and_reported_without_a_call(monkeypatch):
    """A video inserted after start() is attached when the observer's callback runs: WIDGET_LOADED, MEDIA_LOADED, then its playback, with no call from the page."""
    dom = Dom(monkeypatch)

    async def main():
        runtime = await start(transport=Transport())
        video = dom.add(Video("0_late001"))
        assert runtime.attachments == [] and dom.events("0_late001") == []  # nothing before the callback
        dom.batch()
        (handle,) = runtime.attachments
        assert handle.video is video and runtime.watcher.handles == [handle]
        play(video, [0.5, 1.05])
        names = [n for n, _ in dom.events("0_late001")]
        assert names[:2] == ["WIDGET_LOADED", "MEDIA_LOADED"] and "PLAY" in names and names[-1] == "PLAY_REACHED_25"
        assert len({s for _, s in dom.events("0_late001")}) == 1
        runtime.stop()

    run(main)


def test_a_moved_element_keeps_its_attachment_and_its_session(monkeypatch):
    """An element taken out and put back before the callback runs (a move) keeps its attachment and session: its playback goes on, no second WIDGET_LOADED."""
    video = Video("0_lobby001")
    dom = Dom(monkeypatch, media=[video])

    async def main():
        runtime = await start(transport=Transport())
        (handle,) = runtime.attachments
        play(video, [0.5, 1.05])
        session = handle.player.session_id
        dom.remove(video)
        dom.add(video)  # back in the page before the callback
        dom.batch()
        assert runtime.attachments == [handle] and handle.attached and runtime.watcher.released == 0
        play(video, [1.6, 2.1])
        assert dom.events("0_lobby001")[-1] == ("PLAY_REACHED_50", session)
        assert [n for n, _ in dom.events("0_lobby001")].count("WIDGET_LOADED") == 1
        assert {s for _, s in dom.events("0_lobby001")} == {session}
        runtime.stop()

    run(main)


def released_mid_playback(dom, runtime):
    """Add a video, play it to 50%, remove it; returns (video, its old attachment, live proxies and
    document listeners before it was added)."""
    base = (_proxies.live_proxies(), len(dom.doc.listeners))
    video = dom.add(Video("0_gone001"))
    dom.batch()
    (handle,) = runtime.attachments
    play(video, [0.5, 1.05, 2.05])
    assert _proxies.live_proxies() > base[0] and len(video.listeners) > 0  # the checks below can fail
    dom.remove(video)
    dom.batch()
    return video, handle, base


def test_removed_media_is_released_session_closed_listeners_and_proxies_gone(monkeypatch):
    """A video removed mid-playback: its session is closed, its listeners removed, its proxies destroyed, and runtime and tracker forget it; later events on it reach nothing."""
    dom = Dom(monkeypatch)

    async def main():
        runtime = await start(transport=Transport())
        video, handle, (live, doc_listeners) = released_mid_playback(dom, runtime)
        player = handle.player
        assert player.session.state == CLOSED and not handle.attached
        assert video.listeners == [] and len(dom.doc.listeners) == doc_listeners
        assert _proxies.live_proxies() == live and len(handle.proxies) == 0
        assert runtime.attachments == [] and player not in runtime.tracker.players
        assert runtime.watcher.handles == [] and runtime.watcher.released == 1
        before = len(dom.page.window.events("kaltura-web:event"))
        video.fire("pause")
        video.fire("ended")
        assert len(dom.page.window.events("kaltura-web:event")) == before
        assert "observation-not-allowed" not in dom.diagnostics() and "sdk-error" not in dom.diagnostics()
        runtime.stop()

    run(main)


def test_media_put_back_after_a_removal_gets_a_new_player_and_session(monkeypatch):
    """Re-inserted after the callback saw it gone: a new Player and session (WIDGET_LOADED again), its earlier playback not reconstructed; playing it reports PLAY there."""
    dom = Dom(monkeypatch)

    async def main():
        runtime = await start(transport=Transport())
        video, old, _ = released_mid_playback(dom, runtime)
        video.state(2.05, paused=True, played=[[0.0, 2.05]])  # the browser paused it when it left
        dom.add(video)
        dom.batch()
        (handle,) = runtime.attachments
        assert handle is not old and handle.player is not old.player and handle.reconstructed is None
        session = handle.player.session_id
        assert session != old.player.session_id
        assert dom.events("0_gone001")[-2:] == [("WIDGET_LOADED", session), ("MEDIA_LOADED", session)]
        assert "reconstructed" not in dom.diagnostics()
        play(video, [2.5])
        assert ("PLAY", session) in dom.events("0_gone001")
        assert runtime.tracker.players == [handle.player]
        runtime.stop()

    run(main)


def test_an_element_whose_entry_id_changes_is_attached_again_under_the_new_one(monkeypatch):
    """The entry-id attribute changed on an attached element: the old session is closed and a new Player reports the new entry."""
    video = Video("0_first001")
    dom = Dom(monkeypatch, media=[video])

    async def main():
        runtime = await start(transport=Transport())
        (old,) = runtime.attachments
        video.attributes["data-kaltura-entry-id"] = "0_second01"
        dom.batch()
        (handle,) = runtime.attachments
        assert old.player.session.state == CLOSED and handle.player.entry_id == "0_second01"
        assert [n for n, _ in dom.events("0_second01")] == ["WIDGET_LOADED", "MEDIA_LOADED"]
        runtime.stop()

    run(main)


def test_a_button_added_later_reports_its_click(monkeypatch):
    """A data-kaltura-button inserted after start() needs nothing: a click inside it sends ButtonClicked (delegation on document)."""
    dom = Dom(monkeypatch)

    async def main():
        runtime = await start(transport=Transport())
        button = Element("button", data_kaltura_button="cta:added-later", data_kaltura_button_value="7")
        label = Element("span")
        label.closest = lambda selector: button if selector == "[data-kaltura-button]" else None
        dom.doc.fire("click", target=label)
        (click,) = [r for r in runtime.tracker.queued() if r.get("e") == 10002]
        assert (click["bt"], click["bn"], click.get("bv")) == ("cta", "added-later", "7")
        runtime.stop()

    run(main)


def test_observe_false_makes_no_observer(monkeypatch):
    """With "observe": false nothing observes the DOM: no observer is made and media added later stays unattached."""
    dom = Dom(monkeypatch, config={"observe": False})

    async def main():
        runtime = await start(transport=Transport())
        dom.add(Video("0_late001"))
        assert runtime.watcher is None and dom.observers == [] and runtime.attachments == []
        runtime.stop()

    run(main)


def test_stop_disconnects_the_observer_and_destroys_its_callback(monkeypatch):
    """stop() disconnects the observer and destroys its proxy: a stale call from JavaScript attaches nothing."""
    dom = Dom(monkeypatch)

    async def main():
        runtime = await start(transport=Transport())
        watcher = runtime.watcher
        (observer,) = dom.observers
        assert len(watcher._owner) == 1
        runtime.stop()
        assert observer.stopped and len(watcher._owner) == 0 and runtime.watcher is None
        dom.add(Video("0_late001"))
        observer.notify()  # a reference JS kept: disarmed
        assert runtime.attachments == [] and "sdk-error" not in dom.diagnostics()

    run(main)


def test_a_root_inside_an_observed_one_is_not_observed_twice_and_attachments_of_the_page_are_its_own(monkeypatch):
    """instrument(root) inside the observed document adds no observation, another document does; an element the page attach()ed itself is left to the page when it leaves."""
    own = Video("0_custom01")
    dom = Dom(monkeypatch, media=[])

    async def main():
        runtime = await start(transport=Transport())
        (observer,) = dom.observers
        section = Element("section")
        section.isConnected = True
        section.querySelectorAll = lambda selector: NodeList()
        dom.inside.append(section)
        runtime.instrument(root=section)
        frame = Element("html")
        frame.isConnected = True
        frame.querySelectorAll = lambda selector: NodeList()
        runtime.instrument(root=frame)
        assert observer.roots == [dom.doc, frame]
        dom.add(own)
        handle = attach(own, "0_custom01")
        dom.remove(own)
        dom.batch()
        assert handle.attached and runtime.attachments == [handle] and runtime.watcher.released == 0
        runtime.stop()

    run(main)


# --- the JavaScript that decides which batches reach Python -------------------------------

NODE = shutil.which("node")
FILTER_JS = """
class Observer {
  constructor(callback) { Observer.last = this; this.callback = callback; this.off = false; }
  observe(root, options) { this.root = root; this.options = options; }
  disconnect() { this.off = true; }
}
global.MutationObserver = Observer;
function matches(node, selector) {  /* "tag" or "tag[attribute]", comma-separated */
  return selector.split(",").some(part => {
    const m = part.trim().match(/^(\\w+)(?:\\[([\\w-]+)\\])?$/);
    return node.tag === m[1] && (!m[2] || m[2] in node.attrs);
  });
}
function el(tag, attrs = {}, children = []) {
  const node = {nodeType: 1, tag, attrs, children,
    matches(s) { return matches(this, s); },
    querySelector(s) {
      for (const c of this.children) { if (c.nodeType === 1 && (c.matches(s) || c.querySelector(s))) return c; }
      return null;
    }};
  return node;
}
const text = {nodeType: 3};
const entry = {"data-kaltura-entry-id": "0_x"};
const added = (...nodes) => ({type: "childList", addedNodes: nodes, removedNodes: []});
const removed = (...nodes) => ({type: "childList", addedNodes: [], removedNodes: nodes});
const attribute = target => ({type: "attributes", target, addedNodes: [], removedNodes: []});
const batches = {
  "a div with text": [added(el("div", {}, [text]))],
  "a text node": [added(text)],
  "a video without an entry id": [added(el("video"))],
  "a video with an entry id": [added(el("video", entry))],
  "a section holding an audio with an entry id": [added(el("section", {}, [el("div", {}, [el("audio", entry)])]))],
  "a video without an entry id removed": [removed(el("video"))],
  "a div without media removed": [removed(el("div", {}, [el("p")]))],
  "the attribute changed on a video": [attribute(el("video", entry))],
  "the attribute changed on a div": [attribute(el("div", entry))],
  "noise then a video": [added(el("p")), added(el("video", entry)), removed(el("audio"))],
};
let calls = 0;
const w = (%s)(() => { calls++; });
w.observe("root");
const out = {calls: {}, options: Observer.last.options};
for (const [name, records] of Object.entries(batches)) {
  const before = calls;
  Observer.last.callback(records);
  out.calls[name] = calls - before;
}
out.counters = [w.batches, w.notified];
w.stop();
Observer.last.callback([added(el("video", entry))]);
out.afterStop = [calls, Observer.last.off];
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.skipif(NODE is None, reason="Node.js is part of `make setup` (the MicroPython vectors need it)")
def test_the_javascript_filter_calls_python_only_for_batches_that_add_or_remove_media():
    """OBSERVER_JS in Node: Python is called once for a batch adding media with an entry id, removing any media or changing the attribute on one, never for other DOM changes or after stop()."""
    out = json.loads(subprocess.run([NODE, "-e", FILTER_JS % dom_watch.OBSERVER_JS], capture_output=True,
                                    text=True, check=True, timeout=60).stdout)
    assert out["calls"] == {
        "a div with text": 0, "a text node": 0, "a video without an entry id": 0, "a video with an entry id": 1,
        "a section holding an audio with an entry id": 1, "a video without an entry id removed": 1,
        "a div without media removed": 0, "the attribute changed on a video": 1,
        "the attribute changed on a div": 0, "noise then a video": 1}
    assert out["options"] == {"childList": True, "subtree": True, "attributes": True,
                              "attributeFilter": ["data-kaltura-entry-id"]}
    assert out["counters"] == [10, 5]
    assert out["afterStop"] == [5, True]
