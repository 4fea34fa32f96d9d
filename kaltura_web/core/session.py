"""The playback-session state machine (pure).

Input: player *observations*, each with its time (float Unix seconds).
Output: an ordered list of player events (Player v7 names, see
``catalog.PLAYER_EVENTS``).  Turning events into beacons is a protocol's job
(``protocol.py``), so a second protocol (KAVA) can reuse this machine.

One observation goes through these steps, in order:

1. its arguments are checked: a wrong type raises (the caller's mistake);
   nonsense values (a NaN time or position) are dropped with a diagnostic;
2. ``TRANSITIONS`` decides the next state.  It is the only thing that sets
   the state.  An observation the table does not allow in the current state is
   dropped with the diagnostic ``observation-not-allowed``.  A cell may name a
   guard: the change happens only when the guard holds;
3. the data the change's events need is taken (a duration, the playhead);
4. the state changes, with the events the change itself means
   (``CHANGE_EVENTS``); leaving PLAYING closes an open buffer;
5. the observation's handler emits its own events.  Handlers never set the
   state.

Runtime data never raises: observations come from the page.
"""

from . import diagnostics as diag
from ._compat import is_finite, is_number, uuid4
from .quartiles import GUIDE, Quartiles, is_live_duration, proven_end
from .validation import MAX_SECONDS

# --- states -----------------------------------------------------------------
CREATED = "created"  # before WIDGET_LOADED
READY = "ready"  # WIDGET_LOADED sent
LOADED = "loaded"  # MEDIA_LOADED sent, not yet playing
PLAYING = "playing"
PAUSED = "paused"
ENDED = "ended"
CLOSED = "closed"  # allows nothing


def _toggles(session, data):
    """Guard: the fullscreen observation changes the fullscreen flag."""
    return bool(data.get("on")) != session.fullscreen


# The columns of the table, in order (CLOSED has no column: nothing is allowed there).
COLUMNS = (CREATED, READY, LOADED, PLAYING, PAUSED, ENDED)
_STAYS = COLUMNS  # the state does not change
_LOADS = (LOADED, LOADED, LOADED, PLAYING, PAUSED, ENDED)  # media loaded first when it is not yet
_GUARDED_LOAD = (_toggles, LOADED)  # to LOADED when the guard holds, else stay

# observation -> the next state from each column's state; None: not allowed.
TABLE = {
    #                CREATED        READY          LOADED   PLAYING  PAUSED   ENDED
    "ready":        (READY,         READY,         None,    None,    None,    None),
    "metadata":     _LOADS,
    "play_request": (LOADED,        LOADED,        LOADED,  PLAYING, PAUSED,  LOADED),  # ENDED: a replay
    "playing":      (PLAYING,       PLAYING,       PLAYING, PLAYING, PLAYING, PLAYING),  # ENDED: a replay
    "pause":        (CREATED,       READY,         LOADED,  PAUSED,  PAUSED,  ENDED),
    "ended":        (ENDED,         ENDED,         ENDED,   ENDED,   ENDED,   ENDED),
    "close":        (CLOSED,        CLOSED,        CLOSED,  CLOSED,  CLOSED,  CLOSED),
    "fullscreen":   (_GUARDED_LOAD, _GUARDED_LOAD, LOADED,  PLAYING, PAUSED,  ENDED),
    "seeking": _STAYS, "seeked": _STAYS, "waiting": _STAYS, "progress": _STAYS,
    "sound": _STAYS, "visibility": _STAYS,
    # what a media element that played before it was observed has played: after PLAY only
    "played_ranges": (None,     None,          None,    PLAYING, PAUSED,  ENDED),
    "error": _STAYS, "rate": _STAYS, "ad_progress": _STAYS, "ad_click": _STAYS, "ad_end": _STAYS,
    "captions": _LOADS, "flavor": _LOADS, "source": _LOADS, "share": _LOADS, "download": _LOADS,
    "report": _LOADS, "related": _LOADS, "ad_start": _LOADS, "bumper": _LOADS, "bumper_click": _LOADS,
}

