"""The collector's live dashboard: its files and the event stream behind it.

The routes are elsewhere: ``routes/static.py`` serves the page (``GET /``) and
its script and stylesheet (``GET /dashboard/<file>``, no CDN);
``routes/dev.py`` serves its data: ``/dev/summary`` (``summary.summary``),
``/dev/catalog`` (event type names), ``/dev/verify`` (the linter),
``/dev/playbacks`` (each session's protocol and KAVA VIEWs: ``protocols.py``)
and ``/dev/stream``, the Server-Sent Events this module writes:

* every stored event as one ``message`` (``id`` = its seq, ``data`` = the event
  as JSON, ``duplicate_of`` included), a ``reset`` event when the store is
  emptied, a comment line as heartbeat;
* query ``since=<seq>`` (or the ``Last-Event-ID`` header on reconnect) resumes
  after that seq; without it the newest ``backlog`` events (default 500) come first.

The stream never holds a lock while it waits: it sleeps on the store's change
condition with a timeout and stops as soon as the collector begins shutdown
(``state.closing``), so ``CollectorServer.stop()`` returns promptly and other
requests are served by their own threads meanwhile.
"""

from __future__ import annotations

from pathlib import Path

from ..values import dump_json

HERE = Path(__file__).resolve().parent
PAGE = {"index.html": "text/html"}
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
HEARTBEAT_SECONDS = 10.0
DEFAULT_BACKLOG = 500
MAX_BACKLOG = 5000


def sse_message(data, event=None, event_id=None) -> str:
    """One Server-Sent Events message (data serialised as JSON on one line)."""
    lines = []
    if event:
        lines.append(f"event: {event}")
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + dump_json(data, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def event_stream(state, since=None, backlog=DEFAULT_BACKLOG, heartbeat=HEARTBEAT_SECONDS):
    """Generator of SSE text: stored events after ``since`` (or the latest
    ``backlog`` ones), then each new event as it is stored, until shutdown."""
    store = state.store
    yield "retry: 2000\n\n"
    try:
        version = store.version
        resets = store.resets
        if since is None:
            since = max(store.latest_seq() - backlog, 0)
        while not state.closing.is_set():
            for ev in store.events(since_seq=since):
                yield sse_message(ev, event_id=ev["seq"])
                since = ev["seq"]
            seen = version
            version = store.wait_for_change(seen, heartbeat)
            if state.closing.is_set() or store.closed:
                return
            if store.resets != resets:
                resets = store.resets
                yield sse_message({"resets": resets}, event="reset")
            if version == seen:
                yield ": heartbeat\n\n"
    except Exception:  # store closed under us at shutdown: just end the stream
        return
