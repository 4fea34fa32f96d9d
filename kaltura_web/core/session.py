"""The playback-session state machine (pure).

Input: player *observations*, each with its time (float Unix seconds).
Output: an ordered list of player events (Player v7 names, see
``catalog.PLAYER_EVENTS``).  Turning events into beacons is a protocol's job
(``protocol.py``), so a second protocol (KAVA) can reuse this machine.

Every allowed (state, observation) pair and the state it leads to is in
``TRANSITIONS``; anything else is dropped and reported to diagnostics, never
raised: observations are runtime data from the page.
"""

from . import diagnostics as diag
from ._compat import is_finite, is_nan, is_number, uuid4
from .validation import MAX_SECONDS

# --- states -----------------------------------------------------------------
CREATED = "created"  # before WIDGET_LOADED
READY = "ready"  # WIDGET_LOADED sent
LOADED = "loaded"  # MEDIA_LOADED sent, not yet playing
PLAYING = "playing"
PAUSED = "paused"
ENDED = "ended"
CLOSED = "closed"
SAME = "same"  # stay in the current state

_ACTIVE = {
    "playing": PLAYING,
    "play_request": SAME,
    "pause": PAUSED,
    "seeking": SAME,
    "seeked": SAME,
    "waiting": SAME,
    "progress": SAME,
    "ended": ENDED,
}
_ANYTIME = {
    "error": SAME,
    "rate": SAME,
    "fullscreen": SAME,
    "captions": SAME,
    "flavor": SAME,
    "source": SAME,
    "share": SAME,
    "download": SAME,
    "report": SAME,
    "related": SAME,
    "ad_start": SAME,
    "ad_progress": SAME,
    "ad_click": SAME,
    "ad_end": SAME,
    "bumper": SAME,
    "bumper_click": SAME,
    "close": CLOSED,
}


def _merge(*tables):
    out = {}
    for table in tables:
        out.update(table)
    return out


# (state -> observation -> next state).  Observations that imply missing
# predecessors (e.g. "playing" in CREATED) are allowed: the handler emits the
# predecessors first.
TRANSITIONS = {
    CREATED: _merge(_ANYTIME, {"ready": READY, "metadata": LOADED, "play_request": SAME,
                               "playing": PLAYING, "seeking": SAME, "seeked": SAME,
                               "progress": SAME, "waiting": SAME, "pause": SAME, "ended": ENDED}),
    READY: _merge(_ANYTIME, {"ready": SAME, "metadata": LOADED, "play_request": SAME,
                             "playing": PLAYING, "seeking": SAME, "seeked": SAME,
                             "progress": SAME, "waiting": SAME, "pause": SAME, "ended": ENDED}),
    LOADED: _merge(_ANYTIME, _ACTIVE, {"metadata": SAME, "pause": SAME}),
    PLAYING: _merge(_ANYTIME, _ACTIVE, {"metadata": SAME}),
    PAUSED: _merge(_ANYTIME, _ACTIVE, {"metadata": SAME, "pause": SAME}),
    ENDED: _merge(_ANYTIME, {"metadata": SAME, "play_request": SAME, "playing": PLAYING,
                             "seeking": SAME, "seeked": SAME, "pause": SAME, "ended": SAME,
                             "progress": SAME, "waiting": SAME}),
    CLOSED: {},
}

QUARTILES = ((0.25, "PLAY_REACHED_25"), (0.5, "PLAY_REACHED_50"), (0.75, "PLAY_REACHED_75"),
             (1.0, "PLAY_REACHED_100"))
AD_QUARTILES = ((0.25, "25"), (0.5, "50"), (0.75, "75"))
AD_EVENT_PREFIX = {"preroll": "PREROLL", "midroll": "MIDROLL", "postroll": "POSTROLL",
                   "overlay": "OVERLAY"}
BUMPER_EVENTS = {"pre": "PRE_BUMPER_PLAYED", "post": "POST_BUMPER_PLAYED"}

