"""Events from before the SDK started.

A page may carry the early-event snippet (``web/kaltura-snippet.js``, inlined
in the page's ``<head>``): a few hundred bytes of JavaScript that, while the
Python runtime downloads and starts, records media events of
``video/audio[data-kaltura-entry-id]`` and clicks on ``[data-kaltura-button]``
into ``window.kalturaWebQueue``, each with ``Date.now()/1000`` and the
element's state at that moment, and the page's ``kaltura-web:consent`` (with
its ``detail.state``) and ``kaltura-web:erase`` events on ``document``.

``take()`` stops the snippet (its listeners are removed) and returns its
records; ``KalturaWeb`` replays them through the core in order with their
own times, right after attaching its live listeners and before the page
gets the event loop back, so no event is lost or seen twice.  ``start()``
takes them even when it instruments nothing: the records of an element it
did not attach wait for ``attach()`` of that element, which replays them.
Without the snippet ``Attachment.sync(reconstruct=True)`` rebuilds what the
element's state tells (PLAY, the quartiles its played range proves, PAUSE or
ENDED) and says so in ``tracker.diagnostics``.
"""

from ..core import diagnostics as diag
from . import _env
from ._convert import attribute, is_nullish
from ._guard import guard

QUEUE_NAME = "kalturaWebQueue"
PAGE_EVENTS = {"kaltura-web:consent": "consent", "kaltura-web:erase": "erase"}  # event -> record kind

# recorded element state -> attribute names the media handlers read
STATE_KEYS = ("currentTime", "duration", "paused", "ended", "seeking", "playbackRate")


class State:
    """A recorded element state, read like the element (``state.currentTime``)."""

    def __init__(self, values):
        for key in STATE_KEYS:
            setattr(self, key, values.get(key))


def _get(record, key):
    value = getattr(record, key, None)
    return None if is_nullish(value) else value


class Early:
    """What the snippet recorded: ``t0`` (when it started) and ``records``,
    each a dict with ``type``, ``t``, ``element`` and either the media state
    (``state``) or the button's ``spec``/``entry_id``."""

    def __init__(self, t0, records, dropped=0):
        self.t0 = t0
        self.records = records
        self.dropped = dropped

    def media_records(self, element):
        return [r for r in self.records if r["kind"] == "media" and r["element"] == element]

    def __len__(self):
        return len(self.records)


def button_extras(el):
    """(value, info) of a ``[data-kaltura-button]`` element: its
    ``data-kaltura-button-value`` and ``-info`` attributes (None when absent)."""
    return attribute(el, "data-kaltura-button-value"), attribute(el, "data-kaltura-button-info")


def take(window=None):
    """Stop the snippet and return its records (an ``Early``), or None when
    the page has no snippet.  Safe to call twice (the second gets nothing)."""
    window = window if window is not None else _env.window()
    queue = getattr(window, QUEUE_NAME, None)
    if is_nullish(queue):
        return None
    stop = getattr(queue, "stop", None)
    if not is_nullish(stop):
        stop()  # the snippet's listeners are removed; it records nothing more
    t0 = _get(queue, "t0")
    records = []
    for i in range(int(queue.length)):
        raw = queue[i]
        kind = str(_get(raw, "type") or "")
        t = _get(raw, "t")
        if not kind or t is None:
            continue
        record = {"type": kind, "t": float(t), "element": _get(raw, "el")}
        if kind in PAGE_EVENTS:
            record["kind"] = PAGE_EVENTS[kind]
            record["state"] = _get(raw, "state")
        elif kind == "click":
            record["kind"] = "click"
            record["spec"] = str(_get(raw, "button") or "")
            entry = _get(raw, "entryId")
            record["entry_id"] = str(entry) if entry else None
            record["value"], record["info"] = button_extras(record["element"])
        else:
            record["kind"] = "media"
            values = {}
            for key in STATE_KEYS:
                values[key] = _get(raw, key)
            record["state"] = State(values)
        records.append(record)
    dropped = int(_get(queue, "dropped") or 0)
    queue.length = 0  # drained: a second take() gets nothing
    t0 = float(t0) if t0 is not None else (records[0]["t"] if records else None)
    return Early(t0, records, dropped)


def _page_event(runtime, record):
    """Consent or erase, as the page said it before the SDK started: done now,
    at its place among the other records (a consent state that is not one
    becomes an ``early-replay-failed`` diagnostic through the guard)."""
    if record["kind"] == "consent":
        runtime.set_consent(record["state"])
    else:
        runtime.erase()
    return True


def replay_page_events(runtime, early):
    """Replay only the consent and erase records (a page that instruments
    nothing); they leave ``early.records``.  Returns how many were replayed."""
    mine = [r for r in early.records if r["kind"] in ("consent", "erase")]
    early.records = [r for r in early.records if r["kind"] not in ("consent", "erase")]
    count = 0
    for record in mine:
        if guard(_page_event, runtime.tracker, "early %s replay" % record["type"],
                 diag.EARLY_REPLAY_FAILED)(runtime, record):
            count += 1
    return count


def replay(runtime, early):
    """Feed ``early``'s records to ``runtime`` (a KalturaWeb) in order.

    Media records go to the attachment of their element (elements the SDK
    does not instrument are skipped); clicks go through ``runtime.button``
    with their own time; consent and erase records change the consent or
    erase at their place in the order.  Returns how many records were replayed."""
    def replay_one(record):
        if record["kind"] in ("consent", "erase"):
            return _page_event(runtime, record)
        if record["kind"] == "click":
            if not record["spec"]:
                return False
            runtime.button(record["spec"], record["entry_id"], t=record["t"], value=record.get("value"),
                           info=record.get("info"))
            return True
        for handle in runtime.attachments:
            if handle.video == record["element"]:
                handle.replay(record["type"], record["t"], record["state"])
                return True
        return False  # an element the SDK does not instrument

    count = 0
    for record in early.records:  # one bad record never stops the rest
        where = "early %s replay" % record["type"]
        if guard(replay_one, runtime.tracker, where, diag.EARLY_REPLAY_FAILED)(record):
            count += 1
    if early.dropped:
        runtime.tracker.diagnose(diag.EARLY_DROPPED, "early-event snippet dropped records (queue full)",
                                 {"dropped": early.dropped}, lost=diag.LOST_EARLY_DROPPED,
                                 count=early.dropped)
    return count
