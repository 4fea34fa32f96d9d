"""The Tracker: the SDK's public face, still free of I/O.

It turns API calls and player observations into beacon records and queues
them in its ``DeliveryEngine``; its ``sender_core`` (``sender.SenderCore``)
tells whichever sender runs it (``kaltura_web.cpython`` on servers,
``kaltura_web.browser`` in pages) what to send and what each answer means.
Clock and random source are injected; the edges pass real ones.
"""

from . import catalog
from . import diagnostics as diag
import json

from ._compat import is_int, is_number, uuid4
from .diagnostics import Diagnostics
from .delivery import DEFAULT_MAX_QUEUE, DeliveryEngine
from .encoding import QUEUES, stats_record, track_record
from .protocol import GUIDE, PROTOCOLS, reporters_for
from .quartiles import RULES as QUARTILE_RULES
from .retry import RetryPolicy
from .sender import KEEPALIVE_BUDGET, SenderCore, mask_ks, response_of
from .session import PlaybackSession
from .validation import GRANTED, MAX_SECONDS, MAX_TIME, flag, hook, identifier, seconds, text, timestamp, url
from .validation import consent as _check_consent
from .validation import ks as _check_ks

DEFAULT_SERVICE_URL = "https://www.kaltura.com/api_v3"
DEFAULT_ANALYTICS_URL = "https://analytics.kaltura.com"
CLIENT_VER = "kaltura_web:0.1.0"
DEFAULT_BATCH_SIZE = 50  # stats.collect beacons per multirequest when a backlog drains

__all__ = ["CLIENT_VER", "DEFAULT_ANALYTICS_URL", "DEFAULT_SERVICE_URL", "Player", "Tracker",
           "mask_ks"]  # mask_ks lives with the senders' log lines (sender.py)


