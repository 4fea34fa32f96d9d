"""The development API under ``/dev/`` (docs/collector.md, docs/reports.md).

KS for demo pages, the stored events and sessions, the linter, reset, fault
rules, and the dashboard's data (``/dev/stream``, ``/dev/summary``,
``/dev/catalog``, ``/dev/playbacks``).  Same-origin only
(``security.dev_refusal``: 403), and off with the dashboard when
``dev_routes`` is False (404).  Bad input is an
ApiError like everywhere else (HTTP 400, rendered by the app's error path).
"""

from __future__ import annotations

import logging
import time

from ...core.catalog import APPLICATION_EVENTS, KAVA_EVENT_TYPES, STATS_EVENT_TYPES
from ..answers import bad_fault_spec, forbidden, not_found
from ..dashboard import DEFAULT_BACKLOG, MAX_BACKLOG, event_stream
from ..dashboard.protocols import playbacks
from ..faults import FaultSpecError
from ..filters import EventFilter
from ..linter import ERROR, lint
from ..params import check_text, int_or, present, read_float, read_int, request_params
from ..security import DEV_PREFIX, dev_refusal
from ..summary import summary
from ..values import FLOAT_MAX, INT64_MAX, INT64_MIN, load_json

log = logging.getLogger("kaltura_web.collector")

DEV_KS_EXPIRY = 3600               # seconds a /dev/ks KS lives by default
DEV_KS_MAX_EXPIRY = 86400          # the most a caller of /dev/ks may ask for


def guard(config, request) -> None:
    """Before every request: 404 for the development routes and the dashboard
    when they are off, 403 for a development request from elsewhere."""
    path = request.path
    if not config.dev_routes and (path == "/" or path.startswith(("/dashboard/", DEV_PREFIX))):
        raise not_found()
    if path.startswith(DEV_PREFIX):
        reason = dev_refusal(request, config.allow_remote_dev)
        if reason:
            log.warning("refused %s %s: %s", request.method, path, reason)
            raise forbidden(reason)


def _params(request) -> dict:
    return request_params(request)[0]


def dev_ks(state, request) -> dict:
    """A USER KS (type 0) for demo pages: 1 hour unless ``expiry`` asks for
    less or more (at most DEV_KS_MAX_EXPIRY).  ``anonymous=1`` (an anonymous
    page) gives a KS without a user, whatever ``userId`` says."""
    if not state.config.dev_ks:
        raise not_found("GET /dev/ks is off (--no-dev-ks)")
    params = _params(request)
    user_id, app_id = str(params.get("userId") or ""), str(params.get("appId") or "")
    if str(params.get("anonymous") or "") in ("1", "true"):
        user_id = ""
    check_text({"userId": user_id, "appId": app_id})
    expiry = DEV_KS_EXPIRY
    if present(params.get("expiry")):
        expiry = min(read_int(params["expiry"], "expiry", 1, INT64_MAX), DEV_KS_MAX_EXPIRY)
    ks_string = state.issue_ks(user_id, 0, expiry, {"appId": app_id} if app_id else {})
    return {"ks": ks_string, "partnerId": state.config.partner_id, "expiry": int(time.time()) + expiry}


def dev_events(state, request) -> dict:
    """Every stored arrival matching the filters, in arrival order."""
    params = _params(request)
    numbers = {name: read_int(params[key], key, INT64_MIN, INT64_MAX) if present(params.get(key)) else None
               for name, key in (("event_type", "eventType"), ("since_seq", "since"))}
    events = state.store.events(
        session_id=params.get("sessionId"), service=params.get("service"),
        entry_id=params.get("entryId"), user_id=params.get("userId"), app_id=params.get("appId"),
        **numbers)
    return {"events": events, "count": len(events)}


def dev_sessions(state, request) -> dict:
    return {"sessions": state.store.sessions()}


def dev_summary(state, request) -> dict:
    """``summary.summary`` for the dashboard's filters (app, entry, user, from, to)."""
    params = _params(request)

    def number(name):
        return read_float(params[name], name, -FLOAT_MAX, FLOAT_MAX) if present(params.get(name)) else None

    flt = EventFilter(from_date=number("from"), to_date=number("to"),
                      entry_ids=params.get("entry") or None, apps=params.get("app") or None,
                      user_ids=params.get("user") or None)
    return summary(state.store.events(), flt)


