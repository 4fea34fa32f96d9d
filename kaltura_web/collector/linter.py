"""Protocol linter: checks stored events against the guide's and KAVA's reporting rules.

``lint(events)`` is pure: it takes events as stored (dicts with seq, service,
session_id, entry_id, event_type, event_timestamp, user_id, ks_masked, fields)
and returns ``Finding``s naming the rule and the event that broke it.  Events
are judged in arrival order (seq), a KAVA session's eventIndex values as a set.  The rules are defined precisely in
docs/collector.md; short versions:

play-without-load     PLAY not preceded by both WIDGET_LOADED and MEDIA_LOADED in
                      its session, unless a REPLAY came earlier in the session.
quartile-duplicate    the same quartile (4..7) twice in one session.
quartile-order        a quartile after a higher one with no SEEK between them;
                      a quartile whose lower neighbour is missing with no SEEK
                      earlier in the session; a quartile before PLAY/REPLAY.
quartile-by-seek      quartile q whose latest preceding SEEK targets a point at
                      or past q's point, with no event in between reporting a
                      position before q's point.
split-playback        a session whose first quartile comes before any PLAY or
                      REPLAY in it while an earlier session of the same entry,
                      user and referrer had a PLAY.
buffer-end-without-start  BUFFER_END with no unmatched BUFFER_START before it.
timestamp-backwards   eventTimestamp lower than an earlier one in the session.
ks-without-user       an event accepted under a KS whose userId is empty that
                      names no userId of its own (nobody it counts for).
duplicate-beacon      a repeated arrival of a beacon already stored (the store's
                      ``duplicate_of``): Kaltura stores and counts it again.

KAVA playback events (analytics.trackEvent with an eventType below 10000, the
events Player v7's KAVA plugin sends), per sessionId:

kava-required-param   a KAVA event lacks eventType, partnerId, entryId, sessionId,
                      eventIndex or position (or position is not a number).
kava-event-index      eventIndex not 1, 2, 3... in the session: a number that never
                      arrived, a repeat, a value that is not a whole number from
                      1, or a restart at 1 less than 30 s after the previous event
                      (30 s or more is KAVA's reset); arrival order is not judged.
kava-view-too-soon    a VIEW less than 8 s after the previous VIEW of the session.
kava-view-no-progress a VIEW whose playTimeSum is not above the previous VIEW's.
kava-quartile-before-play  a quartile (11-15) with no PLAY before it in the session.
kava-replay-without-play   a REPLAY (34) with no PLAY before it in the session.

Warnings (``lint(events, warnings=True)``; severity "warning", never a violation):

kb-required-field     a session's player-usage stats.collect events lack uiconfId,
                      duration (not expected on WIDGET_LOADED) or referrer, which
                      Kaltura's knowledge base lists as required: one finding per
                      session and field, on the first event that lacks it.
kava-view-missing     a KAVA session with more than 20 s of playing after its PLAY
                      and no VIEW at all (the server may have disabled VIEWs).

Every stored arrival is judged as an event (a repeated beacon too, as Kaltura
counts it), so a repeat may also break a playback rule.  stats.collect event
types and KAVA ids come from ``kaltura_web.core.catalog``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..core.catalog import (APPLICATION_EVENTS, KAVA_EVENT_TYPES, KAVA_TYPE_BY_NAME, STATS_TYPE_BY_NAME,
                            stats_type_name)
from .playback import KAVA, event_protocol
from .values import finite, parse_int

WIDGET_LOADED, MEDIA_LOADED, PLAY, REPLAY, SEEK, BUFFER_START, BUFFER_END = (
    STATS_TYPE_BY_NAME[name] for name in ("WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "REPLAY", "SEEK",
                                          "BUFFER_START", "BUFFER_END"))
# the stats.collect types an editor or uploader sends; every other type is player usage
EDITOR_TYPES = {STATS_TYPE_BY_NAME[name] for name in ("OPEN_EDIT", "OPEN_UPLOAD", "SAVE_PUBLISH",
                                                       "CLOSE_EDITOR")}
# field Kaltura's knowledge base requires on player-usage events -> types that need not carry it
KB_REQUIRED = {"uiconfId": (), "duration": (WIDGET_LOADED,), "referrer": ()}
# quartile type -> fraction of the duration it stands for
QUARTILES = {STATS_TYPE_BY_NAME[f"PLAY_REACHED_{p}"]: p / 100.0 for p in (25, 50, 75, 100)}
LOWER_QUARTILE = dict(zip(sorted(QUARTILES)[1:], sorted(QUARTILES)))  # 50% -> 25%, ...

# KAVA playback ids (Player v7's KAVA plugin); a KAVA event is ``playback.event_protocol``'s KAVA
KAVA_PLAY, KAVA_RESUME, KAVA_PAUSE, KAVA_REPLAY, KAVA_ERROR, KAVA_VIEW = (
    KAVA_TYPE_BY_NAME[name] for name in ("PLAY", "RESUME", "PAUSE", "REPLAY", "ERROR", "VIEW"))
KAVA_QUARTILES = {KAVA_TYPE_BY_NAME[f"PLAY_REACHED_{p}"] for p in (25, 50, 75, 90, 100)}
KAVA_REQUIRED = ("eventType", "partnerId", "entryId", "sessionId", "eventIndex", "position")
KAVA_COLUMNS = {"eventType": "event_type", "partnerId": "partner_id", "entryId": "entry_id",
                "sessionId": "session_id"}
KAVA_RESET_SECONDS = 30.0   # KAVA resets eventIndex (and playTimeSum) after 30 s without playback
VIEW_MIN_GAP = 8.0          # VIEWs come every 10 s of playing: closer than this is too soon
VIEW_EXPECTED_AFTER = 20.0  # this much playing after PLAY without any VIEW is worth a warning

RULES = (
    "play-without-load",
    "quartile-duplicate",
    "quartile-order",
    "quartile-by-seek",
    "split-playback",
    "buffer-end-without-start",
    "timestamp-backwards",
    "ks-without-user",
    "duplicate-beacon",
    "kava-required-param",
    "kava-event-index",
    "kava-view-too-soon",
    "kava-view-no-progress",
    "kava-quartile-before-play",
    "kava-replay-without-play",
)
WARNING_RULES = ("kb-required-field", "kava-view-missing")
ERROR, WARNING = "error", "warning"


@dataclass
class Finding:
    rule: str
    session_id: str | None
    seq: int | None
    event_type: int | None
    message: str
    severity: str = ERROR  # ERROR: a violation of the protocol; WARNING: advice

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        label = self.rule if self.severity == ERROR else f"{self.rule} {self.severity}"
        return f"[{label}] session={self.session_id} seq={self.seq} {self.message}"


def _fields(ev) -> dict:
    f = ev.get("fields")
    return f if isinstance(f, dict) else {}


def _position(ev):
    """Playhead position an event reports: a SEEK's target (newPoint, else
    currentPoint); any other event's currentPoint."""
    f = _fields(ev)
    if ev.get("event_type") == SEEK and finite(f.get("newPoint")) is not None:
        return finite(f.get("newPoint"))
    return finite(f.get("currentPoint"))