_NO_POSITION = ("WIDGET_LOADED", "MEDIA_LOADED")
_INF = float("inf")
_KNOWN = _merge(*TRANSITIONS.values())  # every observation kind
_NUMBERS = ("position", "duration", "rate", "ad_duration")  # data that must be numbers (or None)
_NEEDS = {"progress": ("position",), "rate": ("rate",), "ad_progress": ("position", "ad_duration")}
_SLOTS = {"ad_start": tuple(AD_EVENT_PREFIX), "bumper": tuple(BUMPER_EVENTS)}

# Forward playback counts as natural when the playhead moved no further than
# the elapsed time allows (at the playback rate), plus this slack in seconds.
NATURAL_SLACK = 1.0
NATURAL_FACTOR = 1.5


class Event:
    """One player event of a playback session."""

    __slots__ = ("name", "session_id", "t", "position", "duration", "data")

    def __init__(self, name, session_id, t, position=None, duration=None, data=None):
        self.name = name
        self.session_id = session_id
        self.t = t
        self.position = position
        self.duration = duration
        self.data = data or {}

    def as_dict(self):
        out = {"name": self.name, "sessionId": self.session_id, "t": self.t}
        if self.position is not None:
            out["position"] = self.position
        if self.duration is not None:
            out["duration"] = self.duration
        if self.data:
            out["data"] = self.data
        return out

    def __repr__(self):
        return "Event(%s @%s pos=%s)" % (self.name, self.t, self.position)


def is_live_duration(duration) -> bool:
    """Unknown, zero, NaN or infinite durations mean live (no quartiles)."""
    return duration is None or not is_finite(duration) or duration <= 0


class Quartiles:
    """Content quartiles of one session: each fires once, only when natural
    forward playback crosses its point."""

    def __init__(self):
        self.fired = []
        self.last = None  # last position reached by natural playback
        self.last_t = None

    def jump(self, position, t):
        """The playhead moved by a seek: no quartile between old and new."""
        self.last = position
        self.last_t = t

    def advance(self, position, t, rate, duration):
        """Names of the quartiles crossed moving to ``position`` at ``t``."""
        if self.last is None or is_live_duration(duration):
            self.jump(position, t)
            return []
        elapsed = t - self.last_t if self.last_t is not None else 0.0
        moved = position - self.last
        allowed = max(elapsed, 0.0) * max(rate, 1.0) * NATURAL_FACTOR + NATURAL_SLACK
        if moved < 0 or moved > allowed:
            self.jump(position, t)
            return [] if moved < 0 else None  # None: an unexplained jump
        crossed = []
        if position + 1e-9 >= duration * 0.25:  # fast path: nothing to cross yet
            for fraction, name in QUARTILES:
                point = duration * fraction
                if point > position + 1e-9:
                    break
                if self.last < point and name not in self.fired:
                    self.fired.append(name)
                    crossed.append(name)
        self.last = position
        self.last_t = t
        return crossed


