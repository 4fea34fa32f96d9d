"""KAVA: Player v7's playback analytics, as a protocol (pure).

Today's Kaltura reports are computed from KAVA events: what Player v7's KAVA
plugin sends through analytics.trackEvent (reference.md section 3).  A
``KavaReporter`` follows one media element.  It turns the state machine's
player events into KAVA beacon records and keeps what KAVA adds on top of
them:

* one KAVA session per media element: its ``sessionId`` is
  ``<page id>:<media id>``, and a replay (REPLAY 34) stays in it;
* ``eventIndex``: 1, 2, 3... on the events of the session;
* VIEW (99) right after PLAY, then after every 10 s of playing (wall time
  while the timer runs, pauses excluded), with ``playTimeSum`` (seconds of
  natural playback), ``bufferTime`` (since the previous VIEW) and
  ``bufferTimeSum``; a VIEW whose ``playTimeSum`` did not change is skipped,
  and none is made while the server says ``viewEventsEnabled: false``;
* after 30 s without playback the counters start again (eventIndex 1,
  playTimeSum and bufferTimeSum 0) in the same session;
* ``sessionStartTime``: the server's ``time`` from the first answer.

Time only moves when an observation comes: a VIEW that fell due, or a reset,
is made by the next observation (a page's ``timeupdate`` comes four times a
second while playing; the browser's timeupdate gate lets through the one at
which a VIEW or the reset falls due: ``quiet_until``).  Callers without a media element call
``Player.tick()`` about once a second for the same cadence.

Unlike Player v7, nothing is lost on a failure: the records go through the
same durable queue, retries and unload flush as the guide's.
"""

from .catalog import KAVA_TYPE_BY_NAME
from .encoding import TRACK
from .quartiles import is_live_duration

VIEW_INTERVAL = 10.0  # seconds of playing between VIEW events
RESET_AFTER = 30.0  # seconds without playback before the counters start again
GATE_MARGIN = 0.001  # the timeupdate gate lets through timeupdates this early before a VIEW is due
_INF = float("inf")

SOUND_OFF, SOUND_ON = 1, 2
TAB_HIDDEN, TAB_VISIBLE = 1, 2
NOT_FULLSCREEN, FULLSCREEN = 1, 2
# errorPosition: before the play request, between it and playback, during playback
ERROR_PRE_PLAY, ERROR_PRE_PLAYING, ERROR_MID_STREAM = 3, 1, 2

# state-machine event -> KAVA event (the others have no KAVA counterpart)
FROM_PLAYER = {
    "WIDGET_LOADED": "IMPRESSION", "PLAY_REQUEST": "PLAY_REQUEST", "PLAY": "PLAY",
    "RESUME": "RESUME", "PAUSE": "PAUSE", "REPLAY": "REPLAY", "SEEK": "SEEK",
    "PLAY_REACHED_25": "PLAY_REACHED_25", "PLAY_REACHED_50": "PLAY_REACHED_50",
    "PLAY_REACHED_75": "PLAY_REACHED_75", "PLAY_REACHED_90": "PLAY_REACHED_90",
    "PLAY_REACHED_100": "PLAY_REACHED_100", "BUFFER_START": "BUFFER_START",
    "BUFFER_END": "BUFFER_END", "SPEED": "SPEED", "CAPTIONS": "CAPTIONS",
    "SOURCE_SELECTED": "SOURCE_SELECTED", "FLAVOR_SWITCH": "FLAVOR_SWITCH",
    "ENTER_FULLSCREEN": "ENTER_FULLSCREEN", "EXIT_FULLSCREEN": "EXIT_FULLSCREEN",
    "SHARE_CLICKED": "SHARE_CLICKED", "DOWNLOAD_CLICKED": "DOWNLOAD",
    "REPORT_CLICKED": "REPORT_CLICKED", "RELATED_CLICKED": "RELATED_OPEN", "ERROR": "ERROR",
    "ENDED": None,
}
_QUARTILES = ("PLAY_REACHED_25", "PLAY_REACHED_50", "PLAY_REACHED_75", "PLAY_REACHED_90",
              "PLAY_REACHED_100")
_STOPS = ("PAUSE", "ENDED")  # the playing timer stops


def seconds3(value):
    """A duration or position as KAVA carries it: seconds, to the millisecond."""
    return round(float(value), 3)


def _number(value):
    """A number from the page as text or number; None when it is not one."""
    if type(value) is bool:
        return None
    if type(value) is int or type(value) is float:
        return value if value == value else None
    return None