def _name(t) -> str:
    return f"{stats_type_name(t)}({t})"


def is_kava(ev) -> bool:
    """Whether a stored event is a KAVA playback event (analytics.trackEvent, id below 10000)."""
    return event_protocol(ev) == KAVA


def _label(ev) -> str:
    t = ev.get("event_type")
    if ev.get("service") != "analytics":
        name = _name(t)
    elif is_kava(ev):
        name = f"KAVA {KAVA_EVENT_TYPES.get(t, 'UNKNOWN')}({t})"
    else:
        name = f"{APPLICATION_EVENTS.get(t, 'trackEvent')}({t})"
    return f"{name} seq={ev.get('seq')}"


def lint(events, warnings=False) -> list[Finding]:
    """The violations (severity "error") in ``events``, in the rules' order;
    with ``warnings``, the warnings follow them."""
    events = sorted(events, key=lambda e: (e.get("seq") is None, e.get("seq") or 0))
    findings: list[Finding] = []

    def add(rule, ev, message):
        findings.append(Finding(rule, ev.get("session_id"), ev.get("seq"), ev.get("event_type"), message))

    # Rules over every event, whatever the service.
    sessions: dict[str, list] = {}
    for ev in events:
        if ev.get("ks_masked") and not ev.get("user_id"):
            add("ks-without-user", ev, f"{_label(ev)} was sent under a KS with no userId and names "
                "no userId itself (anonymous)")
        if ev.get("duplicate_of") is not None:
            add("duplicate-beacon", ev, f"{_label(ev)} repeats beacon {ev.get('beacon_id')!r} first "
                f"stored as seq={ev['duplicate_of']}: Kaltura stores and counts it again")
        if is_kava(ev):
            _kava_required(ev, add)
        sid = ev.get("session_id")
        if sid:
            sessions.setdefault(sid, []).append(ev)

    for sid, evs in sessions.items():
        latest_ts, latest_ev = None, None
        for ev in evs:
            ts = finite(ev.get("event_timestamp"))
            if ts is None:
                continue
            if latest_ts is not None and ts < latest_ts:
                add("timestamp-backwards", ev,
                    f"{_label(ev)} has eventTimestamp {ts:g}, earlier than {latest_ts:g} of {_label(latest_ev)}")
            if latest_ts is None or ts >= latest_ts:
                latest_ts, latest_ev = ts, ev

    # Playback rules: stats.collect events only.
    stats_sessions = {sid: [e for e in evs if e.get("service", "stats") == "stats"]
                      for sid, evs in sessions.items()}
    started: list[tuple] = []  # (group key, session id) of sessions that had a PLAY, in order
    for sid, evs in stats_sessions.items():
        if not evs:
            continue
        _lint_session(sid, evs, add)
        key = _group_key(evs)
        first_q = next((e for e in evs if e.get("event_type") in QUARTILES), None)
        if first_q is not None:
            before = evs[:evs.index(first_q)]
            if not any(e.get("event_type") in (PLAY, REPLAY) for e in before):
                earlier = [s for k, s in started if k == key and s != sid]
                if earlier:
                    add("split-playback", first_q,
                        f"{_label(first_q)} continues the playback of session {earlier[-1]!r} "
                        f"(same entry, user and referrer) in a new session without REPLAY")
                else:
                    add("quartile-order", first_q, f"{_label(first_q)} arrived before any PLAY or REPLAY")
        if any(e.get("event_type") == PLAY for e in evs):
            started.append((key, sid))
    kava_warnings: list[Finding] = []
    for sid, evs in sessions.items():
        analytics = [e for e in evs if e.get("service") == "analytics"]
        if any(is_kava(e) for e in analytics):
            kava_warnings.extend(_lint_kava_session(analytics, add))
    if warnings:
        for sid, evs in stats_sessions.items():
            findings.extend(_kb_warnings(evs))
        findings.extend(kava_warnings)
    return findings


