"""The page runtime: configuration, the default tracker, declarative
instrumentation and the page lifecycle (online/offline, pagehide,
visibilitychange)."""

import json

from ..core.session import PAUSED, PLAYING
from ..core.tracker import CLIENT_VER, Tracker
from . import _env, early as _early
from ._convert import attribute as _attr, is_nullish
from ._proxies import ProxyOwner
from ._timers import eagerly
from .driver import AsyncSender
from .media import Attachment, player_for
from .storage import LocalStorageStore
from .transport import FetchTransport

CONFIG_ELEMENT_ID = "kaltura-web-config"
READY_EVENT = "kaltura-web:ready"
EVENT_EVENT = "kaltura-web:event"
DIAGNOSTIC_EVENT = "kaltura-web:diagnostic"
ERROR_EVENT = _env.ERROR_EVENT  # the SDK could not start (or failed with no tracker yet)
BROWSER_CLIENT_VER = CLIENT_VER + " browser"

# configuration keys (JSON / PyScript names) -> meaning
CONFIG_KEYS = ("partnerId", "ks", "ksProvider", "ksUrl", "serviceUrl", "analyticsUrl",
               "kalturaApplication", "kalturaApplicationVer", "uiconfId", "widgetId", "clientVer",
               "userId", "virtualEventId", "referrer", "pageType", "pageName", "pageValue",
               "pageInfo", "entryId", "pageLoad", "instrument", "storage", "maxQueue",
               "storageBudget", "tabs", "protocol", "quartiles", "deliveryType")
# <body data-kaltura-*> attribute -> configuration key
BODY_ATTRIBUTES = (("data-kaltura-page-type", "pageType"), ("data-kaltura-page-name", "pageName"),
                   ("data-kaltura-page-value", "pageValue"), ("data-kaltura-page-info", "pageInfo"),
                   ("data-kaltura-application", "kalturaApplication"),
                   ("data-kaltura-partner-id", "partnerId"), ("data-kaltura-entry-id", "entryId"))

_current = [None]


def current():
    """The page's KalturaWeb runtime made by ``start()``, or None."""
    return _current[0]


def read_config(explicit=None):
    """Merged configuration: PyScript config key "kaltura" < the JSON script tag
    ``#kaltura-web-config`` < ``<body data-kaltura-*>`` < ``explicit``."""
    config = {}
    config.update(_env.pyscript_config("kaltura"))
    doc = _env.document()
    tag = doc.getElementById(CONFIG_ELEMENT_ID)
    if not is_nullish(tag):
        text = str(tag.textContent or "").strip()
        if text:
            config.update(json.loads(text))
    body = doc.body
    for attr, key in BODY_ATTRIBUTES:
        value = _attr(body, attr)
        if value:
            config[key] = value
    if explicit:
        config.update(explicit)
    for key in ("serviceUrl", "analyticsUrl", "ksUrl"):
        value = config.get(key)
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            config[key] = _env.absolute_url(value)  # relative to the page
    if isinstance(config.get("analyticsUrl"), str):
        config["analyticsUrl"] = config["analyticsUrl"].rstrip("/")
    unknown = [k for k in config if k not in CONFIG_KEYS]
    if unknown:
        _env.log("warn", "kaltura_web: unknown configuration keys " + ", ".join(unknown))
    return config


def _ks_provider(config):
    """A zero-argument callable returning a KS (or a promise/awaitable of one)."""
    provider = config.get("ksProvider")
    if isinstance(provider, str):
        fn = getattr(_env.window(), provider, None)
        if is_nullish(fn):
            raise ValueError("ksProvider %r is not a function on window" % provider)
        return lambda: fn()
    if provider is not None:
        if not callable(provider):
            raise TypeError("ksProvider must be callable")
        return provider
    url = config.get("ksUrl")
    if url:
        async def fetch_ks():
            resp = await _env.fetch(url, {"cache": "no-store", "credentials": "same-origin"})
            if not resp.ok:
                raise RuntimeError("KS URL answered HTTP %s" % resp.status)
            data = json.loads(str(await resp.text()))
            return data["ks"] if isinstance(data, dict) else data
        return fetch_ks
    return None


def _default_store(config, store):
    """``store``, else a localStorage queue unless the configuration says ``"storage": "memory"``."""
    if store is None and config.get("storage", "local") == "local":
        store = LocalStorageStore(config.get("partnerId"), config.get("userId"),
                                  budget=config.get("storageBudget"))
    return store


