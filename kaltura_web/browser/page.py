"""The page runtime: configuration, the default tracker, declarative
instrumentation and the page lifecycle (online/offline, pagehide,
visibilitychange)."""

import json

from ..core import diagnostics as diag
from ..core.tracker import CLIENT_VER, Tracker
from . import _ffi, early as _early
from .driver import AsyncSender
from .media import attach
from .storage import LocalStorageStore
from .transport import FetchTransport

CONFIG_ELEMENT_ID = "kaltura-web-config"
READY_EVENT = "kaltura-web:ready"
EVENT_EVENT = "kaltura-web:event"
DIAGNOSTIC_EVENT = "kaltura-web:diagnostic"
BROWSER_CLIENT_VER = CLIENT_VER + " browser"

# configuration keys (JSON / PyScript names) -> meaning
CONFIG_KEYS = ("partnerId", "ks", "ksProvider", "ksUrl", "serviceUrl", "analyticsUrl",
               "kalturaApplication", "uiconfId", "clientVer", "userId", "referrer", "pageType",
               "pageName", "entryId", "pageLoad", "instrument", "storage", "maxQueue",
               "storageBudget", "tabs")

_current = [None]


def current():
    """The page's KalturaWeb runtime made by ``start()``, or None."""
    return _current[0]


def _attr(el, name):
    if _ffi.is_nullish(el):
        return None
    value = el.getAttribute(name)
    return None if _ffi.is_nullish(value) else str(value)


def _pyscript_config():
    try:
        from pyscript import config  # PyScript only
    except Exception:
        return {}
    try:
        data = config.get("kaltura") if hasattr(config, "get") else None
    except Exception:
        return {}
    return dict(data) if isinstance(data, dict) else {}  # never dict() a JS object (MicroPython)


def read_config(explicit=None):
    """Merged configuration: PyScript config key "kaltura" < the JSON script tag
    ``#kaltura-web-config`` < ``<body data-kaltura-*>`` < ``explicit``."""
    config = {}
    config.update(_pyscript_config())
    doc = _ffi.js.document
    tag = doc.getElementById(CONFIG_ELEMENT_ID)
    if not _ffi.is_nullish(tag):
        text = str(tag.textContent or "").strip()
        if text:
            config.update(json.loads(text))
    body = doc.body
    for key, attr in (("pageType", "data-kaltura-page-type"), ("pageName", "data-kaltura-page-name"),
                      ("kalturaApplication", "data-kaltura-application"),
                      ("partnerId", "data-kaltura-partner-id"), ("entryId", "data-kaltura-entry-id")):
        value = _attr(body, attr)
        if value:
            config[key] = value
    if explicit:
        config.update(explicit)
    base = str(_ffi.js.location.href)
    for key in ("serviceUrl", "analyticsUrl", "ksUrl"):
        value = config.get(key)
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            config[key] = str(_ffi.js.URL.new(value, base).href)  # relative to the page
    if isinstance(config.get("analyticsUrl"), str):
        config["analyticsUrl"] = config["analyticsUrl"].rstrip("/")
    unknown = [k for k in config if k not in CONFIG_KEYS]
    if unknown:
        _ffi.js.console.warn("kaltura_web: unknown configuration keys " + ", ".join(unknown))
    return config


def _seeded_rng():
    return _ffi.make_rng()


def _ks_provider(config):
    """A zero-argument callable returning a KS (or a promise/awaitable of one)."""
    provider = config.get("ksProvider")
    if isinstance(provider, str):
        fn = getattr(_ffi.js.window, provider, None)
        if fn is None or _ffi.is_nullish(fn):
            raise ValueError("ksProvider %r is not a function on window" % provider)
        return lambda: fn()
    if provider is not None:
        if not callable(provider):
            raise TypeError("ksProvider must be callable")
        return provider
    url = config.get("ksUrl")
    if url:
        async def fetch_ks():
            resp = await _ffi.js.fetch(url, _ffi.to_js({"cache": "no-store", "credentials": "same-origin"}))
            if not resp.ok:
                raise RuntimeError("KS URL answered HTTP %s" % resp.status)
            data = json.loads(str(await resp.text()))
            return data["ks"] if isinstance(data, dict) else data
        return fetch_ks
    return None


