"""A page for the browser edge on CPython: window, document, media elements,
performance marks, localStorage and setTimeout as plain Python objects.

``FakePage.install(monkeypatch)`` points the edge's ``js`` at it (``_runtime``,
``_env``, ``_timers``, ``storage``), so ``start()``, ``attach()`` and the
sender run as on a page; timers run only when the test calls ``run_timers``.
Everything the SDK dispatches on window lands in ``page.window.dispatched``.
"""

import asyncio
import json
import sys
import urllib.parse

from kaltura_web.core.ports import Response
from tests.fakes import calls


class Target:
    """An EventTarget: addEventListener / removeEventListener / dispatchEvent."""

    def __init__(self):
        self.listeners = []

    def addEventListener(self, name, fn, *options):
        self.listeners.append((name, fn))

    def removeEventListener(self, name, fn, *options):
        self.listeners = [(n, f) for n, f in self.listeners if not (n == name and f is fn)]

    def dispatchEvent(self, event):
        for name, fn in list(self.listeners):
            if name == event.type:
                fn(event)
        return True

    def fire(self, name, **attributes):
        """Dispatch a plain event ``name`` (``attributes`` on the event)."""
        event = Event(name, None)
        event.target = self
        event.__dict__.update(attributes)
        self.dispatchEvent(event)


class Event:
    def __init__(self, name, options):
        self.type = name
        self.detail = (options or {}).get("detail")


class CustomEvent:
    @staticmethod
    def new(name, options=None):
        return Event(name, options)


class Element(Target):
    def __init__(self, tag="div", **attributes):
        super().__init__()
        self.tag = tag
        self.attributes = {k.replace("_", "-"): v for k, v in attributes.items()}
        self.textContent = ""

    def getAttribute(self, name):
        return self.attributes.get(name)


class TimeRanges:
    def __init__(self, ranges):
        self.ranges = [tuple(r) for r in ranges]

    @property
    def length(self):
        return len(self.ranges)

    def start(self, i):
        return self.ranges[i][0]

    def end(self, i):
        return self.ranges[i][1]


class Video(Element):
    """A <video>: its state is set by the test (``state(...)``), its events fired with ``fire``."""

    def __init__(self, entry_id=None, duration=4.0):
        attributes = {"data_kaltura_entry_id": entry_id} if entry_id else {}
        super().__init__("video", **attributes)
        self.currentTime = 0.0
        self.duration = duration
        self.paused = True
        self.ended = False
        self.seeking = False
        self.playbackRate = 1.0
        self.readyState = 4
        self.videoWidth, self.videoHeight = 320, 180
        self.volume = 1.0
        self.muted = True
        self.played = TimeRanges([])
        self.textTracks = None
        self.error = None

    def state(self, position, paused, ended=False, played=None):
        self.currentTime = position
        self.paused = paused
        self.ended = ended
        self.played = TimeRanges(played if played is not None else ([[0.0, position]] if position else []))
        return self


class NodeList(list):
    @property
    def length(self):
        return len(self)


class Document(Target):
    def __init__(self, config, media, body=None):
        super().__init__()
        self.config_tag = Element("script")
        self.config_tag.textContent = json.dumps(config)
        self.media = media
        self.body = body or Element("body")
        self.visibilityState = "visible"
        self.fullscreenElement = None

    def getElementById(self, element_id):
        return self.config_tag if element_id == "kaltura-web-config" else None

    def querySelectorAll(self, selector):
        return NodeList(v for v in self.media if v.getAttribute("data-kaltura-entry-id"))


class Window(Target):
    def __init__(self, storage):
        super().__init__()
        self.localStorage = storage
        self.dispatched = []  # (name, detail) of every event the SDK dispatched

    def dispatchEvent(self, event):
        self.dispatched.append((event.type, event.detail))
        return super().dispatchEvent(event)

    def events(self, name):
        return [detail for n, detail in self.dispatched if n == name]


class Performance:
    def __init__(self):
        self.clock = 0.0
        self.marks = []

    def now(self):
        self.clock += 1.0
        return self.clock

    def mark(self, name):
        self.marks.append(name)