class Tracker:
    """Reports playback (stats.collect) and application (trackEvent) events.

    Required: ``partner_id``, and the injected ``clock`` (returns float Unix
    seconds) and ``rng`` (has ``getrandbits``).  ``service_url`` includes
    ``/api_v3``; ``analytics_url`` is an origin.  ``ks_provider`` (called by
    the senders when the KS is rejected) returns a fresh KS; ``retry`` is a
    ``RetryPolicy``.

    Attribution, sent when given: ``user_id`` (``userId`` on every beacon:
    Kaltura attributes a stats.collect event to ``event[userId]``, not to
    the KS user), ``application`` (``kalturaApplication``; ``applicationId``
    on stats.collect), ``uiconf_id`` and ``widget_id`` (stats.collect),
    ``application_version`` (``kalturaApplicationVer``) and
    ``virtual_event_id`` (trackEvent).

    ``protocol``: ``"guide"`` (stats.collect, the default), ``"kava"``
    (Player v7's analytics.trackEvent events, what today's Kaltura reports
    count; see ``kava.py``) or ``"both"``.  ``quartiles``: ``"guide"`` (never
    a quartile a seek jumped over, the default) or ``"kava"`` (Player v7's
    rule).  ``delivery_type``: KAVA's ``deliveryType`` (``url`` for a
    progressive file, ``hls``, ``dash``).

    Privacy: ``consent`` is ``"granted"`` (the default), ``"pending"``
    (beacons kept in memory only, nothing stored or sent) or ``"denied"``
    (nothing kept, the stored queue erased); see ``set_consent`` and
    ``core/consent.py``.  ``anonymous=True`` sends no ``userId`` (do not give
    ``user_id``) and no query string or fragment of the ``referrer``.
    """

    def __init__(self, partner_id, clock, rng, service_url=DEFAULT_SERVICE_URL,
                 analytics_url=DEFAULT_ANALYTICS_URL, ks=None, ks_provider=None,
                 application=None, uiconf_id=None, client_ver=CLIENT_VER, referrer=None,
                 store=None, max_queue=DEFAULT_MAX_QUEUE, on_event=None, on_diagnostic=None,
                 protocol=None, batch_size=DEFAULT_BATCH_SIZE, retry=None, user_id=None,
                 widget_id=None, application_version=None, virtual_event_id=None, quartiles="guide",
                 delivery_type="url", consent=GRANTED, anonymous=False):
        # every argument is checked before anything is built: a wrong one changes nothing
        partner_id = identifier(partner_id, "partner_id")
        if not callable(clock):
            raise TypeError("clock must be a callable returning Unix seconds")
        if not hasattr(rng, "getrandbits"):
            raise TypeError("rng must provide getrandbits (e.g. random.Random())")
        hook(ks_provider, "ks_provider")
        hook(on_event, "on_event")
        hook(on_diagnostic, "on_diagnostic")
        if uiconf_id is not None:
            uiconf_id = identifier(uiconf_id, "uiconf_id")
        if not is_int(batch_size) or batch_size < 1:
            raise ValueError("batch_size must be a positive integer, got %r" % (batch_size,))
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError("retry must be a RetryPolicy, got %s" % type(retry).__name__)
        if ks is not None:
            _check_ks(ks)
        if virtual_event_id is not None:
            virtual_event_id = identifier(virtual_event_id, "virtual_event_id")
        if protocol is None:
            protocol = GUIDE
        if protocol not in PROTOCOLS:
            raise ValueError("protocol must be one of %s, got %r" % (", ".join(PROTOCOLS), protocol))
        if quartiles not in QUARTILE_RULES:
            raise ValueError("quartiles must be one of %s, got %r" % (", ".join(QUARTILE_RULES), quartiles))
        _check_consent(consent)
        self.anonymous = flag(anonymous, "anonymous")
        if anonymous and user_id is not None:
            raise ValueError("anonymous=True sends no userId: give user_id or anonymous=True, not both")
        referrer = text(referrer, "referrer")
        if anonymous and referrer is not None:
            referrer = _without_query(referrer)
        self.delivery_type = text(delivery_type, "delivery_type", optional=False, blank=False)
        self.application = text(application, "application")
        self.context = {"u": uiconf_id, "c": text(client_ver, "client_ver"),
                        "r": referrer, "a": self.application,
                        "w": text(widget_id, "widget_id", blank=False),
                        "ui": text(user_id, "user_id", blank=False),
                        "av": text(application_version, "application_version"),
                        "ve": virtual_event_id}
        self.partner_id = partner_id
        self.batch_size = batch_size
        self.clock = clock
        self.rng = rng
        self.service_url = url(service_url, "service_url")
        self.analytics_url = url(analytics_url, "analytics_url")
        self.ks_provider = ks_provider
        self.on_event = on_event
        self._diagnostics = Diagnostics(on_diagnostic)
        self.diagnostics = self._diagnostics.entries  # [{"code", "message", "details"}], oldest first
        self.lost = self._diagnostics.lost  # reason -> beacons lost for good
        self.protocol = protocol
        self.quartiles = quartiles
        self._page_id = None  # KAVA's page part of a session id, made when first needed
        self._kava = {}  # KAVA session id -> its reporter (answers carry sessionStartTime)
        self.on_consent = None  # an edge's hook: called as (state, previous) after each change
        self.engine = DeliveryEngine(store, max_queue, self.diagnose, retry, consent)
        self.sender_core = SenderCore(self)
        self.players = []
        if ks is not None:
            self.set_ks(ks)

    # -- hooks ------------------------------------------------------------
    def diagnose(self, code, message, details=None, lost=None, count=1):
        """Record a runtime problem (``code`` from ``diagnostics``); ``lost``
        names the reason when ``count`` beacons were lost for good.  Edges
        report their own problems through this too."""
        return self._diagnostics.report(code, message, details, lost, count)

    def new_id(self):
        """A fresh random id (UUID 4 text) from the tracker's random source:
        beacon ids, and session ids for ``report``."""
        return uuid4(self.rng)

    def _now(self, t):
        return self.clock() if t is None else timestamp(t)

    # -- configuration ------------------------------------------------------
    @property
    def ks(self):
        return self.engine.ks

    @property
    def user_id(self):
        """The ``userId`` every beacon carries (None: not sent)."""
        return self.context["ui"]

    def set_ks(self, ks):
        """Use a new KS for every beacon sent from now on (queued ones too)."""
        if ks is not None:
            _check_ks(ks)
        self.engine.set_ks(ks, self.clock())

    def provider_ks(self, answer):
        """Take what the KS provider answered.  A usable KS is set and
        returned; anything else (None, a number, bytes, an empty or
        unencodable string) is a failed answer: a diagnostic (which never
        shows the value), delivery stays paused, and None is returned."""
        try:
            _check_ks(answer)
        except (TypeError, ValueError) as exc:
            self.diagnose(diag.KS_PROVIDER_FAILED, "KS provider gave no usable KS; delivery stays paused",
                          {"error": str(exc)})
            return None
        self.set_ks(answer)
        return answer

    def set_online(self, online):
        self.engine.set_online(online, self.clock())

    # -- consent and erasure (core/consent.py) ---------------------------------
    @property
    def consent(self):
        """``"granted"``, ``"pending"`` or ``"denied"``."""
        return self.engine.consent

    def set_consent(self, state):
        """Change the consent: ``"granted"`` queues and sends what was held,
        in order with its original times; ``"pending"`` holds new beacons in
        memory only (nothing stored or sent); ``"denied"`` discards what is
        held and queued, erases the store and keeps nothing from then on (a
        ``consent-denied`` diagnostic gives the count).  Returns how many
        beacons were moved or discarded."""
        _check_consent(state)
        previous = self.engine.consent
        count = self.engine.set_consent(state, self.clock())
        if state != previous and self.on_consent is not None:
            try:
                self.on_consent(state, previous)
            except Exception as exc:
                self.diagnose(diag.HOOK_FAILED, "on_consent hook raised", {"error": repr(exc)})
        return count

    def erase(self):
        """Remove every stored record and key of the store (``Store.erase``)
        and every beacon in memory; the consent does not change.  Returns how
        many beacons were discarded."""
        return self.engine.erase(self.clock())

    def held(self):
        """The beacons held in memory while consent is pending, oldest first."""
        return list(self.engine.held)

    # -- playback ---------------------------------------------------------
    def player(self, entry_id, ready=True):
        """A Player for one media element; sends WIDGET_LOADED unless ``ready=False``."""
        p = Player(self, text(entry_id, "entry_id", optional=False, blank=False))
        self.players.append(p)
        if ready:
            p.observe("ready")
        return p

    def kava_session_id(self, player):
        """A new KAVA session id for ``player``: ``<page id>:<media id>``."""
        if self._page_id is None:
            self._page_id = self.new_id()
        return self._page_id + ":" + player.session.session_id

    def answered(self, record, body):
        """A KAVA beacon was accepted with ``body``: its ``time`` becomes the
        session's ``sessionStartTime``, and ``viewEventsEnabled`` says whether
        VIEW events are wanted.  An answer of another shape changes nothing."""
        reporter = self._kava.get(record.get("s"))
        data = _answer_json(body)
        if reporter is None or data is None:
            return
        if type(data) is dict:
            enabled = data.get("viewEventsEnabled")
            reporter.answered(_server_time(data.get("time")), enabled if type(enabled) is bool else None)
        else:
            reporter.answered(_server_time(data), None)

    def outgoing(self, record):
        """A queued record as it is sent now: a KAVA record made before the
        server's first answer takes the session's ``sessionStartTime`` (the
        stored record itself never changes)."""
        if record.get("kv"):
            reporter = self._kava.get(record.get("s"))
            if reporter is not None:
                return reporter.outgoing(record)
        return record

    def _events(self, player, events, t):
        for event in events:
            if self.on_event is not None:
                try:
                    data = event.as_dict()
                    data["entryId"] = player.entry_id
                    self.on_event(data)
                except Exception as exc:
                    self.diagnose(diag.HOOK_FAILED, "on_event hook raised", {"error": repr(exc)})
        for reporter in player.reporters:
            if events or reporter.timed:
                for record in reporter.records(events, player.session, t):
                    self.engine.enqueue(record, self.clock())

    def report(self, event_type, entry_id, session_id=None, current_point=None, duration=None,
               seek=None, t=None):
        """Send any stats.collect type 1-40 (editor, upload and ad types too).

        Returns the record queued."""
        if not catalog.is_stats_type(event_type):
            raise ValueError("event_type must be a stats.collect type 1-40, got %r" % (event_type,))
        text(entry_id, "entry_id", optional=False, blank=False)
        if session_id is not None:
            text(session_id, "session_id", blank=False)
        for value, what in ((current_point, "current_point"), (duration, "duration")):
            if value is not None:
                seconds(value, what)
        if seek is not None and seek is not True and seek is not False:
            raise TypeError("seek must be True or False")
        t = self._now(t)
        if session_id is None:
            session_id = self.new_id()
        record = stats_record(self.new_id(), event_type, self.partner_id, entry_id, session_id,
                              t, self.context, current_point, duration, seek)
        self.engine.enqueue(record, self.clock())
        return record

    # -- application events (analytics.trackEvent) --------------------------
    def page_load(self, page_type=None, page_name=None, entry_id=None, application=None, t=None,
                  page_value=None, page_info=None, session_id=None):
        """PageLoad (10003)."""
        return self._track(catalog.PAGE_LOAD, entry_id, application, t, session_id,
                           pageType=text(page_type, "page_type"), pageName=text(page_name, "page_name"),
                           pageValue=text(page_value, "page_value"), pageInfo=text(page_info, "page_info"))

    def button_click(self, button_type, button_name, entry_id=None, application=None, t=None,
                     button_value=None, button_info=None, session_id=None, player=None):
        """ButtonClicked (10002).  A click on a player carries its playback
        session: pass the ``Player`` (its session id, and its entry id unless
        ``entry_id`` is given) or a ``session_id``."""
        if player is not None:
            if not isinstance(player, Player):
                raise TypeError("player must be a Player, got %s" % type(player).__name__)
            if player.tracker is not self:
                raise ValueError("player belongs to another tracker")
            if session_id is not None:
                raise ValueError("give session_id or player, not both")
            session_id = player.session_id
            entry_id = player.entry_id if entry_id is None else entry_id
        return self._track(catalog.BUTTON_CLICKED, entry_id, application, t, session_id,
                           buttonType=text(button_type, "button_type", optional=False),
                           buttonName=text(button_name, "button_name", optional=False),
                           buttonValue=text(button_value, "button_value"),
                           buttonInfo=text(button_info, "button_info"))

    def _track(self, event_type, entry_id, application, t, session_id, **fields):
        if entry_id is not None:
            text(entry_id, "entry_id", blank=False)
        fields["entryId"] = entry_id
        fields["sessionId"] = text(session_id, "session_id", blank=False)
        fields["kalturaApplication"] = text(application, "application") or self.application
        t = self._now(t)  # checked before the random source moves
        record = track_record(self.new_id(), event_type, self.partner_id, t, fields, self.context)
        self.engine.enqueue(record, self.clock())
        return record

    # -- delivery, for drivers (see sender.SenderCore) ------------------------
    def due_requests(self, now=None):
        """Requests to send now: at most one per endpoint queue (``SenderCore.due``)."""
        return self.sender_core.due(now)

    def handle_response(self, request, status, body, now=None, headers=None):
        """Feed the answer to ``request`` (``status`` None: no answer came),
        settling each beacon it carries on its own; returns the worst outcome
        among them (``"accepted"`` only when all were).  Senders use
        ``sender_core.receive``, which also says when to ask for a KS."""
        return self.sender_core.receive(request, response_of(status, body, headers), now).outcome

    def keepalive_requests(self, budget_bytes=KEEPALIVE_BUDGET, exclude=()):
        """The queue as requests for a page going away (``SenderCore.keepalive_requests``)."""
        return self.sender_core.keepalive_requests(budget_bytes, exclude)

    def next_wakeup(self):
        return self.engine.next_wakeup()

    def pending(self):
        return self.engine.pending()

    def queued(self):
        out = []
        for q in QUEUES:
            out.extend(self.engine.records(q))
        return out