def create_tracker(config, store=None, transport=None):
    """A Tracker with a localStorage queue and an AsyncSender (``tracker.sender``)."""
    partner_id = config.get("partnerId")
    if partner_id is None:
        raise ValueError("kaltura_web: partnerId is required in the configuration")
    if store is None and config.get("storage", "local") == "local":
        store = LocalStorageStore(partner_id, config.get("userId"), budget=config.get("storageBudget"))

    def on_event(data):
        _ffi.dispatch(_ffi.js.window, EVENT_EVENT, data)

    def on_diagnostic(entry):
        _ffi.dispatch(_ffi.js.window, DIAGNOSTIC_EVENT, entry)

    options = {}
    for key, opt in (("serviceUrl", "service_url"), ("analyticsUrl", "analytics_url"),
                     ("maxQueue", "max_queue")):
        if config.get(key) is not None:
            options[opt] = config[key]
    tracker = Tracker(partner_id, clock=_ffi.now, rng=_seeded_rng(), ks=config.get("ks") or None,
                      application=config.get("kalturaApplication"),
                      uiconf_id=config.get("uiconfId"),
                      client_ver=config.get("clientVer") or BROWSER_CLIENT_VER,
                      referrer=config.get("referrer") or str(_ffi.js.location.href),
                      store=store, on_event=on_event, on_diagnostic=on_diagnostic, **options)
    sender = AsyncSender(tracker, transport or FetchTransport(), ks_provider=_ks_provider(config),
                         log=lambda line: _ffi.js.console.debug("kaltura_web: " + line))
    tracker.sender = sender
    tracker.engine.on_enqueue = lambda record: sender.kick()  # every new beacon wakes the sender
    if isinstance(store, LocalStorageStore) and config.get("tabs", True) is not False:
        from .tabs import TabCoordinator  # one sender tab per namespace (docs/storage.md)
        tracker.tabs = TabCoordinator(tracker, store, sender).start()
    return tracker


class KalturaWeb:
    """One page's SDK runtime (``kaltura_web.browser.current()``)."""

    def __init__(self, config, tracker):
        self.config = config
        self.tracker = tracker
        self.sender = tracker.sender
        self.attachments = []
        self._owner = _ffi.ProxyOwner()
        self._listeners = []
        self.started_at = None
        self.ready_at = None
        self.early = None  # what the early-event snippet recorded (early.Early) or None
        self.early_report = {"snippet": False, "replayed": 0, "reconstructed": []}

    # -- lifecycle listeners -------------------------------------------------
    def _listen(self, target, name, fn):
        proxy = self._owner.proxy(fn)
        target.addEventListener(name, proxy)
        self._listeners.append((target, name, proxy))

    def _guard(self, fn):
        def handler(event):
            try:
                fn(event)
            except Exception as exc:
                self.tracker.diagnose(diag.SDK_ERROR, "page handler failed", {"error": repr(exc)})
        return handler

    def watch_page(self):
        win, doc = _ffi.js.window, _ffi.js.document
        self.tracker.set_online(bool(_ffi.js.navigator.onLine))
        self._listen(win, "online", self._guard(lambda e: self.set_online(True)))
        self._listen(win, "offline", self._guard(lambda e: self.set_online(False)))
        self._listen(win, "pagehide", self._guard(lambda e: self.flush_now()))
        self._listen(doc, "visibilitychange", self._guard(self._on_visibility))

    def set_online(self, online):
        self.tracker.set_online(online)
        if online:
            self.sender.kick()

    def _on_visibility(self, event):
        if str(_ffi.js.document.visibilityState) == "hidden":
            self.flush_now()

    def flush_now(self):
        """The page is being hidden or unloaded: start the keepalive fetches
        before this handler returns (no later turn of the loop is certain)."""
        with _ffi.eagerly():
            return self.sender.flush_keepalive()

    # -- declarative instrumentation -----------------------------------------
    def instrument(self, root=None, sync=True, t0=None):
        """Attach every ``[data-kaltura-entry-id]`` video/audio under ``root``
        and handle ``[data-kaltura-button]`` clicks (once per page).

        ``sync=False`` leaves catching up with the elements' state to the
        caller (``start()`` replays early events first); ``t0`` is the time of
        WIDGET_LOADED (default now).  Returns the new attachments."""
        root = root if root is not None else _ffi.js.document
        found = root.querySelectorAll("video[data-kaltura-entry-id], audio[data-kaltura-entry-id]")
        known = [a.video for a in self.attachments]
        new = []
        for i in range(int(found.length)):
            el = found[i]
            if any(el == v for v in known):
                continue
            player = self.tracker.player(str(el.getAttribute("data-kaltura-entry-id")), ready=False)
            player.ready(t=t0)
            handle = attach(el, player, sync=sync)
            self.attachments.append(handle)
            new.append(handle)
        if not any(name == "click" for _t, name, _p in self._listeners):
            self._listen(_ffi.js.document, "click", self._guard(self._on_click))
        return new

    def catch_up(self, handles, early=None):
        """After ``instrument(sync=False)``: replay the snippet's records (if
        any), then bring each attachment up to its element's state;
        without the snippet, reconstruct playback that already started."""
        report = self.early_report
        if early is not None:
            report["snippet"] = True
            report["replayed"] = _early.replay(self, early)
            # what was replayed, for the ready event (clicks carry no time on the wire)
            report["records"] = [[r["type"], r["t"]] for r in early.records[:50]
                                 if r["type"] != "timeupdate"]
        for handle in handles:
            state = handle.sync(reconstruct=early is None)
            if state is not None:
                report["reconstructed"].append({"entryId": handle.player.entry_id,
                                                "position": state["position"],
                                                "paused": state["paused"], "ended": state["ended"]})
        return report

    def player_for(self, entry_id=None):
        """The Player of ``entry_id`` (default: the page's first media)."""
        for a in self.attachments:
            if entry_id is None or a.player.entry_id == entry_id:
                return a.player
        if entry_id is not None:
            for p in self.tracker.players:
                if p.entry_id == entry_id:
                    return p
            return self.tracker.player(entry_id)
        return None

    def _on_click(self, event):
        target = event.target
        if _ffi.is_nullish(target) or not hasattr(target, "closest"):
            return
        button = target.closest("[data-kaltura-button]")
        if _ffi.is_nullish(button):
            return
        self.button(_attr(button, "data-kaltura-button") or "", _attr(button, "data-kaltura-entry-id"))

    def button(self, spec, entry_id=None, t=None):
        """What a ``data-kaltura-button="type:name"`` click does."""
        if ":" in spec:
            button_type, button_name = spec.split(":", 1)
        else:
            button_type, button_name = spec, spec
        page_entry = entry_id or self.config.get("entryId")
        player = None
        if button_type in ("share", "download"):
            player = self.player_for(page_entry)
            if player is not None and page_entry is None:
                page_entry = player.entry_id
        self.tracker.button_click(button_type, button_name, entry_id=page_entry, t=t)
        if player is not None:
            if button_type == "share":
                player.share(t=t)
            else:
                player.download(t=t)

    def page_load(self, t=None):
        c = self.config
        return self.tracker.page_load(c.get("pageType"), c.get("pageName"),
                                      entry_id=c.get("entryId") or None, t=t)

    def stop(self):
        """Detach everything and remove the page listeners (tests, SPA teardown)."""
        for a in self.attachments:
            a.detach()
        self.attachments = []
        _ffi.remove_listeners(self._listeners)
        self._listeners = []
        self._owner.destroy()
        self.sender.close()
        if _current[0] is self:
            _current[0] = None