class KavaReporter:
    """KAVA records for one media element (``Player``); ``records`` is
    called after every observation with the events it caused."""

    timed = True  # wants every observation, even one without events

    def __init__(self, tracker, player, session_id):
        self.tracker = tracker
        self.player = player
        self.session_id = session_id
        self.index = 1
        self.requested = False
        self.request_t = None
        self.started = False  # PLAY sent
        self.timer = False  # the playing timer has started (first PLAY)
        self.running = False  # ... and runs now (not paused or ended)
        self.last_t = None
        self.play_clock = 0.0  # seconds the timer ran
        self.next_view = None  # play_clock value at which a VIEW is due
        self.stopped_for = 0.0
        self.reset_done = False
        self.played_from = None  # session.played_time when playTimeSum was last 0
        self.play_sum = 0.0
        self.last_view_sum = None
        self.buffer_since = None
        self.buffer_time = 0.0
        self.buffer_sum = 0.0
        self.fired = []
        self.bitrate = None  # kbps
        self.caption = None
        self.start_time = None  # sessionStartTime, from the server's answer
        self.run = 0  # counter resets so far: a record of an earlier run gets no later start time
        self.view_enabled = True

    # -- what the server said ----------------------------------------------
    def answered(self, server_time, view_enabled):
        """An accepted beacon's answer: its ``time`` (Unix seconds or None) and
        ``viewEventsEnabled`` (True, False or None when not said)."""
        if self.start_time is None and server_time is not None:
            self.start_time = server_time
        if view_enabled is not None:
            self.view_enabled = view_enabled

    # -- observations --------------------------------------------------------
    def records(self, events, session, t):
        """The KAVA records for one observation at ``t`` and its events."""
        out = []
        self._elapse(session, t, out)
        for event in events:
            name = FROM_PLAYER.get(event.name, None)
            if event.name in FROM_PLAYER:
                self._event(event, name, session, out)
        return out

    def _elapse(self, session, t, out):
        """Let the time since the previous observation pass: playing time,
        a VIEW that fell due, or the 30-s reset."""
        if self.played_from is None:
            self.played_from = session.played_time
        # one difference, not a running sum: the same however many observations came between
        self.play_sum = session.played_time - self.played_from
        elapsed = 0.0 if self.last_t is None else max(0.0, t - self.last_t)
        self.last_t = t
        if self.running:
            self.play_clock += elapsed
            if self.next_view is not None and self.play_clock >= self.next_view:
                # one VIEW however many intervals passed; the next one is due a full interval on
                self.next_view = self.play_clock + VIEW_INTERVAL
                self._view(session, t, out)
        elif self.timer:
            self.stopped_for += elapsed
            if self.stopped_for >= RESET_AFTER and not self.reset_done:
                self._reset(session)

    def _reset(self, session):
        self.reset_done = True
        self.run += 1
        self.index = 1
        self.play_sum = 0.0
        self.played_from = session.played_time
        self.buffer_sum = 0.0
        self.last_view_sum = None
        self.start_time = None
        self.next_view = self.play_clock + VIEW_INTERVAL

    def quiet_until(self, session):
        """The time (Unix seconds) from which a timeupdate must reach Python
        because a VIEW falls due or the 30-s reset applies (a millisecond early:
        ``GATE_MARGIN``); inf when none can; None when the reporter has not
        seen the session's last observation (every timeupdate may matter)."""
        t0 = self.last_t
        if t0 is None or t0 != session.last_t:
            return None
        if self.running:
            if self.next_view is None:
                return _INF
            return t0 + (self.next_view - self.play_clock) - GATE_MARGIN
        if self.timer and not self.reset_done:
            return t0 + (RESET_AFTER - self.stopped_for) - GATE_MARGIN
        return _INF

    def _run(self):
        self.running = True
        self.stopped_for = 0.0
        self.reset_done = False

    def _event(self, event, name, session, out):
        t = event.t
        if event.name == "ENDED" and self.running:
            # a media element pauses as it ends: Player v7 reports that PAUSE
            self._emit("PAUSE", session, t, out, [])
        if event.name in _STOPS:
            self.running = False
        if name is None:
            return
        fields = []
        if name == "PLAY_REQUEST":
            if self.requested:
                return  # once per KAVA session: a replay sends REPLAY only
            self.requested = True
            self.request_t = t
        elif name == "PLAY":
            if self.started:
                return
            self.started = self.timer = True
            self._run()
            self.next_view = self.play_clock + VIEW_INTERVAL
            fields = self._buffer_fields() + self._bitrate_field()
            if self.request_t is not None:
                fields.append(("joinTime", seconds3(t - self.request_t)))
            self._emit(name, session, t, out, fields)
            self._view(session, t, out)
            return
        elif name == "RESUME":
            self._run()
            fields = self._buffer_fields() + self._bitrate_field()
        elif name == "REPLAY":
            self._run()
            self.next_view = self.play_clock + VIEW_INTERVAL
        elif name in _QUARTILES:
            if name in self.fired:
                return  # once per KAVA session, replays included
            self.fired.append(name)
        elif name == "SEEK":
            fields = [("targetPosition", seconds3(event.data.get("target", session.position)))]
        elif name == "BUFFER_START":
            self._fold_buffer(t)
            self.buffer_since = t
        elif name == "BUFFER_END":
            self._fold_buffer(t)
            self.buffer_since = None
        elif name == "CAPTIONS":
            if not self.started:
                return  # Player v7 reports a caption change once playback started
            language = event.data.get("language")
            self.caption = None if language is None or language == "" else str(language)
        elif name == "SOURCE_SELECTED" or name == "FLAVOR_SWITCH":
            bitrate = _number(event.data.get("bitrate"))
            if bitrate is not None and bitrate > 0:
                self.bitrate = seconds3(bitrate / 1024.0)
            fields = self._bitrate_field()
        elif name == "ENTER_FULLSCREEN" or name == "EXIT_FULLSCREEN":
            fields = [("screenMode", FULLSCREEN if name == "ENTER_FULLSCREEN" else NOT_FULLSCREEN)]
        elif name == "ERROR":
            fields = self._error_fields(event.data)
        self._emit(name, session, t, out, fields)

    # -- fields ----------------------------------------------------------
    def _fold_buffer(self, t):
        """Count the open buffer up to ``t`` (an event reports buffering so far)."""
        if self.buffer_since is not None:
            spent = max(0.0, t - self.buffer_since)
            self.buffer_time += spent
            self.buffer_sum += spent
            self.buffer_since = t

    def _buffer_fields(self):
        return [("bufferTime", seconds3(self.buffer_time)), ("bufferTimeSum", seconds3(self.buffer_sum))]

    def _bitrate_field(self):
        return [] if self.bitrate is None else [("actualBitrate", self.bitrate)]

    def _error_fields(self, data):
        if not self.requested:
            where = ERROR_PRE_PLAY
        elif not self.started:
            where = ERROR_PRE_PLAYING
        else:
            where = ERROR_MID_STREAM
        fields = []
        code = data.get("code")
        if code is not None and type(code) is not bool:
            fields.append(("errorCode", code if type(code) is int else str(code)))
        message = data.get("message")
        if message is not None and message != "":
            fields.append(("errorDetails", str(message)))
        fields.append(("errorPosition", where))
        return fields

    def _view(self, session, t, out):
        """A VIEW now, unless the server disabled them or no playing time was added."""
        self._fold_buffer(t)
        play_sum = seconds3(self.play_sum)
        if self.view_enabled and play_sum != self.last_view_sum:
            self.last_view_sum = play_sum
            fields = [("playTimeSum", play_sum)] + self._buffer_fields() + self._bitrate_field()
            if session.sound_on is not None:
                fields.append(("soundMode", SOUND_ON if session.sound_on else SOUND_OFF))
            if session.tab_visible is not None:
                fields.append(("tabMode", TAB_VISIBLE if session.tab_visible else TAB_HIDDEN))
            fields.append(("screenMode", FULLSCREEN if session.fullscreen else NOT_FULLSCREEN))
            self._emit("VIEW", session, t, out, fields)
        self.buffer_time = 0.0

    def _emit(self, name, session, t, out, fields):
        self._fold_buffer(t)
        tracker = self.tracker
        live = is_live_duration(session.duration) and session.duration is not None
        pairs = [("eventIndex", self.index),
                 ("position", seconds3(session.position)),
                 ("playbackType", "live" if live else "vod"),
                 ("deliveryType", tracker.delivery_type),
                 ("playbackSpeed", session.rate)]
        context = tracker.context
        for key, wire in (("c", "clientVer"), ("c", "clientTag"), ("r", "referrer"), ("ui", "userId"),
                          ("a", "kalturaApplication"), ("av", "kalturaApplicationVer"),
                          ("u", "uiConfId"), ("ve", "virtualEventId")):
            value = context.get(key)
            if value is not None and value != "":
                pairs.append((wire, value))
        if self.start_time is not None:
            pairs.append(("sessionStartTime", self.start_time))
        if self.caption is not None:
            pairs.append(("caption", self.caption))
        self.index += 1
        record = kava_record(tracker.new_id(), KAVA_TYPE_BY_NAME[name], tracker.partner_id,
                             self.player.entry_id, self.session_id, t, pairs + fields)
        if self.run:
            record["sr"] = self.run
        out.append(record)

    def outgoing(self, record):
        """``record`` as it is sent now: made before the server's first answer,
        it gets the ``sessionStartTime`` known since (as Player v7's beacons
        do, which take it when they are sent), unless a reset came between."""
        if self.start_time is None or record.get("sr", 0) != self.run:
            return record
        for item in record["x"]:
            if item[0] == "sessionStartTime":
                return record
        out = dict(record)
        out["x"] = record["x"] + [["sessionStartTime", self.start_time]]
        return out


def kava_record(beacon_id, event_type, partner_id, entry_id, session_id, t, params):
    """The record of one KAVA beacon: the four query-string fields, the
    observation time, and the other parameters in order (``x``)."""
    # the analytics.trackEvent queue: one FIFO with the application events
    return {"i": beacon_id, "k": TRACK, "kv": 1, "e": event_type, "p": partner_id, "n": entry_id,
            "s": session_id, "t": int(t), "x": [[name, value] for name, value in params]}
