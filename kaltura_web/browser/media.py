"""``Attachment(video, player)``: a ``<video>``/``<audio>`` element's events
become Player observations.  ``detach()`` removes every listener and destroys
every proxy it made.  (``kaltura_web.browser.attach`` in ``page.py`` finds the
Player for a target and makes the Attachment.)

Events recorded before the SDK started (the early-event snippet, see
``early.py``) go through the same handlers with ``replay(kind, t, state)``:
the recorded time and element state stand in for the live ones.

``timeupdate`` goes through the timeupdate gate (``gate.py``) unless it is
turned off: only the ones that carry news reach Python."""

from ..core import diagnostics as diag
from ..core.tracker import Player, Tracker
from . import _env, gate as _gate
from ._convert import is_nullish
from ._proxies import ProxyOwner

# media events -> handler method names
MEDIA_EVENTS = ("loadedmetadata", "durationchange", "play", "playing", "pause", "seeking",
                "seeked", "waiting", "timeupdate", "ended", "error", "ratechange", "resize",
                "volumechange", "kaltura:flavor")


def _num(value):
    """A JS number as a float; None for null, undefined or anything else."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _time_ranges(ranges):
    """A TimeRanges object (``video.played``) as ``[[start, end], ...]`` seconds
    (ranges whose ends are not numbers are left out)."""
    out = []
    if not is_nullish(ranges):
        for i in range(int(ranges.length)):
            start, end = _num(ranges.start(i)), _num(ranges.end(i))
            if start is not None and end is not None:
                out.append([start, end])
    return out


class Attachment:
    """The link between one media element and one Player."""

    def __init__(self, video, player, document=None, on_change=None, sync=True, gate=True):
        self.video = video
        self._src = video  # where handlers read state: the element, or a recorded snapshot
        self._t = None  # observation time: None (now) or a recorded time
        self.player = player
        self.document = document if document is not None else _env.document()
        self.on_change = on_change  # optional hook after each observation
        self._handlers = {}
        self._owner = ProxyOwner(player.tracker, "media")  # every listener, under the guard
        self._played = False
        self._size = None
        self._captions = None
        self._fullscreen = False
        self.attached = True
        # the timeupdate gate (gate.py) unless turned off, a hook wants every change, or
        # another attachment of the same Player has one
        gated = gate and on_change is None and player.catch_up is None and _gate.available()
        for name in MEDIA_EVENTS:
            if not (gated and name == "timeupdate"):
                self._listen(video, name)
        self.gate = None
        if gated:
            forward = self._owner.proxy(self._gated, "media timeupdate handler")
            self.gate = _gate.TimeupdateGate(video, player, forward)
        self._listen(self.document, "fullscreenchange")
        tracks = video.textTracks
        if not is_nullish(tracks):
            self._listen(tracks, "change", "captions")
        self._sound = None
        self._visible = None
        self.reconstructed = None  # what ``sync`` reconstructed (a dict), or None
        if sync:
            self.sync(reconstruct=True)

    def sync(self, reconstruct=False):
        """Catch up with an element that is further along than us: metadata
        already loaded; with ``reconstruct``, playback that started before
        we listened (no early-event snippet recorded it).  Returns what was
        reconstructed (a dict, also kept as ``reconstructed``) or None."""
        video = self.video
        self._ev_volumechange(None)
        self.tab_changed(not _env.is_hidden())
        if _num(video.readyState) and _num(video.readyState) >= 1:
            self._on("loadedmetadata", None)
            self._size = (int(video.videoWidth or 0), int(video.videoHeight or 0))
        if reconstruct:
            return self._reconstruct()
        return None

    def _reconstruct(self):
        """Without the snippet's records, what the element's state tells: it
        played (PLAY at the current position), the quartiles natural playback
        passed (its ``played`` range from 0: ``Player.played_ranges``), and
        whether it is paused or ended now.  A Player that already saw its
        playback (a second attachment) is left alone."""
        video = self.video
        player = self.player
        if player.session.played:
            return None
        ranges = _time_ranges(video.played)
        paused = bool(video.paused)
        ended = bool(video.ended)
        position = self._pos()
        if paused and not ended and not ranges:
            return None  # nothing happened yet
        events = player.play_request() + player.playing(position) + player.played_ranges(ranges)
        self._played = True
        if ended:
            player.ended()
        elif paused:
            player.pause(position)
        quartiles = [e.name for e in events if e.name.startswith("PLAY_REACHED_")]
        state = {"paused": paused, "ended": ended, "position": position, "played": ranges,
                 "duration": _num(video.duration), "quartiles": quartiles}
        after = ["ENDED"] if ended else (["PAUSE"] if paused else [])
        what = ", ".join(["PLAY at %.1f s" % (position or 0.0)] + quartiles + after)
        player.tracker.diagnose(
            diag.RECONSTRUCTED, "media played before the SDK started; reconstructed from the element's state: "
            + what + " (add the early-event snippet to keep the real events and their times)",
            {"entryId": player.entry_id, "state": state})
        self.reconstructed = state
        return state

    def replay(self, kind, t, state):
        """Feed one recorded event: ``state`` has the element's recorded
        currentTime/duration/paused/ended/seeking/playbackRate."""
        self._src, self._t = state, t
        try:
            self._on(kind, None)
        finally:
            self._src, self._t = self.video, None

    def _listen(self, target, name, kind=None):
        kind = kind or name

        def listener(event):
            self._on(kind, event)

        self._owner.listen(target, name, listener, "media %s handler" % kind)

    @property
    def proxies(self):
        """The live JS proxies of this attachment (for tests)."""
        return self._owner.proxies

    def detach(self):
        """Remove every listener and destroy every proxy (idempotent)."""
        if not self.attached:
            return
        self.attached = False
        if self.gate is not None:
            self.gate.remove()  # hands the held timeupdate to the Player first
        self._owner.destroy()

    @property
    def timeupdates(self):
        """(timeupdates the element fired, timeupdates that reached Python)
        while the gate is on; None without the gate (every one reaches Python)."""
        return None if self.gate is None else self.gate.counts()

    # -- dispatch ------------------------------------------------------------
    def _on(self, kind, event):
        """Every listener and every replayed record lands here (a listener runs
        under the guard: a failure is an ``sdk-error`` diagnostic)."""
        try:
            handler = self._handlers.get(kind)
            if handler is None:
                handler = self._handlers[kind] = getattr(self, "_ev_" + kind.replace(":", "_"))
            handler(event)
        finally:
            if self.on_change is not None:
                self.on_change()

    def _pos(self):
        return _num(self._src.currentTime)

    def _ev_loadedmetadata(self, event):
        duration = _num(self._src.duration)
        self.player.loaded(duration, t=self._t)

    _ev_durationchange = _ev_loadedmetadata

    def _ev_play(self, event):
        self.player.play_request(t=self._t)

    def _ev_playing(self, event):
        self._played = True
        self.player.playing(self._pos(), t=self._t)

    def _ev_pause(self, event):
        if self._src.ended:
            return  # the pause browsers fire right before 'ended'
        self.player.pause(self._pos(), t=self._t)

    def _loops(self):
        """The element loops now (the attribute or the property, read at the
        event: it may be set at any time; a recorded early event has none)."""
        return getattr(self._src, "loop", None) is True

    def _ev_seeking(self, event):
        self.player.seeking(self._pos(), t=self._t, loop=self._loops())

    def _ev_seeked(self, event):
        self.player.seeked(self._pos(), t=self._t, loop=self._loops())

    def _ev_waiting(self, event):
        if self._played and not self._src.seeking:
            self.player.waiting(self._pos(), t=self._t)

    def _gated(self, p, t, held, held_t):
        """The gate forwarded a timeupdate (with the last one it held back, or -1)."""
        self._on("gated_timeupdate", (p, t, held, held_t))

    def _ev_gated_timeupdate(self, args):
        self.gate.forwarded(*args)

    def _ev_timeupdate(self, event):
        pos = self._pos()
        if pos is not None:
            self.player.progress(pos, t=self._t)

    def _ev_ended(self, event):
        self.player.ended(t=self._t)

    def _ev_error(self, event):
        err = self.video.error
        if is_nullish(err):
            self.player.error(None, None)
        else:
            self.player.error(int(err.code), str(err.message or ""))

    def _ev_ratechange(self, event):
        rate = _num(self._src.playbackRate)
        if rate is not None:
            self.player.rate(rate, t=self._t)

    def _ev_fullscreenchange(self, event):
        el = self.document.fullscreenElement
        on = False
        if not is_nullish(el):
            on = bool(el.contains(self.video))  # the video itself or an ancestor
        if on != self._fullscreen:
            self._fullscreen = on
            self.player.fullscreen(on)

    def _ev_captions(self, event):
        language = None
        tracks = self.video.textTracks
        for i in range(int(tracks.length)):
            track = tracks[i]
            if track.mode == "showing" and track.kind in ("captions", "subtitles"):
                language = str(track.language or track.label or "") or None
                break
        if language != self._captions:
            self._captions = language
            self.player.captions(language)

    def _ev_volumechange(self, event):
        """Sound on or off (muted, or volume 0): KAVA's soundMode."""
        volume = _num(self.video.volume)
        on = not bool(self.video.muted) and (volume is None or volume > 0)
        if on != self._sound:
            self._sound = on
            self.player.sound(on)

    def tab_changed(self, visible):
        """The page became visible or hidden (the page runtime tells every
        attachment): KAVA's tabMode."""
        if visible != self._visible and self.attached:
            self._visible = visible
            self.player.visibility(visible)

    def _ev_resize(self, event):
        size = (int(self.video.videoWidth or 0), int(self.video.videoHeight or 0))
        previous, self._size = self._size, size
        if previous and previous[0] and size[0] and previous != size:
            self.player.flavor(None)

    def _ev_kaltura_flavor(self, event):
        bitrate = None
        detail = getattr(event, "detail", None)
        if not is_nullish(detail):
            value = getattr(detail, "bitrate", None)
            bitrate = None if is_nullish(value) else _num(value)
        self.player.flavor(bitrate)


def player_for(video, target, entry_id=None, ready=True):
    """The Player ``target`` stands for: a ``Player`` (itself) or a ``Tracker``
    (its player for ``entry_id`` or the element's ``data-kaltura-entry-id``,
    WIDGET_LOADED sent now unless ``ready=False``)."""
    if isinstance(target, Player):
        return target
    if not isinstance(target, Tracker):
        raise TypeError("attach target must be a Player, a Tracker or an entry id")
    if entry_id is None:
        value = video.getAttribute("data-kaltura-entry-id")
        entry_id = None if is_nullish(value) else str(value)
    if not entry_id:
        raise ValueError("attach needs an entry id (argument or data-kaltura-entry-id)")
    return target.player(entry_id, ready=ready)