def _blank(value) -> bool:
    return value is None or str(value).strip() == ""


def _kb_warnings(evs) -> list[Finding]:
    """``kb-required-field`` warnings of one session's stats.collect events."""
    out = []
    usage = [e for e in evs if e.get("event_type") not in EDITOR_TYPES]
    for name, exempt in KB_REQUIRED.items():
        lacking = [e for e in usage if e.get("event_type") not in exempt and _blank(_fields(e).get(name))]
        if lacking:
            first = lacking[0]
            out.append(Finding("kb-required-field", first.get("session_id"), first.get("seq"),
                               first.get("event_type"),
                               f"{name} is missing on {len(lacking)} player-usage event(s), the first "
                               f"{_label(first)}: Kaltura's knowledge base lists it as required", WARNING))
    return out


def _group_key(evs):
    first = evs[0]
    referrer = next((_fields(e).get("referrer") for e in evs if _fields(e).get("referrer")), None)
    return (first.get("entry_id"), first.get("user_id"), referrer)


def _duration(evs, upto):
    for ev in [upto] + list(reversed(evs)):
        d = finite(_fields(ev).get("duration"))
        if d and d > 0:
            return d
    return None


def _lint_session(sid, evs, add):
    seen_widget = seen_media = seen_replay = seen_play = False
    quartiles_seen: dict[int, dict] = {}
    open_buffers = 0
    last_seek_idx = None
    for i, ev in enumerate(evs):
        t = ev.get("event_type")
        if t == WIDGET_LOADED:
            seen_widget = True
        elif t == MEDIA_LOADED:
            seen_media = True
        elif t == REPLAY:
            seen_replay = True
        elif t == PLAY:
            seen_play = True
            if not seen_replay and not (seen_widget and seen_media):
                missing = [n for n, ok in (("WIDGET_LOADED", seen_widget), ("MEDIA_LOADED", seen_media)) if not ok]
                add("play-without-load", ev, f"{_label(ev)} without {' and '.join(missing)} before it")
        elif t == BUFFER_START:
            open_buffers += 1
        elif t == BUFFER_END:
            if open_buffers == 0:
                add("buffer-end-without-start", ev, f"{_label(ev)} with no open BUFFER_START")
            else:
                open_buffers -= 1
        elif t == SEEK:
            last_seek_idx = i
        elif t in QUARTILES:
            if t in quartiles_seen:
                add("quartile-duplicate", ev, f"{_label(ev)} repeats {_label(quartiles_seen[t])}")
                continue
            higher = [q for q in quartiles_seen if q > t]
            if higher:
                h = quartiles_seen[max(higher)]
                seek_between = any(e.get("event_type") == SEEK for e in evs[evs.index(h) + 1:i])
                if not seek_between:
                    add("quartile-order", ev, f"{_label(ev)} after {_label(h)} with no SEEK in between")
            elif (t in LOWER_QUARTILE and LOWER_QUARTILE[t] not in quartiles_seen and last_seek_idx is None
                  and (seen_play or seen_replay)):
                add("quartile-order", ev,
                    f"{_label(ev)} without {_name(LOWER_QUARTILE[t])} before it and no SEEK in the session")
            if last_seek_idx is not None:
                seek = evs[last_seek_idx]
                duration = _duration(evs, ev)
                target = _position(seek)
                if duration is not None and target is not None:
                    point = QUARTILES[t] * duration
                    natural = any((_position(e) is not None and _position(e) < point)
                                  for e in evs[last_seek_idx + 1:i])
                    if target >= point and not natural:
                        add("quartile-by-seek", ev,
                            f"{_label(ev)} reached by {_label(seek)} to {target:g} "
                            f"(quartile point {point:g} of duration {duration:g}) without natural playback")
            quartiles_seen[t] = ev