# The events a change of state itself means, in order.  REPLAY opens a new
# analytics session: its id is on REPLAY and on everything after it.
CHANGE_EVENTS = {
    (CREATED, READY): ("WIDGET_LOADED",),
    (CREATED, LOADED): ("WIDGET_LOADED", "MEDIA_LOADED"),
    (CREATED, PLAYING): ("WIDGET_LOADED", "MEDIA_LOADED"),
    (CREATED, ENDED): ("WIDGET_LOADED", "MEDIA_LOADED"),
    (READY, LOADED): ("MEDIA_LOADED",),
    (READY, PLAYING): ("MEDIA_LOADED",),
    (READY, ENDED): ("MEDIA_LOADED",),
    (PLAYING, PAUSED): ("PAUSE",),
    (PAUSED, PLAYING): ("RESUME",),
    (ENDED, LOADED): ("REPLAY",),
    (ENDED, PLAYING): ("REPLAY",),
}


def _by_state(table):
    """``TABLE`` turned around: state -> {observation: cell}, without the
    cells that do not allow the observation."""
    out = {CLOSED: {}}
    for column, state in enumerate(COLUMNS):
        out[state] = {}
        for kind in table:
            if table[kind][column] is not None:
                out[state][kind] = table[kind][column]
    return out


# state -> observation -> next state (or (guard, next state)): every transition there is.
TRANSITIONS = _by_state(TABLE)

AD_QUARTILES = ((0.25, "25"), (0.5, "50"), (0.75, "75"))
AD_EVENT_PREFIX = {"preroll": "PREROLL", "midroll": "MIDROLL", "postroll": "POSTROLL",
                   "overlay": "OVERLAY"}
BUMPER_EVENTS = {"pre": "PRE_BUMPER_PLAYED", "post": "POST_BUMPER_PLAYED"}

_NO_POSITION = ("WIDGET_LOADED", "MEDIA_LOADED")
_INF = float("inf")
# A looping element's jump back to the start ends a pass (``PlaybackSession.wraps``) when it
# lands this close to 0 and the playhead, as far as playback can have taken it since the last
# position seen (plus this slack for the timeupdate granularity), was at the end.
WRAP_START = 0.5
WRAP_SLACK = 0.3
_NUMBERS = ("position", "duration", "rate", "ad_duration")  # data that must be numbers (or None)
_NEEDS = {"progress": ("position",), "rate": ("rate",), "ad_progress": ("position", "ad_duration"),
          "sound": ("on",), "visibility": ("visible",), "played_ranges": ("ranges",)}
_SLOTS = {"ad_start": tuple(AD_EVENT_PREFIX), "bumper": tuple(BUMPER_EVENTS)}


def _is_ranges(value):
    """A list (or tuple) of [start, end] pairs of numbers (NaN is judged later)."""
    if not isinstance(value, (list, tuple)):
        return False
    for pair in value:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not (is_number(pair[0]) and is_number(pair[1])):
            return False
    return True


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


