"""The collector's live dashboard: the page at ``/`` and the endpoints it reads.

``register(app, state)`` adds to the Flask app:

* ``GET /`` - the dashboard page (static files of this folder, no CDN);
* ``GET /dashboard/<file>`` - its script and stylesheet;
* ``GET /dev/stream`` - Server-Sent Events: every stored event as one
  ``message`` (``id`` = its seq, ``data`` = the event as JSON), a ``reset``
  event when the store is emptied, a comment line as heartbeat.  Query
  ``since=<seq>`` (or the ``Last-Event-ID`` header on reconnect) resumes after
  that seq; without it the newest ``backlog`` events (default 500) come first;
* ``GET /dev/summary?app=&entry=&user=&from=&to=`` - ``reports.summary`` as JSON;
* ``GET /dev/catalog`` - event type names.

The stream never holds a lock while it waits: it sleeps on the store's change
condition with a timeout and stops as soon as the collector begins shutdown
(``state.closing``), so ``CollectorServer.stop()`` returns promptly and other
requests are served by their own threads meanwhile.
"""

from __future__ import annotations

from pathlib import Path

from ..values import dump_json, parse_float, parse_int

HERE = Path(__file__).resolve().parent
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
HEARTBEAT_SECONDS = 10.0
DEFAULT_BACKLOG = 500
MAX_BACKLOG = 5000


def _int_arg(value, default=None):
    """A strict integer query value (ASCII digits, 64-bit), else ``default``."""
    try:
        return parse_int(value)
    except ValueError:
        return default


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


def register(app, state) -> None:
    from flask import Response, abort, jsonify, request, send_file

    from ...core.catalog import APPLICATION_EVENTS, STATS_EVENT_TYPES
    from .. import reports

    @app.get("/")
    def dashboard_page():
        return send_file(HERE / "index.html", mimetype="text/html", max_age=0)

    @app.get("/dashboard/<name>")
    def dashboard_asset(name):
        if name not in ASSETS:
            abort(404)
        return send_file(HERE / name, mimetype=ASSETS[name], max_age=0)

    @app.get("/dev/stream")
    def dev_stream():
        since = _int_arg(request.args.get("since"))
        if since is None:
            since = _int_arg(request.headers.get("Last-Event-ID"))
        backlog = min(max(_int_arg(request.args.get("backlog"), DEFAULT_BACKLOG), 0), MAX_BACKLOG)
        response = Response(event_stream(state, since, backlog), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"
        return response

    @app.get("/dev/summary")
    def dev_summary():
        a = request.args

        def number(name):
            value = a.get(name)
            try:
                return parse_float(value) if value not in (None, "") else None
            except ValueError:
                abort(400)

        flt = reports.EventFilter(from_date=number("from"), to_date=number("to"),
                                  entry_ids=a.get("entry") or None, apps=a.get("app") or None,
                                  user_ids=a.get("user") or None)
        return jsonify(reports.summary(state.store.events(), flt))

    @app.get("/dev/catalog")
    def dev_catalog():
        return jsonify({"stats": {str(k): v for k, v in STATS_EVENT_TYPES.items()},
                        "analytics": {str(k): v for k, v in APPLICATION_EVENTS.items()}})