async def start(config=None, instrument=None, page_load=None, store=None, transport=None):
    """Set up the SDK on this page and return the ``KalturaWeb`` runtime.

    Reads the configuration (see ``read_config``), gets a KS (``ks`` or the
    KS provider), instruments ``data-kaltura-*`` elements, sends PageLoad,
    replays what the early-event snippet recorded (or reconstructs playback
    that started before), and dispatches ``kaltura-web:ready`` on window.
    From instrumenting to the ready event nothing awaits, so no page event
    falls between the snippet's records and the live listeners."""
    started = float(_ffi.js.performance.now())
    if _current[0] is not None:
        return _current[0]
    config = read_config(config)
    tracker = create_tracker(config, store=store, transport=transport)
    runtime = KalturaWeb(config, tracker)
    runtime.started_at = started
    _current[0] = runtime
    runtime.watch_page()
    sender = runtime.sender
    if not tracker.ks and sender.ks_provider is not None:
        # hold the backlog until the KS arrives: never send a user's beacons without it
        sender.held = True
        if await sender.refresh_ks() is None:
            sender.hold_until_ks()
    instrumenting = instrument if instrument is not None else config.get("instrument", True)
    early = _early.take() if instrumenting else None  # stops the snippet
    runtime.early = early
    t0 = early.t0 if early is not None else None
    handles = runtime.instrument(sync=False, t0=t0) if instrumenting else []
    if page_load if page_load is not None else config.get("pageLoad", True):
        runtime.page_load(t=t0)
    if instrumenting:
        runtime.catch_up(handles, early)
    tracker.engine.resume(tracker.clock())
    sender.kick()
    runtime.ready_at = float(_ffi.js.performance.now())
    _ffi.dispatch(_ffi.js.window, READY_EVENT, {
        "partnerId": tracker.partner_id, "readyAt": runtime.ready_at, "startedAt": started,
        "pending": tracker.pending(), "early": runtime.early_report,
        "players": [{"entryId": a.player.entry_id, "sessionId": a.player.session_id}
                    for a in runtime.attachments]})
    return runtime