class PlaybackSession:
    """Tracks one media element (one entry) through its playback sessions.

    ``observe(kind, t, **data)`` returns the player events it causes, in order.
    A new analytics session id starts on replay after ended.
    """

    def __init__(self, entry_id, rng, diagnostics=None, quartile_rule=GUIDE):
        self.entry_id = entry_id
        self.quartile_rule = quartile_rule
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
        self.buffering = False  # only ever True in PLAYING
        self.fullscreen = False
        self.sound_on = None  # None: not observed
        self.tab_visible = None
        self.played_time = 0.0  # seconds of natural forward playback, all sessions
        # the current run of natural playback: played_time = base + (position - from) while it
        # lasts, so one long step counts exactly what many small ones do (the timeupdate gate)
        self._run = (None, 0.0, 0.0)  # (where it ended, played_time when it began, where it began)
        self.quartiles = Quartiles(quartile_rule)
        self.ad = None  # [kind, fired ad quartiles]
        self.last_t = None

    # -- the one entry point -----------------------------------------------
    def observe(self, kind, t, **data):
        """Feed one observation; returns the events it caused, in order."""
        t = self._admit(kind, t, data)
        if t is None:
            return []
        target = TRANSITIONS[self.state][kind]
        if type(target) is tuple:
            guard, target = target
            if not guard(self, data):
                target = self.state
        self._out = out = []
        before = _BEFORE.get(kind)
        if before is not None:
            before(self, data)
        if target != self.state:
            self._change(target, t)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, t, data)
        return out

    def _admit(self, kind, t, data):
        """The time to use for this observation, or None when it is dropped.

        Raises for the caller's mistakes (wrong types, a missing argument)
        before anything changes; reports nonsense runtime values."""
        kind_t = type(t)
        if kind_t is not float and kind_t is not int:
            raise TypeError("observation time must be a number of seconds, got %r" % (t,))
        allowed = kind in TRANSITIONS[self.state]
        if not allowed and kind not in TABLE:
            raise ValueError("unknown observation %r" % (kind,))
        self._check(kind, data)
        if not allowed:
            self._report(diag.OBSERVATION_NOT_ALLOWED, "dropped observation %r in state %s" % (kind, self.state),
                         observation=kind, state=self.state)
            return None
        if t != t:  # NaN
            self._report(diag.NON_FINITE_TIME, "dropped observation %r: time is NaN" % kind, observation=kind)
            return None
        pos = data.get("position")
        if pos is not None:
            if not 0 <= pos <= MAX_SECONDS:  # NaN too
                self._report(diag.INVALID_POSITION, "dropped observation %r: position is %r" % (kind, pos),
                             observation=kind)
                return None
            data["position"] = float(pos)
        if self.last_t is not None and t < self.last_t:
            self._report(diag.CLOCK_BACKWARDS, "clock went backwards; using the previous time", t=t, last=self.last_t)
            t = self.last_t
        self.last_t = t
        return t

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
        if kind == "played_ranges" and not _is_ranges(data.get("ranges")):
            raise TypeError("ranges must be a list of [start, end] pairs of numbers, got %r" % (data.get("ranges"),))
        slots = _SLOTS.get(kind)
        if slots is not None and data.get("slot") not in slots:
            raise ValueError("%s slot must be one of %s, got %r" % (kind, ", ".join(slots), data.get("slot")))

    def _change(self, target, t):
        """Move to ``target`` with the events the change itself means."""
        if self.state == PLAYING:
            self._end_buffer(t)
        for name in CHANGE_EVENTS.get((self.state, target), ()):
            if name == "REPLAY":
                self._new_session()
            self._emit(name, t)
        self.state = target

    # -- the timeupdate gate ---------------------------------------------------
    def wraps(self, target, t):
        """True when a seek to ``target`` at ``t`` on a looping element is the
        loop wrapping at the end of a pass rather than a user's seek: playing,
        not seeking, a known duration, landing near 0, and the end within
        reach of natural playback since the playhead was last seen.  A seek to
        0 from further before the end stays a seek."""
        if self.state != PLAYING or self.seeking or not self.played or self.ad is not None:
            return False
        if target is None or not is_number(target) or not 0 <= target <= WRAP_START:
            return False
        if is_live_duration(self.duration) or not is_number(t) or t != t:
            return False
        seen = self.quartiles.start[1] if self.quartiles.start is not None else self.last_t
        elapsed = 0.0 if seen is None else max(0.0, t - seen)
        return self.duration - self.position <= elapsed * max(self.rate, 1.0) + WRAP_SLACK

    def quiet_window(self):
        """What would be news for the next ``progress`` observations:
        (position, t, max(rate, 1), limit, rounding) as ``quartiles.is_quiet``
        reads them, or None when every one may matter (not playing, seeking,
        buffering, an ad, or the playhead not where the last progress left it)."""
        if self.state != PLAYING or self.seeking or self.buffering or self.ad is not None:
            return None
        start = self.quartiles.start
        t = self.last_t
        if start is None or start[0] != self.position or start[1] != t:
            return None
        limit, rounding = self.quartiles.quiet_limit(self.position, self.duration)
        if limit is None or limit > MAX_SECONDS:
            limit = float(MAX_SECONDS)  # beyond it a position is nonsense: Python must see it
        return (self.position, t, max(self.rate, 1.0), limit, rounding)

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

    def _end_buffer(self, t):
        if self.buffering:
            self.buffering = False
            self._emit("BUFFER_END", t)

    def _new_session(self):
        """Replay after ended: a fresh session id, played again from the start."""
        self.session_id = uuid4(self._rng)
        self.played = False
        self.requested = False
        self.quartiles = Quartiles(self.quartile_rule)
        self.position = 0.0

    def _move_playhead(self, data, t):
        """A seek (or a report outside natural playback) put the playhead at
        ``data["position"]``, when given.  Returns the quartiles that reached
        (none under the guide's rule): the caller emits them."""
        target = data.get("position")
        if target is None:
            return []
        self.position = target
        return self.quartiles.jump(target, t, self.duration)

    def _emit_jumped(self, names, t):
        """The quartiles the playhead reached by a jump (KAVA rule), once playback started."""
        if self.played:
            for name in names:
                self._emit(name, t)

    def _advance(self, pos, t):
        """Natural forward playback to ``pos``: quartiles it crosses fire."""
        moved = pos > self.position
        previous = self.position
        self.position = pos
        crossed = self.quartiles.advance(pos, t, self.rate, self.duration)
        if crossed is None:
            self._report(diag.UNEXPLAINED_JUMP, "playhead jumped without a seek; quartiles between not counted",
                         position=pos)
            crossed = []
        elif moved:
            end, base, begin = self._run
            if end != previous:  # a new run of natural playback begins here
                base, begin = self.played_time, previous
            self._run = (pos, base, begin)
            self.played_time = base + (pos - begin)
        if moved:
            self._end_buffer(t)
        for name in crossed:
            self._emit(name, t)

    # -- before the change: data its events need ---------------------------
    def _take_position(self, data):
        pos = data.get("position")
        if pos is not None:
            self.position = pos

    def _adopt_duration(self, data):
        duration = data.get("duration")
        if duration is not None and duration != _INF and not 0 <= duration <= MAX_SECONDS:
            # NaN before the metadata, or nonsense; Infinity is how live streams say it
            self._report(diag.INVALID_DURATION, "duration is %r: treated as unknown, no quartiles" % (duration,))
            duration = None
        if self.duration_locked and not is_live_duration(self.duration):
            if duration != self.duration:
                self._report(diag.DURATION_CHANGED, "duration changed after PLAY; keeping the first one",
                             adopted=self.duration, reported=duration)
        else:
            self.duration = duration

    # -- handlers: the observation's own events, after the change ----------
    def _on_play_request(self, t, data):
        if not self.requested:
            self.requested = True
            self._emit("PLAY_REQUEST", t)

    def _on_playing(self, t, data):
        self._end_buffer(t)
        if self.played:
            return
        self._on_play_request(t, data)
        self.played = True
        self.duration_locked = True
        self._emit("PLAY", t)
        if not self.first_play_sent:
            self.first_play_sent = True
            self._emit("FIRST_PLAY", t)
        self._emit_jumped(self.quartiles.jump(self.position, t, self.duration), t)

    def _on_seeking(self, t, data):
        self._end_buffer(t)
        reached = self._move_playhead(data, t)
        # a seek before playback starts (or after it ended) only moves the start point
        if self.played and self.state != ENDED and not self.seeking:
            self.seeking = True
            self._emit("SEEK", t, target=self.position)
        self._emit_jumped(reached, t)

    def _on_seeked(self, t, data):
        was_seeking = self.seeking
        self.seeking = False
        self._end_buffer(t)  # a seeked with no seeking before it closes an open buffer too
        reached = self._move_playhead(data, t)
        if self.played and self.state != ENDED and not was_seeking:
            self._emit("SEEK", t, target=self.position)
        self._emit_jumped(reached, t)

    def _on_waiting(self, t, data):
        if self.state == PLAYING and not self.seeking and not self.buffering:
            self.buffering = True
            self._emit("BUFFER_START", t)

    def _on_progress(self, t, data):
        if self.ad is not None:
            return  # ad time never counts toward content quartiles
        if self.seeking or self.state != PLAYING:
            self._emit_jumped(self._move_playhead(data, t), t)
        else:
            self._advance(data["position"], t)

    def _on_ended(self, t, data):
        if self.ad is not None:
            self._report(diag.AD_OUT_OF_ORDER, "content ended during an ad; ad closed", observation="ended")
            self.ad = None
        if self.played and not self.seeking and not is_live_duration(self.duration):
            self._advance(self.duration, t)
        else:
            self._take_position(data)
        self.seeking = False
        self._emit("ENDED", t)

    def _on_error(self, t, data):
        self._end_buffer(t)
        self._emit("ERROR", t, **data)

    def _on_rate(self, t, data):
        rate = data["rate"]
        if not is_finite(rate) or rate <= 0:
            self._report(diag.INVALID_RATE, "ignored playback rate %r" % (rate,))
        elif rate != self.rate:
            self.rate = float(rate)
            self._emit("SPEED", t, rate=self.rate)

    def _on_fullscreen(self, t, data):
        if _toggles(self, data):
            self.fullscreen = not self.fullscreen
            self._emit("ENTER_FULLSCREEN" if self.fullscreen else "EXIT_FULLSCREEN", t)

    def _on_ad_start(self, t, data):
        kind = data["slot"]
        if self.ad is not None:
            self._report(diag.AD_OUT_OF_ORDER, "ad started while another ad was playing; previous ad closed",
                         observation="ad_start")
        self.ad = [kind, []]
        self._emit(AD_EVENT_PREFIX[kind] + "_STARTED", t, ad=kind)

    def _current_ad(self, kind):
        """The ad playing, or None with a diagnostic (observation ``kind`` came without one)."""
        if self.ad is None:
            self._report(diag.AD_OUT_OF_ORDER, "%s without an ad" % kind, observation=kind)
        return self.ad

    def _on_ad_progress(self, t, data):
        ad = self._current_ad("ad_progress")
        duration = data["ad_duration"]
        if ad is None or ad[0] == "overlay" or is_live_duration(duration):
            return
        for fraction, suffix in AD_QUARTILES:
            if suffix not in ad[1] and data["position"] >= duration * fraction:
                ad[1].append(suffix)
                self._emit(AD_EVENT_PREFIX[ad[0]] + "_" + suffix, t, ad=ad[0])

    def _on_ad_click(self, t, data):
        ad = self._current_ad("ad_click")
        if ad is not None:
            self._emit(AD_EVENT_PREFIX[ad[0]] + "_CLICKED", t, ad=ad[0])

    def _on_ad_end(self, t, data):
        self._current_ad("ad_end")
        self.ad = None
        self._emit_jumped(self.quartiles.jump(self.position, t, self.duration), t)

    def _on_sound(self, t, data):
        self.sound_on = bool(data["on"])

    def _on_visibility(self, t, data):
        self.tab_visible = bool(data["visible"])

    def _on_played_ranges(self, t, data):
        """The quartiles a played range from the start proves were reached by
        natural playback before this session observed the media (the
        playhead, the played time and the rest of the state do not move)."""
        end = proven_end(data["ranges"])
        if end is not None and self.played:
            for name in self.quartiles.proven(end, self.duration):
                self._emit(name, t)

    def _on_bumper(self, t, data):
        self._emit(BUMPER_EVENTS[data["slot"]], t)


