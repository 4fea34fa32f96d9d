"""The page runtime: the default tracker from the configuration
(``config.py``), declarative instrumentation and the page lifecycle
(online/offline, pagehide, visibilitychange).

``start()`` makes the SDK *ready* (listening to the media, recording into the
core, queueing) without waiting for the network or for localStorage: the KS
is fetched in the background (the sender holds every beacon until it comes)
and the stored queue is read right after the ready event
(``KalturaWeb.open_store``), ahead of what the page recorded meanwhile.  The
edge modules are imported when a page needs them (``storage``/``tabs`` only
for a localStorage queue).  Start-up sets the performance marks
``kaltura_web:start``, ``:imported``, ``:config``, ``:instrumented``,
``:ready``, ``:storage``, ``:ks`` and ``:first-beacon``.

Consent (``"consent"``, ``"respectGPC"``, the ``kaltura-web:consent`` and
``kaltura-web:erase`` events, ``set_consent``/``erase``) is ``consent.py``;
``"anonymous": true`` sends no userId, asks ``ksUrl`` for a KS without a
user and keeps the queue in a namespace of its own."""

import sys

from ..core import diagnostics as diag
from ..core.session import PAUSED, PLAYING
from ..core.tracker import CLIENT_VER, Player, Tracker
from . import _env
from ._convert import attribute as _attr, is_nullish
from ._guard import guard
from ._proxies import ProxyOwner
from ._timers import eagerly
from .config import BODY_ATTRIBUTES, CONFIG_ELEMENT_ID, CONFIG_KEYS, read_config  # noqa: F401 (re-exported)
from .config import ks_provider as _ks_provider

READY_EVENT = "kaltura-web:ready"
EVENT_EVENT = "kaltura-web:event"
DIAGNOSTIC_EVENT = "kaltura-web:diagnostic"
ERROR_EVENT = _env.ERROR_EVENT  # the SDK could not start (or failed with no tracker yet)
BROWSER_CLIENT_VER = CLIENT_VER + " browser"

_current = [None]


def current():
    """The page's KalturaWeb runtime made by ``start()``, or None."""
    return _current[0]


def _is_local(store):
    """True for a ``LocalStorageStore`` (its module is imported only where one is made)."""
    module = sys.modules.get("kaltura_web.browser.storage")
    return module is not None and isinstance(store, module.LocalStorageStore)


def _default_store(config, store, scan_later=False):
    """``store``, else a localStorage queue unless the configuration says
    ``"storage": "memory"`` (read when the page calls ``open_store`` if ``scan_later``)."""
    if store is None and config.get("storage", "local") == "local":
        from .storage import LocalStorageStore

        store = LocalStorageStore(config.get("partnerId"), config.get("userId"),
                                  budget=config.get("storageBudget"), scan_later=scan_later,
                                  anonymous=_anonymous(config))
    return store


def _anonymous(config):
    """``"anonymous": true``: no userId, no KS user, no referrer query, a namespace of its own."""
    return config.get("anonymous") is True


def create_tracker(config, store=None):
    """The Tracker ``config`` describes: its queue in ``store`` (default:
    localStorage), the KS provider, and the page events for its hooks.  It
    sends nothing by itself: ``create_runtime`` adds the sender."""
    partner_id = config.get("partnerId")
    if partner_id is None:
        raise ValueError("kaltura_web: partnerId is required in the configuration")
    store = _default_store(config, store)
    from .consent import start_consent

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
                      user_id=None if _anonymous(config) else config.get("userId") or None,
                      application_version=config.get("kalturaApplicationVer"),
                      virtual_event_id=config.get("virtualEventId"),
                      client_ver=config.get("clientVer") or BROWSER_CLIENT_VER,
                      referrer=config.get("referrer") or _env.page_url(),
                      store=store, ks_provider=_ks_provider(config), on_event=on_event,
                      on_diagnostic=on_diagnostic, consent=start_consent(config),
                      anonymous=_anonymous(config), **options)
    if _is_local(store) and store.diagnose is None:
        store.diagnose = tracker.diagnose  # built before the tracker: what it loses is reported
    return tracker