class PlaybackSession:
    """Tracks one media element (one entry) through its playback sessions.

    ``observe(kind, t, **data)`` returns the player events it causes, in order.
    A new analytics session id starts on replay after ended.
    """

    def __init__(self, entry_id, rng, diagnostics=None):
        self.entry_id = entry_id
        self._rng = rng
        self._diag = diagnostics
        self.state = CREATED
        self.session_id = uuid4(rng)
        self.duration = None
        self.duration_locked = False
        self.position = 0.0
        self.rate = 1.0
        self.played = False  # PLAY sent in this analytics session
        self.first_play_sent = False  # FIRST_PLAY: once per player
        self.requested = False  # PLAY_REQUEST sent in this session
        self.seeking = False
        self.buffering = False
        self.fullscreen = False
        self.quartiles = Quartiles()
        self.ad = None  # [kind, fired ad quartiles]
        self.last_t = None
        self._out = []
        self._handlers = {}

    # -- helpers -----------------------------------------------------------
    def _report(self, code, message, **details):
        if self._diag is not None:
            details["entryId"] = self.entry_id
            details["sessionId"] = self.session_id
            self._diag(code, message, details)

    def _emit(self, name, t, **data):
        duration = None if is_live_duration(self.duration) else self.duration
        position = None if name in _NO_POSITION else self.position
        self._out.append(Event(name, self.session_id, t, position, duration, data))

    def _ensure_loaded(self, t):
        if self.state == CREATED:
            self._emit("WIDGET_LOADED", t)
            self.state = READY
        if self.state == READY:
            self.state = LOADED
            self._emit("MEDIA_LOADED", t)

    def _end_buffer(self, t):
        if self.buffering:
            self.buffering = False
            self._emit("BUFFER_END", t)

    def _start_play(self, t):
        if not self.requested:
            self.requested = True
            self._emit("PLAY_REQUEST", t)
        if not self.played:
            self.played = True
            self.duration_locked = True
            self._emit("PLAY", t)
            if not self.first_play_sent:
                self.first_play_sent = True
                self._emit("FIRST_PLAY", t)
            self.quartiles.jump(self.position, t)

    def _new_session(self, t):
        """Replay after ended: fresh session id, REPLAY first."""
        self.session_id = uuid4(self._rng)
        self.played = False
        self.requested = False
        self.quartiles = Quartiles()
        self.seeking = False
        self.position = 0.0  # a replay restarts from the beginning
        self.state = LOADED
        self._emit("REPLAY", t)

    def _checked_position(self, value):
        """A position as runtime data: a float, or False when it is nonsense
        (NaN, negative, infinite, absurdly large; dropped with a diagnostic)."""
        if is_nan(value) or not 0 <= value <= MAX_SECONDS:
            self._report(diag.INVALID_POSITION, "dropped observation: position is %r" % (value,))
            return False
        return float(value)

    @staticmethod
    def _check(kind, data):
        """Raise for arguments of the wrong type or a missing one (the caller's
        mistake) before anything changes; values are judged afterwards."""
        for key in data:
            value = data[key]
            if key in _NUMBERS and value is not None and not is_number(value):
                raise TypeError("%s must be a number, got %r" % (key, value))
        need = _NEEDS.get(kind, ())
        for key in need:
            if data.get(key) is None:
                raise TypeError("%s observation needs %s" % (kind, key))
        slots = _SLOTS.get(kind)
        if slots is not None and data.get("slot") not in slots:
            raise ValueError("%s slot must be one of %s, got %r" % (kind, ", ".join(slots), data.get("slot")))

    # -- the one entry point -----------------------------------------------
    def observe(self, kind, t, **data):
        """Feed one observation; returns the events it caused, in order."""
        kind_t = type(t)
        if kind_t is not float and kind_t is not int:
            raise TypeError("observation time must be a number of seconds, got %r" % (t,))
        table = TRANSITIONS.get(self.state, {})
        if kind not in table and kind not in _KNOWN:
            raise ValueError("unknown observation %r" % (kind,))
        if data:
            self._check(kind, data)
        if kind not in table:
            self._report(diag.OBSERVATION_NOT_ALLOWED, "dropped observation %r in state %s" % (kind, self.state))
            return []
        if t != t:  # NaN
            self._report(diag.NON_FINITE_TIME, "dropped observation %r: time is NaN" % kind)
            return []
        if "position" in data:
            pos = data["position"]
            if pos is not None and (type(pos) is not float or not 0.0 <= pos <= MAX_SECONDS):
                pos = self._checked_position(pos)  # the common case (a sane float) skips this
                if pos is False:
                    return []
                data["position"] = pos
        if self.last_t is not None and t < self.last_t:
            self._report(diag.CLOCK_BACKWARDS, "clock went backwards; using the previous time", t=t, last=self.last_t)
            t = self.last_t
        self.last_t = t
        self._out = []
        handler = self._handlers.get(kind)
        if handler is None:
            handler = self._handlers[kind] = getattr(self, "_on_" + kind)
        nxt = handler(t, data)
        target = table[kind]
        if nxt is not None:
            target = nxt
        if target != SAME and self.state != CLOSED:
            self.state = target
        out = self._out
        self._out = []
        return out

    # -- handlers (return None to follow the table, or a state) -------------
    def _on_ready(self, t, data):
        if self.state == CREATED:
            self._emit("WIDGET_LOADED", t)

    def _on_metadata(self, t, data):
        duration = data.get("duration")
        if duration is not None and duration != _INF and not 0 <= duration <= MAX_SECONDS:
            # NaN before the metadata, or nonsense; Infinity is how live streams say it
            self._report(diag.INVALID_DURATION, "duration is %s: treated as unknown, no quartiles"
                         % ("NaN" if is_nan(duration) else repr(duration)))
            duration = None
        if self.duration_locked and not is_live_duration(self.duration):
            if duration != self.duration:
                self._report(diag.DURATION_CHANGED, "duration changed after PLAY; keeping the first one",
                             adopted=self.duration, reported=duration)
        else:
            self.duration = duration
        if self.state in (CREATED, READY):
            self._ensure_loaded(t)
            return LOADED
        return SAME

    def _on_play_request(self, t, data):
        if self.state == ENDED:
            self._new_session(t)
        self._ensure_loaded(t)
        if not self.requested:
            self.requested = True
            self._emit("PLAY_REQUEST", t)
        return SAME if self.state != ENDED else LOADED

    def _on_playing(self, t, data):
        self._set_position(data)
        if self.state == ENDED:
            self._new_session(t)
        self._ensure_loaded(t)
        self._end_buffer(t)
        if not self.played:
            self._start_play(t)
        elif self.state == PAUSED:
            self._emit("RESUME", t)
        return PLAYING

    def _on_pause(self, t, data):
        self._set_position(data)
        if self.state in (PLAYING, LOADED) and self.played:
            self._end_buffer(t)
            self._emit("PAUSE", t)
            return PAUSED
        return SAME

    def _on_seeking(self, t, data):
        target = data.get("position")
        self._end_buffer(t)
        if target is not None:
            self.position = target
            self.quartiles.jump(target, t)
        if not self.played or self.state == ENDED:
            # a seek before playback starts (or after it ended) only moves the start point
            return SAME
        if not self.seeking:
            self.seeking = True
            self._emit("SEEK", t, target=self.position)
        return SAME

    def _on_seeked(self, t, data):
        was_seeking = self.seeking
        self.seeking = False
        self._end_buffer(t)  # a seeked with no seeking before it closes an open buffer too
        target = data.get("position")
        if target is not None:
            self.position = target
            self.quartiles.jump(target, t)
        if self.played and self.state != ENDED and not was_seeking:
            self._emit("SEEK", t, target=self.position)
        return SAME

    def _on_waiting(self, t, data):
        self._set_position(data)
        if self.played and not self.seeking and not self.buffering and self.state == PLAYING:
            self.buffering = True
            self._emit("BUFFER_START", t)
        return SAME

    def _on_progress(self, t, data):
        if self.ad is not None:
            return SAME  # ad time never counts toward content quartiles
        pos = data["position"]
        if self.seeking or not self.played or self.state != PLAYING:
            self.position = pos
            self.quartiles.jump(pos, t)
            return SAME
        self._advance(pos, t)
        return SAME

    def _advance(self, pos, t):
        """Natural forward playback to ``pos``: quartiles it crosses fire."""
        moved = pos > self.position
        self.position = pos
        crossed = self.quartiles.advance(pos, t, self.rate, self.duration)
        if crossed is None:
            self._report(diag.UNEXPLAINED_JUMP, "playhead jumped without a seek; quartiles between not counted",
                         position=pos)
            crossed = []
        if moved:
            self._end_buffer(t)
        for name in crossed:
            self._emit(name, t)

    def _on_ended(self, t, data):
        if self.ad is not None:
            self._report(diag.AD_OUT_OF_ORDER, "content ended during an ad; ad closed")
            self.ad = None
        self._ensure_loaded(t)
        self._end_buffer(t)
        if self.played and not self.seeking and not is_live_duration(self.duration):
            self._advance(self.duration, t)
        elif data.get("position") is not None:
            self.position = data["position"]
        self.seeking = False
        self._emit("ENDED", t)
        return ENDED

    def _on_error(self, t, data):
        self._end_buffer(t)
        self._emit("ERROR", t, **data)

    def _on_rate(self, t, data):
        rate = data["rate"]
        if not is_finite(rate) or rate <= 0:
            self._report(diag.INVALID_RATE, "ignored playback rate %r" % (rate,))
            return SAME
        if rate != self.rate:
            self.rate = float(rate)
            self._emit("SPEED", t, rate=self.rate)

    def _on_fullscreen(self, t, data):
        on = bool(data.get("on"))
        if on != self.fullscreen:
            self._ensure_loaded(t)
            self.fullscreen = on
            self._emit("ENTER_FULLSCREEN" if on else "EXIT_FULLSCREEN", t)

    def _simple(self, name, t, data):
        self._ensure_loaded(t)
        self._emit(name, t, **data)

    def _on_captions(self, t, data):
        self._simple("CAPTIONS", t, data)

    def _on_flavor(self, t, data):
        self._simple("FLAVOR_SWITCH", t, data)

    def _on_source(self, t, data):
        self._simple("SOURCE_SELECTED", t, data)

    def _on_share(self, t, data):
        self._simple("SHARE_CLICKED", t, data)

    def _on_download(self, t, data):
        self._simple("DOWNLOAD_CLICKED", t, data)

    def _on_report(self, t, data):
        self._simple("REPORT_CLICKED", t, data)

    def _on_related(self, t, data):
        self._simple("RELATED_CLICKED", t, data)

    def _on_ad_start(self, t, data):
        kind = data["slot"]
        self._ensure_loaded(t)
        if self.ad is not None:
            self._report(diag.AD_OUT_OF_ORDER, "ad started while another ad was playing; previous ad closed")
        self.ad = [kind, []]
        self._emit(AD_EVENT_PREFIX[kind] + "_STARTED", t, ad=kind)

    def _on_ad_progress(self, t, data):
        if self.ad is None:
            self._report(diag.AD_OUT_OF_ORDER, "ad progress without an ad")
            return SAME
        pos = data["position"]
        duration = data["ad_duration"]
        if self.ad[0] == "overlay" or is_live_duration(duration):
            return SAME
        for fraction, suffix in AD_QUARTILES:
            if suffix not in self.ad[1] and pos >= duration * fraction:
                self.ad[1].append(suffix)
                self._emit(AD_EVENT_PREFIX[self.ad[0]] + "_" + suffix, t, ad=self.ad[0])

    def _on_ad_click(self, t, data):
        if self.ad is None:
            self._report(diag.AD_OUT_OF_ORDER, "ad click without an ad")
            return SAME
        self._emit(AD_EVENT_PREFIX[self.ad[0]] + "_CLICKED", t, ad=self.ad[0])

    def _on_ad_end(self, t, data):
        if self.ad is None:
            self._report(diag.AD_OUT_OF_ORDER, "ad end without an ad")
        self.ad = None
        self.quartiles.jump(self.position, t)

    def _on_bumper(self, t, data):
        self._ensure_loaded(t)
        self._emit(BUMPER_EVENTS[data["slot"]], t)

    def _on_bumper_click(self, t, data):
        self._ensure_loaded(t)
        self._emit("BUMPER_CLICKED", t)

    def _on_close(self, t, data):
        self._end_buffer(t)
        self.ad = None

    def _set_position(self, data):
        pos = data.get("position")
        if pos is not None:
            self.position = pos