def create_tracker(config, store=None):
    """The Tracker ``config`` describes: its queue in ``store`` (default:
    localStorage), the KS provider, and the page events for its hooks.  It
    sends nothing by itself: ``create_runtime`` adds the sender."""
    partner_id = config.get("partnerId")
    if partner_id is None:
        raise ValueError("kaltura_web: partnerId is required in the configuration")
    store = _default_store(config, store)

    def on_event(data):
        _env.dispatch(_env.window(), EVENT_EVENT, data)

    def on_diagnostic(entry):
        _env.dispatch(_env.window(), DIAGNOSTIC_EVENT, entry)

    options = {}
    for key, opt in (("serviceUrl", "service_url"), ("analyticsUrl", "analytics_url"),
                     ("maxQueue", "max_queue"), ("protocol", "protocol"), ("quartiles", "quartiles"),
                     ("deliveryType", "delivery_type")):
        if config.get(key) is not None:
            options[opt] = config[key]
    tracker = Tracker(partner_id, clock=_env.now, rng=_env.make_rng(), ks=config.get("ks") or None,
                      application=config.get("kalturaApplication"),
                      uiconf_id=config.get("uiconfId"), widget_id=config.get("widgetId"),
                      user_id=config.get("userId") or None,
                      application_version=config.get("kalturaApplicationVer"),
                      virtual_event_id=config.get("virtualEventId"),
                      client_ver=config.get("clientVer") or BROWSER_CLIENT_VER,
                      referrer=config.get("referrer") or _env.page_url(),
                      store=store, ks_provider=_ks_provider(config), on_event=on_event,
                      on_diagnostic=on_diagnostic, **options)
    if isinstance(store, LocalStorageStore) and store.diagnose is None:
        store.diagnose = tracker.diagnose  # built before the tracker: what it loses is reported
    return tracker


def create_runtime(config, store=None, transport=None):
    """The page runtime for ``config``: the tracker (``create_tracker``), its
    ``AsyncSender`` (woken by every new beacon) and, for a localStorage
    queue, the ``TabCoordinator`` that makes one tab of the origin the sender."""
    store = _default_store(config, store)
    tracker = create_tracker(config, store)
    sender = AsyncSender(tracker, transport or FetchTransport(diagnose=tracker.diagnose),
                         log=lambda line: _env.log("debug", "kaltura_web: " + line))
    tracker.engine.on_enqueue = lambda record: sender.kick()
    tabs = None
    if isinstance(store, LocalStorageStore) and config.get("tabs", True) is not False:
        from .tabs import TabCoordinator  # one sender tab per namespace (docs/storage.md)
        tabs = TabCoordinator(tracker, store, sender).start()
    return KalturaWeb(config, tracker, sender, tabs)