def create_runtime(config, store=None, transport=None, scan_later=False):
    """The page runtime for ``config``: the tracker (``create_tracker``), its
    ``AsyncSender`` (woken by every new beacon) and, for a localStorage
    queue, the ``TabCoordinator`` that makes one tab of the origin the sender.

    With ``scan_later`` (``start()``) the stored queue is not read yet and
    nothing is sent until the caller runs ``runtime.open_store()``."""
    from .driver import AsyncSender

    store = _default_store(config, store, scan_later)
    tracker = create_tracker(config, store)
    if transport is None:
        from .transport import FetchTransport

        transport = FetchTransport(diagnose=tracker.diagnose)
    sender = AsyncSender(tracker, transport, log=lambda line: _env.log("debug", "kaltura_web: " + line))
    tracker.engine.on_enqueue = lambda record: sender.kick()
    tabs = None
    if _is_local(store) and config.get("tabs", True) is not False:
        from .tabs import TabCoordinator  # one sender tab per namespace (docs/storage.md)
        tabs = TabCoordinator(tracker, store, sender)  # started by open_store
    runtime = KalturaWeb(config, tracker, sender, tabs)
    from .consent import PageConsent

    runtime.privacy = PageConsent(runtime, persist=_is_local(store))
    if scan_later:
        sender.loading = True
    else:
        runtime.open_store()
    return runtime


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
        self.store_open = False  # the stored queue has been read (open_store)
        self.privacy = None  # consent.PageConsent: the consent key, the other tabs
        self.watcher = None  # dom_watch.DomWatch: automatic instrumentation follows the DOM

    # -- consent and erasure (consent.py) ------------------------------------------
    @property
    def consent(self):
        """``"granted"``, ``"pending"`` or ``"denied"``."""
        return self.tracker.consent

    def set_consent(self, state):
        """What a ``kaltura-web:consent`` event does: ``"granted"`` sends what
        was held (and is remembered on this origin), ``"pending"`` holds new
        beacons in memory, ``"denied"`` discards everything and erases the
        stored queue, in every tab of the origin."""
        return self.privacy.set(state) if self.privacy is not None else self.tracker.set_consent(state)

    def erase(self):
        """What a ``kaltura-web:erase`` event does: remove every stored record
        and key of the SDK on this origin, and the beacons in memory, in every
        tab.  Returns how many beacons this tab discarded."""
        return self.privacy.erase() if self.privacy is not None else self.tracker.erase()

    # -- the stored queue ----------------------------------------------------
    def open_store(self):
        """Read the stored queue (a backlog of earlier visits or other tabs)
        into the engine, ahead of what the page recorded since ``start()``
        (stored records first), start the tab coordination and let the sender
        go.  ``start()`` runs it right after the ready event; ``pagehide``
        runs it at once if it has not run yet.  Idempotent."""
        if self.store_open:
            return
        self.store_open = True
        tracker = self.tracker
        store = tracker.engine.store
        if _is_local(store) and not store.scanned:
            store.scan()
            tracker.engine.reload(tracker.clock())
        _env.mark("storage")
        if self.tabs is not None:
            self.tabs.start()
        if self.sender is not None:
            self.sender.loading = False
            self.sender.kick()

    # -- lifecycle listeners -------------------------------------------------
    def watch_page(self):
        win, doc, listen = _env.window(), _env.document(), self._owner.listen
        self.tracker.set_online(_env.is_online())
        listen(win, "online", lambda e: self.set_online(True))
        listen(win, "offline", lambda e: self.set_online(False))
        listen(win, "pagehide", lambda e: self.flush_now())
        listen(doc, "visibilitychange", self._on_visibility)
        if self.privacy is not None:
            self.privacy.listen(self._owner)

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
        self.open_store()  # the backlog goes first, even when the page leaves at once
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
        if int(found.length):
            from .media import Attachment
        for i in range(int(found.length)):
            el = found[i]
            if any(el == v for v in known):
                continue
            player = self.tracker.player(str(el.getAttribute("data-kaltura-entry-id")), ready=False)
            player.ready(t=t0)
            handle = Attachment(el, player, sync=sync, gate=_gate_wanted(self))
            self.attachments.append(handle)
            new.append(handle)
        if not self._owner.listens("click"):
            self._owner.listen(_env.document(), "click", self._on_click)
        if self.config.get("observe", True) is not False:
            from .dom_watch import watch  # media added or removed later (dom_watch.py)
            watch(self, root, new)
        return new

    def catch_up(self, handles, early=None):
        """After ``instrument(sync=False)``: replay the snippet's records (if
        any), then bring each attachment up to its element's state;
        without the snippet, reconstruct playback that already started."""
        from . import early as _early

        report = self.early_report
        if early is not None:
            report["snippet"] = True
            report["replayed"] = _early.replay(self, early)
            # what was replayed, for the ready event (clicks carry no time on the wire)
            report["records"] = [[r["type"], r["t"]] for r in early.records[:50]
                                 if r["type"] != "timeupdate"]
            self._keep_unclaimed(early)
        for handle in handles:
            self._reconstructed(handle, handle.sync(reconstruct=early is None))
        return report

    def _reconstructed(self, handle, state):
        """Add what ``handle`` reconstructed (if anything) to ``early_report``."""
        if state is not None:
            self.early_report["reconstructed"].append({
                "entryId": handle.player.entry_id, "position": state["position"], "paused": state["paused"],
                "ended": state["ended"], "quartiles": state["quartiles"]})

    def _keep_unclaimed(self, early):
        """Keep only the media records of elements nothing attached yet: ``attach()`` replays them."""
        early.records = [r for r in early.records if r["kind"] == "media"
                         and not any(a.video == r["element"] for a in self.attachments)]

    def take_early(self, video):
        """The snippet's records of ``video`` that were not replayed yet
        (removed: they are replayed once), or []."""
        early = self.early
        if early is None:
            return []
        mine = early.media_records(video)
        if mine:
            early.records = [r for r in early.records if not any(r is m for m in mine)]
        return mine

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
        from .early import button_extras

        value, info = button_extras(button)
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
        if self.watcher is not None:
            self.watcher.stop()
        for a in self.attachments:
            a.detach()
        self.attachments = []
        self._owner.destroy()
        self.sender.close()
        if _current[0] is self:
            _current[0] = None