def dev_verify(state, request) -> dict:
    """The linter over every stored arrival (repeated beacons included and
    flagged): the violations, and apart from them the warnings."""
    findings = lint(state.store.events(), warnings=True)
    violations = [f.as_dict() for f in findings if f.severity == ERROR]
    return {"ok": not violations, "findings": violations,
            "warnings": [f.as_dict() for f in findings if f.severity != ERROR]}


def dev_erase_user(state, request) -> dict:
    """DELETE /dev/users/<userId>: erase every stored event of that user (its
    ``userId``, else its KS user), what a data-subject request needs locally."""
    user_id = request.view_args["user_id"]
    check_text({"userId": user_id})
    deleted = state.store.erase_user(user_id)
    log.info("erased %d stored events of a user on request", deleted)
    return {"ok": True, "userId": user_id, "deleted": deleted}


def dev_reset(state, request) -> dict:
    state.reset()
    return {"ok": True}


def dev_faults(state, request) -> dict:
    """GET: the rules and counters; POST: add one spec or a list; DELETE: clear."""
    if request.method == "POST":
        spec = load_json(request.get_data()) if request.is_json else None
        try:
            for one in spec if isinstance(spec, list) else [spec]:
                state.faults.add(one)
        except FaultSpecError as err:
            raise bad_fault_spec(str(err)) from None
    elif request.method == "DELETE":
        state.faults.clear()
    return state.faults.snapshot()


def dev_info(state, request) -> dict:
    base = request.host_url.rstrip("/")
    return {"partnerId": state.config.partner_id, "serviceUrl": base + "/api_v3",
            "analyticsUrl": base, "devKs": bool(state.config.dev_ks),
            "events": state.store.count(), "faults": state.faults.snapshot()}


def dev_catalog(state, request) -> dict:
    """Event type names by number, for the dashboard: stats.collect types,
    application events and KAVA playback events (analytics ids below 10000)."""
    return {"stats": {str(k): v for k, v in STATS_EVENT_TYPES.items()},
            "analytics": {str(k): v for k, v in APPLICATION_EVENTS.items()},
            "kava": {str(k): v for k, v in KAVA_EVENT_TYPES.items()}}


def dev_playbacks(state, request) -> dict:
    """Per playback session: the protocol it used (guide, kava, both) and its
    KAVA VIEWs (``dashboard.protocols.playbacks``)."""
    sessions = playbacks(state.store.events())
    return {"sessions": sessions, "count": len(sessions)}


def dev_stream(state, request):
    """Server-Sent Events of the stored events (``dashboard.event_stream``)."""
    from flask import Response

    params = _params(request)
    since = int_or(params.get("since"))
    if since is None:
        since = int_or(request.headers.get("Last-Event-ID"))
    backlog = min(max(int_or(params.get("backlog"), DEFAULT_BACKLOG), 0), MAX_BACKLOG)
    response = Response(event_stream(state, since, backlog), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


# path -> (methods, handler(state, request) -> a dict answered as JSON, or a response)
ROUTES = {
    "/dev/ks": (["GET"], dev_ks),
    "/dev/events": (["GET"], dev_events),
    "/dev/sessions": (["GET"], dev_sessions),
    "/dev/summary": (["GET"], dev_summary),
    "/dev/verify": (["GET"], dev_verify),
    "/dev/reset": (["POST"], dev_reset),
    "/dev/faults": (["GET", "POST", "DELETE"], dev_faults),
    "/dev/info": (["GET"], dev_info),
    "/dev/catalog": (["GET"], dev_catalog),
    "/dev/playbacks": (["GET"], dev_playbacks),
    "/dev/stream": (["GET"], dev_stream),
    "/dev/users/<path:user_id>": (["DELETE"], dev_erase_user),
}


def register(app, state) -> None:
    from flask import jsonify, request

    def view(handler):
        def answer(**_path_values):  # the handler reads them from request.view_args
            result = handler(state, request)
            return jsonify(result) if isinstance(result, dict) else result
        return answer

    app.before_request(lambda: guard(state.config, request))
    for path, (methods, handler) in ROUTES.items():
        app.add_url_rule(path, handler.__name__, view(handler), methods=methods)