def _without_query(address):
    """``address`` without its query string and fragment."""
    return address.split("#", 1)[0].split("?", 1)[0]


def _answer_json(body):
    """The JSON value of a trackEvent answer (a dict or a number), or None."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except Exception:  # not JSON: nothing to take from it
        return None
    return data if type(data) is dict or is_number(data) else None


def _server_time(value):
    """The server's ``time`` as whole Unix seconds, or None when unusable."""
    if not is_number(value) or not 0 < value < 1e11:  # NaN fails too
        return None
    return int(value)


def _position(value):
    """An optional playhead position from the developer (checked, or None)."""
    return None if value is None else seconds(value, "position")


class Player:
    """Observations for one media element; each method takes an optional
    ``t`` (Unix seconds, default now) so early events keep their own time.

    The named methods check their arguments and raise at the call, before the
    state machine moves: ``t`` and positions must be finite, non-negative
    seconds.  A duration is runtime data (a media element says NaN before its
    metadata, Infinity for live): ``loaded`` takes any number, and an
    unusable one means unknown, with a diagnostic."""

    def __init__(self, tracker, entry_id):
        self.tracker = tracker
        self.entry_id = entry_id
        self.session = PlaybackSession(entry_id, tracker.rng, tracker.diagnose, tracker.quartiles)
        self.reporters = reporters_for(tracker.protocol, tracker, self)
        self.kava = None
        for reporter in self.reporters:
            if hasattr(reporter, "session_id"):
                self.kava = reporter
                tracker._kava[reporter.session_id] = reporter
        self._timed = self.kava is not None
        # an edge's hook, called before each observation: the browser's timeupdate
        # gate hands over the last timeupdate it held back (see ``quiet_window``)
        self.catch_up = None
        self._wrapped = False  # a loop wrapped: the next seeked is part of it

    @property
    def session_id(self):
        """The playback session id: the guide's (a replay starts a new one),
        or in KAVA mode alone KAVA's (``<page id>:<media id>``, kept on replay)."""
        if self.kava is not None and self.tracker.protocol != GUIDE and len(self.reporters) == 1:
            return self.kava.session_id
        return self.session.session_id

    def observe(self, kind, t=None, **data):
        """Feed one observation as recorded; ``t`` is checked, the values in
        ``data`` are judged by the state machine (nonsense is dropped with a
        diagnostic).

        ``seeking``/``seeked`` take ``loop=True`` for an element that loops:
        the loop wrapping at the end of a pass (``PlaybackSession.wraps``) is
        the end of one playback and a replay, never a SEEK, and the
        ``seeked`` that follows belongs to it."""
        if self.catch_up is not None:
            self.catch_up()
        t = self.tracker._now(t)
        if kind == "seeking" or kind == "seeked":
            loop = data.pop("loop", False)
            if loop is not True and loop is not False:
                raise TypeError("loop must be True or False, got %r" % (loop,))
            if kind == "seeking" and loop and self.session.wraps(data.get("position"), t):
                self._wrapped = True
                return (self._observe("ended", t, {}) + self._observe("play_request", t, {})
                        + self._observe("playing", t, data))
            if kind == "seeked" and self._wrapped:
                self._wrapped = False
                if data.get("position") is None:
                    return []
                kind = "progress"
        return self._observe(kind, t, data)

    def _observe(self, kind, t, data):
        events = self.session.observe(kind, t, **data)
        self.tracker._events(self, events, t)
        return events

    def quiet_window(self):
        """What would be news for the next ``progress`` calls, for an edge that
        holds back the ones that carry none (the browser's timeupdate gate):
        (position, t, max(rate, 1), limit, rounding, until), read by
        ``quartiles.is_quiet``; None when every one may matter.  An edge that
        holds some back hands the last of them to ``progress`` before the next
        observation (``catch_up``): the events and records are then exactly
        those of every timeupdate."""
        window = self.session.quiet_window()
        if window is None:
            return None
        until = float(MAX_TIME)  # a time past it is nonsense: Python must see it
        if self.kava is not None:
            due = self.kava.quiet_until(self.session)
            if due is None:
                return None
            until = min(until, due)
        return window + (until,)

    def tick(self, t=None):
        """Let time pass without an observation (KAVA: a VIEW that fell due,
        the 30-s reset).  Pages need not call it (``timeupdate`` does);
        callers without a media element call it about once a second."""
        if self.catch_up is not None:
            self.catch_up()
        t = self.tracker._now(t)
        if self._timed:
            self.tracker._events(self, [], t)
        return []

    def sound(self, on, t=None):
        """Sound on (True) or off (muted or volume 0): KAVA's soundMode."""
        return self.observe("sound", t, on=on)

    def visibility(self, visible, t=None):
        """The page is visible (True) or hidden: KAVA's tabMode."""
        return self.observe("visibility", t, visible=visible)

    def ready(self, t=None):
        return self.observe("ready", t)

    def loaded(self, duration=None, t=None):
        return self.observe("metadata", t, duration=duration)

    def play_request(self, t=None):
        return self.observe("play_request", t)

    def playing(self, position=None, t=None):
        return self.observe("playing", t, position=_position(position))

    def played_ranges(self, ranges, t=None):
        """What the media played before this Player observed it (a page that
        starts late): its ``played`` time ranges, ``[[start, end], ...]`` in
        seconds.  After PLAY, the quartiles a range from 0 covers fire now (it
        proves natural playback up to its end); nothing else changes."""
        if isinstance(ranges, tuple):
            ranges = list(ranges)
        return self.observe("played_ranges", t, ranges=ranges)

    def play(self, position=None, t=None):
        """Play request and playback start in one call (server-side use)."""
        t = self.tracker._now(t)
        position = _position(position)
        return self.observe("play_request", t) + self.observe("playing", t, position=position)

    def pause(self, position=None, t=None):
        return self.observe("pause", t, position=_position(position))

    def seek(self, position, t=None):
        """A completed seek to ``position`` (None: where the playhead is)."""
        t = self.tracker._now(t)
        position = _position(position)
        return self.observe("seeking", t, position=position) + self.observe("seeked", t, position=position)

    def seeking(self, position, t=None, loop=False):
        """A seek starts; ``loop``: the element loops (its wrap at the end of a
        pass is a replay, not a seek)."""
        return self.observe("seeking", t, position=_position(position), loop=loop)

    def seeked(self, position=None, t=None, loop=False):
        return self.observe("seeked", t, position=_position(position), loop=loop)

    def waiting(self, position=None, t=None):
        return self.observe("waiting", t, position=_position(position))

    def progress(self, position, t=None):
        # the hot path (every timeupdate): no events in the common case
        if type(position) is not float or not 0.0 <= position <= MAX_SECONDS:
            seconds(position, "position")
        if self.catch_up is not None:
            self.catch_up()
        tracker = self.tracker
        t = tracker.clock() if t is None else timestamp(t)
        events = self.session.observe("progress", t, position=position)
        if events or self._timed:
            tracker._events(self, events, t)
        return events

    def ended(self, t=None):
        return self.observe("ended", t)

    def error(self, code=None, message=None, t=None):
        return self.observe("error", t, code=code, message=message)

    def rate(self, rate, t=None):
        return self.observe("rate", t, rate=rate)

    def fullscreen(self, on, t=None):
        return self.observe("fullscreen", t, on=on)

    def captions(self, language=None, t=None):
        return self.observe("captions", t, language=language)

    def flavor(self, bitrate=None, t=None):
        return self.observe("flavor", t, bitrate=bitrate)

    def source(self, bitrate=None, t=None):
        return self.observe("source", t, bitrate=bitrate)

    def share(self, t=None):
        return self.observe("share", t)

    def download(self, t=None):
        return self.observe("download", t)

    def related(self, t=None):
        return self.observe("related", t)

    def ad_start(self, slot, t=None):
        """An ad starts: slot is preroll, midroll, postroll or overlay."""
        return self.observe("ad_start", t, slot=slot)

    def ad_progress(self, position, ad_duration, t=None):
        return self.observe("ad_progress", t, position=seconds(position, "position"),
                            ad_duration=ad_duration)

    def ad_click(self, t=None):
        return self.observe("ad_click", t)

    def ad_end(self, t=None):
        return self.observe("ad_end", t)

    def bumper(self, slot, t=None):
        """A bumper played: slot is 'pre' or 'post'."""
        return self.observe("bumper", t, slot=slot)

    def bumper_click(self, t=None):
        return self.observe("bumper_click", t)

    def close(self, t=None):
        return self.observe("close", t)