def _reports(name, with_data=True):
    """The handler of an observation that only reports itself as the event
    ``name`` (with the observation's data, unless told otherwise)."""
    def handle(session, t, data):
        session._emit(name, t, **(data if with_data else {}))
    return handle


_S = PlaybackSession
# observation -> what it takes before the change of state (data the change's events need)
_BEFORE = {"metadata": _S._adopt_duration, "playing": _S._take_position, "pause": _S._take_position,
           "waiting": _S._take_position}
# observation -> its handler; an observation not listed (ready, metadata, pause,
# close) means nothing beyond its change of state.
_HANDLERS = {
    "play_request": _S._on_play_request, "playing": _S._on_playing, "seeking": _S._on_seeking,
    "seeked": _S._on_seeked, "waiting": _S._on_waiting, "progress": _S._on_progress,
    "ended": _S._on_ended, "error": _S._on_error, "rate": _S._on_rate, "fullscreen": _S._on_fullscreen,
    "ad_start": _S._on_ad_start, "ad_progress": _S._on_ad_progress, "ad_click": _S._on_ad_click,
    "ad_end": _S._on_ad_end, "bumper": _S._on_bumper, "sound": _S._on_sound,
    "visibility": _S._on_visibility, "played_ranges": _S._on_played_ranges,
    "captions": _reports("CAPTIONS"), "flavor": _reports("FLAVOR_SWITCH"),
    "source": _reports("SOURCE_SELECTED"), "share": _reports("SHARE_CLICKED"),
    "download": _reports("DOWNLOAD_CLICKED"), "report": _reports("REPORT_CLICKED"),
    "related": _reports("RELATED_CLICKED"), "bumper_click": _reports("BUMPER_CLICKED", with_data=False),
}
