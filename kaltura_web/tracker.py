"""The Tracker: the SDK's public face, still free of I/O.

It turns API calls and player observations into beacon records, queues them
in its ``DeliveryEngine`` and hands ready requests to whichever driver runs
it (``kaltura_web.cpython`` on servers, ``kaltura_web.browser`` in pages).
Clock and random source are injected; the edges pass real ones.
"""

from . import catalog
from ._compat import is_int, uuid4
from .delivery import DEFAULT_MAX_QUEUE, NEED_KS, DeliveryEngine
from .encoding import (QUEUES, STATS, classify, classify_batch, encode, encode_batch, stats_record,
                       track_record)
from .protocol import StatsCollectProtocol
from .session import PlaybackSession

DEFAULT_SERVICE_URL = "https://www.kaltura.com/api_v3"
DEFAULT_ANALYTICS_URL = "https://analytics.kaltura.com"
CLIENT_VER = "kaltura_web:0.1.0"
MAX_DIAGNOSTICS = 200
DEFAULT_BATCH_SIZE = 50  # stats.collect beacons per multirequest when a backlog drains


def mask_ks(ks, empty="<none>"):
    """A KS shortened for logs: the first 8 and last 4 characters of it, nothing
    of a short one.  The only form in which a KS is ever printed or stored."""
    if not ks:
        return empty
    ks = str(ks)
    if len(ks) <= 16:
        return "…"
    return ks[:8] + "…" + ks[-4:]


def _partner(value):
    if type(value) is str and value.isdigit():
        value = int(value)
    if not is_int(value) or value <= 0:
        raise ValueError("partner_id must be a positive integer, got %r" % (value,))
    return value


def _entry(value):
    if type(value) is not str or not value.strip():
        raise ValueError("entry_id must be a non-empty string, got %r" % (value,))
    return value


def _url(value, what):
    if type(value) is not str or not (value.startswith("http://") or value.startswith("https://")):
        raise ValueError("%s must be an http(s) URL, got %r" % (what, value))
    return value.rstrip("/")


def _optional_str(value, what):
    if value is not None and type(value) is not str:
        raise TypeError("%s must be a string, got %r" % (what, value))
    return value