class Host:
    """setTimeout / clearTimeout that run only when the test says so."""

    def __init__(self):
        self.timers = {}
        self.next_id = 1

    def setTimeout(self, fn, ms):
        tid, self.next_id = self.next_id, self.next_id + 1
        self.timers[tid] = (ms, fn)
        return tid

    def clearTimeout(self, tid):
        self.timers.pop(tid, None)


class Namespace:
    def __init__(self, **values):
        self.__dict__.update(values)


class Transport:
    """The page's fetch: answers every beacon as accepted and keeps the requests
    (``send`` is a coroutine, as ``FetchTransport.send``)."""

    def __init__(self):
        self.requests = []

    async def send(self, request, keepalive=False, **options):
        self.requests.append(request)
        if "multirequest" in request.url:
            return Response(200, {}, json.dumps([True] * len(calls(request))))
        return Response(200, {}, "true" if request.queue == "s" else "null")

    def beacon_ids(self):
        """The beacon ids sent, in order (a multirequest's in its order)."""
        return [beacon_id for request in self.requests for beacon_id in request.beacon_ids]

    def kses(self):
        """The ``ks`` of every request sent."""
        return [dict(urllib.parse.parse_qsl(r.body)).get("ks") for r in self.requests]


class FakePage:
    """One page: ``config`` (the JSON tag), ``media`` (Video elements), a
    localStorage (``storage``, shared between two pages of one origin)."""

    def __init__(self, config, media=(), storage=None, snippet=None):
        if storage is None:
            from tests.test_storage_budget import FakeStorage  # (imports the localStorage store)

            storage = FakeStorage()
        self.storage = storage
        self.window = Window(self.storage)
        if snippet is not None:
            self.window.kalturaWebQueue = snippet
        self.document = Document(config, list(media))
        self.performance = Performance()
        self.host = Host()
        self.js = Namespace(
            window=self.window, document=self.document, performance=self.performance,
            location=Namespace(href="https://portal.example/lobby"),
            navigator=Namespace(onLine=True, locks=None),
            URL=Namespace(new=lambda url, base: Namespace(href=urllib.parse.urljoin(base, url))),
            CustomEvent=CustomEvent, console=Namespace(debug=print, warn=print, error=print, log=print),
            setTimeout=self.host.setTimeout, clearTimeout=self.host.clearTimeout,
            Math=Namespace(random=lambda: 0.5))

    def install(self, monkeypatch, preimport=True):
        """Make the browser edge see this page (undone by pytest's monkeypatch).

        The edge modules are imported first (``preimport``), so that those that
        copy ``IN_BROWSER`` at import keep the real value (no JS timeupdate gate here)."""
        if preimport:
            from kaltura_web.browser import driver, early, media, storage, tabs, transport  # noqa: F401
        from kaltura_web.browser import _env, _runtime, _timers, page

        monkeypatch.setattr(_runtime, "IN_BROWSER", True)
        monkeypatch.setattr(_env, "IN_BROWSER", True)
        monkeypatch.setattr(_env, "js", self.js)
        monkeypatch.setattr(_timers, "js", self.js)
        storage = sys.modules.get("kaltura_web.browser.storage")
        if storage is not None:  # imported later, it copies the patched values itself
            monkeypatch.setattr(storage, "IN_BROWSER", True)
            monkeypatch.setattr(storage, "js", self.js)
        monkeypatch.setattr(page, "_current", [None])
        return self

    def run_timers(self, max_ms=None):
        """Run the timers due within ``max_ms`` (all when None), oldest first; returns how many ran."""
        ran = 0
        for tid in sorted(self.host.timers):
            ms, fn = self.host.timers[tid]
            if max_ms is None or ms <= max_ms:
                del self.host.timers[tid]
                fn()
                ran += 1
        return ran

    def event_names(self, entry_id=None):
        """The player events the SDK dispatched (``kaltura-web:event``), in order."""
        return [e["name"] for e in self.window.events("kaltura-web:event")
                if entry_id is None or e.get("entryId") == entry_id]

    def ready(self):
        events = self.window.events("kaltura-web:ready")
        return events[-1] if events else None


async def settle(rounds=20):
    """Let the event loop run the tasks that are ready (sends, the KS provider)."""
    for _ in range(rounds):
        await asyncio.sleep(0)