# ---------------------------------------------------------------- KAVA playback events


def _whole(value):
    """A whole number from an int, integer text or an integral float; None otherwise."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return parse_int(value)
    except ValueError:
        return None


def _gap(earlier, later):
    """Seconds from ``earlier`` to ``later`` on one clock: their eventTimestamps,
    else their arrival times; None when neither clock has both."""
    for key in ("event_timestamp", "received_at"):
        a, b = finite(earlier.get(key)), finite(later.get(key))
        if a is not None and b is not None:
            return b - a
    return None


def _kava_required(ev, add):
    """``kava-required-param``: the common parameters every KAVA event carries."""
    f = _fields(ev)
    missing = [name for name in KAVA_REQUIRED
               if _blank(f.get(name)) and _blank(ev.get(KAVA_COLUMNS.get(name, "")))]
    if "position" not in missing and finite(f.get("position")) is None:
        missing.append(f"position (not a number: {str(f.get('position'))[:40]!r})")
    if missing:
        add("kava-required-param", ev, f"{_label(ev)} lacks {', '.join(missing)}")


class _Count:
    """One run of eventIndex values (a session's, or what follows a reset)."""

    def __init__(self):
        self.seen: dict[int, dict] = {}   # eventIndex -> its first event
        self.unindexed = 0                # KAVA events without an eventIndex

    def gaps(self, add):
        """``kava-event-index`` for each run of numbers below the highest one that
        never arrived (unless as many KAVA events came without an eventIndex)."""
        top = max(self.seen, default=0)
        missing = [i for i in range(1, top) if i not in self.seen]
        if len(missing) <= self.unindexed:
            return
        runs = [[i] for i in missing[:1]]
        for i in missing[1:]:
            runs[-1].append(i) if i == runs[-1][-1] + 1 else runs.append([i])
        for run in runs:
            above = self.seen[min(i for i in self.seen if i > run[-1])]
            span = str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"
            add("kava-event-index", above, f"{_label(above)} has eventIndex {_fields(above).get('eventIndex')} "
                f"but eventIndex {span} of this count never arrived")


def _lint_kava_session(evs, add) -> list[Finding]:
    """The KAVA rules over one session's analytics.trackEvent events (in seq
    order; application events join the eventIndex count only when they carry
    one).  The count is judged as a set, not by arrival order: requests sent
    at once may arrive swapped.  Violations go to ``add``; the warnings are
    returned."""
    count, prev = _Count(), None   # the current count, the last event with an eventIndex
    last_view, seen_play = None, False
    for ev in evs:
        kava, t, raw = is_kava(ev), ev.get("event_type"), _fields(ev).get("eventIndex")
        index = None if _blank(raw) else _whole(raw)
        if _blank(raw):
            count.unindexed += int(kava)
        elif index is None or index < 1:
            add("kava-event-index", ev, f"{_label(ev)} has eventIndex {str(raw)[:40]!r}, not a whole number from 1")
        else:
            gap = None if prev is None else _gap(prev, ev)
            if index == 1 and prev is not None and (gap is None or gap >= KAVA_RESET_SECONDS or 1 in count.seen):
                if gap is not None and gap < KAVA_RESET_SECONDS:
                    add("kava-event-index", ev,
                        f"{_label(ev)} restarts eventIndex at 1 only {gap:g} s after {_label(prev)}: "
                        f"KAVA resets the counters after {KAVA_RESET_SECONDS:g} s without playback")
                count.gaps(add)
                count, last_view = _Count(), None  # a new count: playTimeSum starts again too
            if index in count.seen:
                add("kava-event-index", ev, f"{_label(ev)} repeats eventIndex {index} of {_label(count.seen[index])}")
            count.seen.setdefault(index, ev)
            prev = ev
        if not kava:
            continue
        if t == KAVA_PLAY:
            seen_play = True
        elif t in KAVA_QUARTILES and not seen_play:
            add("kava-quartile-before-play", ev, f"{_label(ev)} with no KAVA PLAY before it in the session")
        elif t == KAVA_REPLAY and not seen_play:
            add("kava-replay-without-play", ev,
                f"{_label(ev)} with no KAVA PLAY before it in the session (a replay keeps the session id)")
        elif t == KAVA_VIEW:
            if last_view is not None:
                _check_view(last_view, ev, add)
            last_view = ev
    count.gaps(add)
    return _view_missing(evs)


def _check_view(before, ev, add):
    """``kava-view-too-soon`` and ``kava-view-no-progress`` of one VIEW against the one before it."""
    gap = _gap(before, ev)
    if gap is not None and gap < VIEW_MIN_GAP:
        add("kava-view-too-soon", ev, f"{_label(ev)} only {gap:g} s after {_label(before)}: "
            f"a VIEW comes every 10 s of playing")
    now, then = finite(_fields(ev).get("playTimeSum")), finite(_fields(before).get("playTimeSum"))
    if now is not None and then is not None and now <= then:
        add("kava-view-no-progress", ev, f"{_label(ev)} has playTimeSum {now:g}, not above {then:g} "
            f"of {_label(before)}: KAVA skips a VIEW when playTimeSum did not change")


def _view_missing(evs) -> list[Finding]:
    """``kava-view-missing``: more than VIEW_EXPECTED_AFTER s of playing after the
    session's first PLAY (from PLAY/RESUME/REPLAY to the next PAUSE or ERROR,
    else to the session's last event) and no VIEW after it."""
    kava = [e for e in evs if is_kava(e)]
    play = next((e for e in kava if e.get("event_type") == KAVA_PLAY), None)
    if play is None:
        return []
    after = kava[kava.index(play):]
    if any(e.get("event_type") == KAVA_VIEW for e in after):
        return []
    played, started = 0.0, None
    for ev in after:
        t = ev.get("event_type")
        if started is None and t in (KAVA_PLAY, KAVA_RESUME, KAVA_REPLAY):
            started = ev
        elif started is not None and t in (KAVA_PAUSE, KAVA_ERROR):
            played += max(_gap(started, ev) or 0.0, 0.0)
            started = None
    if started is not None:
        played += max(_gap(started, after[-1]) or 0.0, 0.0)
    if played <= VIEW_EXPECTED_AFTER:
        return []
    return [Finding("kava-view-missing", play.get("session_id"), play.get("seq"), play.get("event_type"),
                    f"{_label(play)} was followed by {played:g} s of playing and no VIEW: KAVA sends one "
                    f"right after PLAY and every 10 s of playing (unless the server's viewEventsEnabled "
                    f"is false)", WARNING)]