class Tracker:
    """Reports playback (stats.collect) and application (trackEvent) events.

    Required: ``partner_id``, and the injected ``clock`` (returns float Unix
    seconds) and ``rng`` (has ``getrandbits``).  ``service_url`` includes
    ``/api_v3``; ``analytics_url`` is an origin.
    """

    def __init__(self, partner_id, clock, rng, service_url=DEFAULT_SERVICE_URL,
                 analytics_url=DEFAULT_ANALYTICS_URL, ks=None, ks_provider=None,
                 application=None, uiconf_id=None, client_ver=CLIENT_VER, referrer=None,
                 store=None, max_queue=DEFAULT_MAX_QUEUE, on_event=None, on_diagnostic=None,
                 protocol=None, batch_size=DEFAULT_BATCH_SIZE):
        self.partner_id = _partner(partner_id)
        if not callable(clock):
            raise TypeError("clock must be a callable returning Unix seconds")
        if not hasattr(rng, "getrandbits"):
            raise TypeError("rng must provide getrandbits (e.g. random.Random())")
        if ks_provider is not None and not callable(ks_provider):
            raise TypeError("ks_provider must be a callable returning a KS")
        if uiconf_id is not None and not is_int(uiconf_id):
            if type(uiconf_id) is str and uiconf_id.isdigit():
                uiconf_id = int(uiconf_id)
            else:
                raise ValueError("uiconf_id must be an integer, got %r" % (uiconf_id,))
        if not is_int(batch_size) or batch_size < 1:
            raise ValueError("batch_size must be a positive integer, got %r" % (batch_size,))
        self.batch_size = batch_size
        self.clock = clock
        self.rng = rng
        self.service_url = _url(service_url, "service_url")
        self.analytics_url = _url(analytics_url, "analytics_url")
        self.application = _optional_str(application, "application")
        self.context = {"u": uiconf_id, "c": _optional_str(client_ver, "client_ver"),
                        "r": _optional_str(referrer, "referrer")}
        self.ks_provider = ks_provider
        self.on_event = on_event
        self.on_diagnostic = on_diagnostic
        self.diagnostics = []
        self.protocol = protocol if protocol is not None else StatsCollectProtocol()
        self.engine = DeliveryEngine(store, max_queue, self._diagnose)
        self.needs_ks = False  # the last answer rejected the KS and the provider should be asked
        self.players = []
        if ks is not None:
            self.set_ks(ks)

    # -- hooks ------------------------------------------------------------
    def _diagnose(self, message, details=None):
        entry = {"message": message, "details": details or {}}
        self.diagnostics.append(entry)
        if len(self.diagnostics) > MAX_DIAGNOSTICS:
            del self.diagnostics[0]
        if self.on_diagnostic is not None:
            try:
                self.on_diagnostic(message, details or {})
            except Exception as exc:
                self.diagnostics.append({"message": "on_diagnostic hook raised", "details": {"error": repr(exc)}})

    def _new_id(self):
        return uuid4(self.rng)

    def _now(self, t):
        if t is None:
            return self.clock()
        if type(t) is not int and type(t) is not float:
            raise TypeError("t must be Unix seconds, got %r" % (t,))
        return t

    # -- configuration ------------------------------------------------------
    @property
    def ks(self):
        return self.engine.ks

    def set_ks(self, ks):
        """Use a new KS for every beacon sent from now on (queued ones too)."""
        if ks is not None and (type(ks) is not str or not ks):
            raise TypeError("ks must be a non-empty string")
        self.engine.set_ks(ks, self.clock())

    def set_online(self, online):
        self.engine.set_online(online, self.clock())

    # -- playback ---------------------------------------------------------
    def player(self, entry_id, ready=True):
        """A Player for one media element; sends WIDGET_LOADED unless ``ready=False``."""
        p = Player(self, _entry(entry_id))
        self.players.append(p)
        if ready:
            p.observe("ready")
        return p

    def _events(self, player, events):
        for event in events:
            if self.on_event is not None:
                try:
                    data = event.as_dict()
                    data["entryId"] = player.entry_id
                    self.on_event(data)
                except Exception as exc:
                    self._diagnose("on_event hook raised", {"error": repr(exc)})
            for record in self.protocol.records(event, player.entry_id, self.partner_id,
                                                self.context, self._new_id):
                self.engine.enqueue(record, self.clock())

    def report(self, event_type, entry_id, session_id=None, current_point=None, duration=None,
               seek=None, t=None):
        """Send any stats.collect type 1-40 (editor, upload and ad types too).

        Returns the record queued."""
        if not catalog.is_stats_type(event_type):
            raise ValueError("event_type must be a stats.collect type 1-40, got %r" % (event_type,))
        _entry(entry_id)
        if session_id is None:
            session_id = self._new_id()
        elif type(session_id) is not str or not session_id:
            raise ValueError("session_id must be a non-empty string")
        for value, what in ((current_point, "current_point"), (duration, "duration")):
            if value is not None and type(value) is not int and type(value) is not float:
                raise TypeError("%s must be a number of seconds, got %r" % (what, value))
        if seek is not None and seek is not True and seek is not False:
            raise TypeError("seek must be True or False")
        record = stats_record(self._new_id(), event_type, self.partner_id, entry_id, session_id,
                              self._now(t), self.context, current_point, duration, seek)
        self.engine.enqueue(record, self.clock())
        return record

    # -- application events (analytics.trackEvent) --------------------------
    def page_load(self, page_type=None, page_name=None, entry_id=None, application=None, t=None):
        """PageLoad (10003)."""
        return self._track(catalog.PAGE_LOAD, entry_id, application, t,
                           pageType=page_type, pageName=page_name)

    def button_click(self, button_type, button_name, entry_id=None, application=None, t=None):
        """ButtonClicked (10002)."""
        if type(button_type) is not str or type(button_name) is not str:
            raise TypeError("button_type and button_name must be strings")
        return self._track(catalog.BUTTON_CLICKED, entry_id, application, t,
                           buttonType=button_type, buttonName=button_name)

    def _track(self, event_type, entry_id, application, t, **fields):
        if entry_id is not None:
            _entry(entry_id)
        for name in fields:
            _optional_str(fields[name], name)
        fields["entryId"] = entry_id
        fields["kalturaApplication"] = _optional_str(application, "application") or self.application
        record = track_record(self._new_id(), event_type, self.partner_id, self._now(t), fields)
        self.engine.enqueue(record, self.clock())
        return record

    # -- delivery, for drivers ----------------------------------------------
    def due_requests(self, now=None):
        """Requests to send now: at most one per endpoint queue.  A stats.collect
        backlog goes out as ordered multirequest batches (up to ``batch_size``
        beacons and ``MAX_BATCH_BYTES``); a single beacon as itself."""
        now = self.clock() if now is None else now
        out = []
        for batch in self.engine.ready_batches(now, {STATS: self.batch_size}):
            if len(batch) == 1:
                out.append(encode(batch[0], self.engine.ks, self.service_url, self.analytics_url))
            else:
                # records past the byte cap stay queued: the answer settles only those sent
                out.append(encode_batch(batch, self.engine.ks, self.service_url))
        return out

    def handle_response(self, request, status, body, now=None):
        """Feed the answer to ``request`` (status None: no answer).  Returns
        the outcome of its first beacon; when the KS was rejected the outcome
        is ``"auth"`` and ``needs_ks`` tells whether the driver should ask the
        KS provider."""
        now = self.clock() if now is None else now
        queue = self.engine.queues[request.queue]
        batch = queue.batch
        if not batch or batch[0]["i"] != request.beacon_id:
            self._diagnose("answer for a beacon not in flight", {"beacon": request.beacon_id})
            return classify(status, body)[0]
        records = batch[:len(request.beacon_ids)]
        if len(records) == 1:
            outcomes = [classify(status, body)]
        else:
            outcomes = classify_batch(status, body, len(records))
        results = [(records[i], outcomes[i][0], outcomes[i][1]) for i in range(len(records))]
        actions = self.engine.settle_batch(request.queue, results, now)
        self.needs_ks = NEED_KS in actions
        return outcomes[0][0]

    def next_wakeup(self):
        return self.engine.next_wakeup()

    def pending(self):
        return self.engine.pending()

    def queued(self):
        out = []
        for q in QUEUES:
            out.extend(self.engine.records(q))
        return out