async def start(config=None, instrument=None, page_load=None, store=None, transport=None):
    """Set up the SDK on this page and return the ``KalturaWeb`` runtime.

    Reads the configuration (see ``read_config``), instruments
    ``data-kaltura-*`` elements, sends PageLoad, replays what the early-event
    snippet recorded (or reconstructs playback that started before), and
    dispatches ``kaltura-web:ready`` on window.  Nothing here waits for the
    network or reads the stored queue: the KS (``ks`` or the KS provider) is
    asked for in the background and the sender holds every beacon until it
    comes; the stored queue is read right after the ready event, ahead of
    what was recorded meanwhile.  From instrumenting to the ready event
    nothing awaits, so no page event falls between the snippet's records and
    the live listeners."""
    started = _env.perf_now()
    if _current[0] is not None:
        return _current[0]
    _env.mark("start")
    from . import driver, early as _early, media  # noqa: F401 (every page's edge modules, imported now)

    _env.mark("imported")
    config = read_config(config)
    _env.mark("config")
    runtime = create_runtime(config, store=store, transport=transport, scan_later=True)
    tracker = runtime.tracker
    runtime.started_at = started
    _current[0] = runtime
    runtime.watch_page()
    sender = runtime.sender
    if tracker.ks:
        sender.had_ks = True
        _env.mark("ks")
    elif tracker.ks_provider is not None:
        # never send a user's beacons without the KS: held until it comes, asked for meanwhile
        # (once consent is granted: without it the page makes no request at all)
        sender.held = True
        runtime.privacy.ask_ks_when_granted()
    instrumenting = instrument if instrument is not None else config.get("instrument", True)
    early = _early.take()  # stops the snippet; records of elements not instrumented wait for attach()
    runtime.early = early
    t0 = early.t0 if early is not None else None
    handles = runtime.instrument(sync=False, t0=t0) if instrumenting else []
    if page_load if page_load is not None else config.get("pageLoad", True):
        runtime.page_load(t=t0)
    if instrumenting:
        runtime.catch_up(handles, early)
    elif early is not None:
        _early.replay_page_events(runtime, early)  # consent and erase, in order
    _env.mark("instrumented")
    tracker.engine.resume(tracker.clock())
    runtime.ready_at = _env.perf_now()
    _env.mark("ready")
    _env.dispatch(_env.window(), READY_EVENT, {
        "partnerId": tracker.partner_id, "readyAt": runtime.ready_at, "startedAt": started,
        "pending": tracker.pending(), "early": runtime.early_report,
        "players": [{"entryId": a.player.entry_id, "sessionId": a.player.session_id}
                    for a in runtime.attachments]})
    sender.timers.call_later(0, runtime.open_store)  # the page gets the event loop back first
    return runtime


def _gate_wanted(runtime):
    """The timeupdate gate (``gate.py``) is on unless the page's configuration
    says ``"timeupdateGate": false`` (then every timeupdate reaches Python)."""
    return runtime is None or runtime.config.get("timeupdateGate", True) is not False


def attach(video, target=None, entry_id=None, on_change=None, document=None, sync=True):
    """Instrument ``video``.

    ``target``: a ``Player`` (used as is), a ``Tracker`` (a Player is made
    for ``entry_id`` or the element's ``data-kaltura-entry-id``), an entry id
    string, or None (both with the page's default tracker from ``start()``).
    With ``sync`` the element's state is caught up with as automatic
    instrumentation does: the early-event snippet's records of this element
    are replayed, or else playback that already started is reconstructed
    (PLAY, the quartiles its played range from 0 proves, PAUSE or ENDED).
    Returns an ``Attachment``; call its ``detach()`` when done."""
    from .media import Attachment, player_for

    runtime = None
    if isinstance(target, str):
        entry_id, target = target, None
    if target is None:
        runtime = current()
        if runtime is None:
            raise RuntimeError("no tracker: call kaltura_web.browser.start() first or pass a Tracker")
        target = runtime.tracker
    records = []
    if sync and runtime is not None and not isinstance(target, Player):
        records = runtime.take_early(video)
    player = player_for(video, target, entry_id, ready=not records)
    handle = Attachment(video, player, document=document, on_change=on_change, sync=False,
                        gate=_gate_wanted(current()))
    if runtime is not None:
        runtime.attachments.append(handle)
    if records:
        player.ready(t=runtime.early.t0)
        replay = guard(handle.replay, player.tracker, "early replay", diag.EARLY_REPLAY_FAILED)
        for record in records:  # one bad record never stops the rest
            replay(record["type"], record["t"], record["state"])
        handle.sync()
    elif sync:
        state = handle.sync(reconstruct=True)
        if runtime is not None:
            runtime._reconstructed(handle, state)
    return handle