class KalturaWeb:
    """One page's SDK runtime (``kaltura_web.browser.current()``): ``tracker``,
    its ``sender`` and, when tabs share the queue, ``tabs``."""

    def __init__(self, config, tracker, sender, tabs=None):
        self.config = config
        self.tracker = tracker
        self.sender = sender
        self.tabs = tabs
        self.attachments = []
        self._owner = ProxyOwner(tracker, "page")  # the page listeners, under the guard
        self.started_at = None
        self.ready_at = None
        self.early = None  # what the early-event snippet recorded (early.Early) or None
        self.early_report = {"snippet": False, "replayed": 0, "reconstructed": []}

    # -- lifecycle listeners -------------------------------------------------
    def watch_page(self):
        win, doc, listen = _env.window(), _env.document(), self._owner.listen
        self.tracker.set_online(_env.is_online())
        listen(win, "online", lambda e: self.set_online(True))
        listen(win, "offline", lambda e: self.set_online(False))
        listen(win, "pagehide", lambda e: self.flush_now())
        listen(doc, "visibilitychange", self._on_visibility)

    def set_online(self, online):
        self.tracker.set_online(online)
        if online:
            self.sender.kick()

    def _on_visibility(self, event):
        hidden = _env.is_hidden()
        for attachment in self.attachments:
            attachment.tab_changed(not hidden)
        if hidden:
            self.flush_now()

    def flush_now(self):
        """The page is being hidden or unloaded: start the keepalive fetches
        before this handler returns (no later turn of the loop is certain)."""
        with eagerly():
            return self.sender.flush_keepalive()

    # -- declarative instrumentation -----------------------------------------
    def instrument(self, root=None, sync=True, t0=None):
        """Attach every ``[data-kaltura-entry-id]`` video/audio under ``root``
        and handle ``[data-kaltura-button]`` clicks (once per page).

        ``sync=False`` leaves catching up with the elements' state to the
        caller (``start()`` replays early events first); ``t0`` is the time of
        WIDGET_LOADED (default now).  Returns the new attachments."""
        root = root if root is not None else _env.document()
        found = root.querySelectorAll("video[data-kaltura-entry-id], audio[data-kaltura-entry-id]")
        known = [a.video for a in self.attachments]
        new = []
        for i in range(int(found.length)):
            el = found[i]
            if any(el == v for v in known):
                continue
            player = self.tracker.player(str(el.getAttribute("data-kaltura-entry-id")), ready=False)
            player.ready(t=t0)
            handle = Attachment(el, player, sync=sync)
            self.attachments.append(handle)
            new.append(handle)
        if not self._owner.listens("click"):
            self._owner.listen(_env.document(), "click", self._on_click)
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
        if is_nullish(target) or not hasattr(target, "closest"):
            return
        button = target.closest("[data-kaltura-button]")
        if is_nullish(button):
            return
        value, info = _early.button_extras(button)
        self.button(_attr(button, "data-kaltura-button") or "", _attr(button, "data-kaltura-entry-id"),
                    value=value, info=info)

    def _playback_of(self, entry_id):
        """The Player a click concerns, never a new one: ``entry_id``'s, or
        without one the page's media whose playback is under way (None: no such player)."""
        for p in self.tracker.players:
            if entry_id is None:
                if p.session.state in (PLAYING, PAUSED):
                    return p
            elif p.entry_id == entry_id:
                return p
        return None

    def button(self, spec, entry_id=None, t=None, value=None, info=None):
        """What a ``data-kaltura-button="type:name"`` click does (``value``,
        ``info``: its ``data-kaltura-button-value``/``-info``).  The click
        carries the playback session of the media it concerns."""
        if ":" in spec:
            button_type, button_name = spec.split(":", 1)
        else:
            button_type, button_name = spec, spec
        page_entry = entry_id or self.config.get("entryId")
        sharing = button_type in ("share", "download")
        player = self.player_for(page_entry) if sharing else self._playback_of(page_entry)
        self.tracker.button_click(button_type, button_name, entry_id=page_entry, t=t,
                                  button_value=value, button_info=info, player=player)
        if player is not None and sharing:
            if button_type == "share":
                player.share(t=t)
            else:
                player.download(t=t)

    def page_load(self, t=None):
        c = self.config
        return self.tracker.page_load(c.get("pageType"), c.get("pageName"),
                                      entry_id=c.get("entryId") or None, t=t,
                                      page_value=c.get("pageValue"), page_info=c.get("pageInfo"))

    def stop(self):
        """Detach everything and remove the page listeners (tests, SPA teardown)."""
        for a in self.attachments:
            a.detach()
        self.attachments = []
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
    started = _env.perf_now()
    if _current[0] is not None:
        return _current[0]
    config = read_config(config)
    runtime = create_runtime(config, store=store, transport=transport)
    tracker = runtime.tracker
    runtime.started_at = started
    _current[0] = runtime
    runtime.watch_page()
    sender = runtime.sender
    if not tracker.ks and tracker.ks_provider is not None:
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
    runtime.ready_at = _env.perf_now()
    _env.dispatch(_env.window(), READY_EVENT, {
        "partnerId": tracker.partner_id, "readyAt": runtime.ready_at, "startedAt": started,
        "pending": tracker.pending(), "early": runtime.early_report,
        "players": [{"entryId": a.player.entry_id, "sessionId": a.player.session_id}
                    for a in runtime.attachments]})
    return runtime


def attach(video, target=None, entry_id=None, on_change=None, document=None, sync=True):
    """Instrument ``video``.

    ``target``: a ``Player`` (used as is), a ``Tracker`` (a Player is made
    for ``entry_id`` or the element's ``data-kaltura-entry-id``), an entry id
    string, or None (both with the page's default tracker from ``start()``).
    Returns an ``Attachment``; call its ``detach()`` when done."""
    runtime = None
    if isinstance(target, str):
        entry_id, target = target, None
    if target is None:
        runtime = current()
        if runtime is None:
            raise RuntimeError("no tracker: call kaltura_web.browser.start() first or pass a Tracker")
        target = runtime.tracker
    player = player_for(video, target, entry_id)
    handle = Attachment(video, player, document=document, on_change=on_change, sync=sync)
    if runtime is not None:
        runtime.attachments.append(handle)
    return handle