class Player:
    """Observations for one media element; each method takes an optional
    ``t`` (Unix seconds, default now) so early events keep their own time."""

    def __init__(self, tracker, entry_id):
        self.tracker = tracker
        self.entry_id = entry_id
        self.session = PlaybackSession(entry_id, tracker.rng, tracker._diagnose)

    @property
    def session_id(self):
        return self.session.session_id

    def observe(self, kind, t=None, **data):
        t = self.tracker._now(t)
        events = self.session.observe(kind, t, **data)
        self.tracker._events(self, events)
        return events

    def ready(self, t=None):
        return self.observe("ready", t)

    def loaded(self, duration=None, t=None):
        return self.observe("metadata", t, duration=duration)

    def play_request(self, t=None):
        return self.observe("play_request", t)

    def playing(self, position=None, t=None):
        return self.observe("playing", t, position=position)

    def play(self, position=None, t=None):
        """Play request and playback start in one call (server-side use)."""
        return self.play_request(t) + self.playing(position, t)

    def pause(self, position=None, t=None):
        return self.observe("pause", t, position=position)

    def seek(self, position, t=None):
        """A completed seek to ``position``."""
        return self.observe("seeking", t, position=position) + self.observe("seeked", t, position=position)

    def seeking(self, position, t=None):
        return self.observe("seeking", t, position=position)

    def seeked(self, position=None, t=None):
        return self.observe("seeked", t, position=position)

    def waiting(self, position=None, t=None):
        return self.observe("waiting", t, position=position)

    def progress(self, position, t=None):
        # the hot path (every timeupdate): no events in the common case
        tracker = self.tracker
        events = self.session.observe("progress", tracker.clock() if t is None else tracker._now(t),
                                      position=position)
        if events:
            tracker._events(self, events)
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
        return self.observe("ad_progress", t, position=position, ad_duration=ad_duration)

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
