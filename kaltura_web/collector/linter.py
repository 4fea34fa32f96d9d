"""Protocol linter: checks stored events against the guide's reporting rules.

``lint(events)`` is pure: it takes events as stored (dicts with seq, service,
session_id, entry_id, event_type, event_timestamp, user_id, ks_masked, fields)
and returns ``Finding``s naming the rule and the event that broke it.  Events
are judged in arrival order (seq).  The rules are defined precisely in
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

Warnings (``lint(events, warnings=True)``; severity "warning", never a violation):

kb-required-field     a session's player-usage stats.collect events lack uiconfId,
                      duration (not expected on WIDGET_LOADED) or referrer, which
                      Kaltura's knowledge base lists as required: one finding per
                      session and field, on the first event that lacks it.

Every stored arrival is judged as an event (a repeated beacon too, as Kaltura
counts it), so a repeat may also break a playback rule.  Event types come from
``kaltura_web.core.catalog``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..core.catalog import STATS_TYPE_BY_NAME, stats_type_name
from .values import finite

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
)
WARNING_RULES = ("kb-required-field",)
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


def _label(ev) -> str:
    return f"{_name(ev.get('event_type'))} seq={ev.get('seq')}"


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
    if warnings:
        for sid, evs in stats_sessions.items():
            findings.extend(_kb_warnings(evs))
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
