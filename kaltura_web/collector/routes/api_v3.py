"""Kaltura API v3 on the collector: the ``/api_v3`` URLs, session.start,
stats.collect and multirequest; report.* is in ``report``, analytics.trackEvent
(reached by the same URLs) in ``analytics``.

Every API v3 call answers HTTP 200 in the requested ``format`` (XML when
absent), its ApiError in place of its result; an unknown service.action
answers 404.  A multirequest runs each call on its own, in order: a savepoint
each (a failing call undoes only its own writes) and one commit before the answer.
"""

from __future__ import annotations

import hmac
import logging

from ...core.catalog import MAX_STATS_TYPE, MIN_STATS_TYPE, STATS_REQUIRED_FIELDS
from .. import ks as ksmod
from ..answers import (FORMAT_XML, ApiError, internal_error, invalid_ks, kaltura_response,
                       missing_parameter, no_such_service)
from ..ingest import check_ks, store_event
from ..params import (check_text, optional_text, present, read_bool, read_enum, read_float,
                      read_int, request_params, split_calls)
from ..values import INT32_MAX, MAX_TIMESTAMP, parse_int
from ..wsgi_faults import injected_invalid_ks
from . import analytics, report

log = logging.getLogger("kaltura_web.collector")

DEFAULT_KS_EXPIRY = 86400  # seconds, session.start without (or with a non-positive) expiry

# KalturaStatsEvent's typed properties (reference.md section 1); the others are text.
STATS_ENUMS = {"eventType": ("KalturaStatsEventType", range(MIN_STATS_TYPE, MAX_STATS_TYPE + 1)),
               "featureType": ("KalturaStatsFeatureType", (0, 1))}
STATS_INTS = {"partnerId": 1, "uiconfId": 0, "currentPoint": 0, "duration": 0,  # name: minimum
              "processDuration": 0, "newPoint": 0, "contextId": 0}
STATS_BOOLS = ("seek", "isFirstInSession")


def read_stats_event(event: dict) -> dict:
    """The checked values of the typed KalturaStatsEvent properties present in
    ``event`` (eventType first); raises the ApiError Kaltura gives."""
    typed = {}
    for name, (enum_type, allowed) in STATS_ENUMS.items():
        if present(event.get(name)):
            typed[name] = read_enum(event[name], name, enum_type, allowed)
    for name, minimum in STATS_INTS.items():
        if present(event.get(name)):
            typed[name] = read_int(event[name], name, minimum, INT32_MAX)
    if present(event.get("eventTimestamp")):
        typed["eventTimestamp"] = read_float(event["eventTimestamp"], "eventTimestamp", 0, MAX_TIMESTAMP)
    for name in STATS_BOOLS:
        if present(event.get(name)):
            typed[name] = read_bool(event[name], name)
    return typed


def session_start(state, environ, params, nested) -> str:
    """session.start: a KS signed with the admin secret, or START_SESSION_ERROR."""
    cfg = state.config
    raw_partner = params.get("partnerId", "")
    try:
        partner = parse_int(raw_partner, 1, INT32_MAX)
        ks_type = parse_int(params["type"], 0, 2) if present(params.get("type")) else 0
    except ValueError:
        partner = ks_type = None
    secret = str(params.get("secret") or "")
    if (partner != int(cfg.partner_id)
            or not hmac.compare_digest(secret.encode(), cfg.admin_secret.encode())
            or ks_type not in (0, 2)):
        raise ApiError("START_SESSION_ERROR",
                       f"Error while starting session for partner [{str(raw_partner)[:100]}]",
                       {"PARTNER_ID": str(raw_partner)[:100]})
    expiry = DEFAULT_KS_EXPIRY
    if present(params.get("expiry")):
        expiry = read_int(params["expiry"], "expiry", -INT32_MAX - 1, INT32_MAX)
        if expiry <= 0:
            expiry = DEFAULT_KS_EXPIRY
    ks_string = state.issue_ks(str(params.get("userId") or ""), ks_type, expiry,
                               params.get("privileges") or "")
    log.info("session.start partner=%s ks=%s", partner, ksmod.mask_ks(ks_string))
    return ks_string


def stats_collect(state, environ, params, nested) -> None:
    """stats.collect: check one KalturaStatsEvent and store it (the answer is null)."""
    if injected_invalid_ks(environ):
        raise invalid_ks(params.get("ks"), ksmod.KSInvalid("injected"))
    info = check_ks(state, params)
    event = dict(nested.get("event") or {})
    if not event:
        raise missing_parameter("event")
    typed = read_stats_event(event)
    for name in STATS_REQUIRED_FIELDS:
        if name not in typed and not present(event.get(name)):
            raise missing_parameter(f"event:{name}")
    event["eventType"] = typed["eventType"]
    store_event(state, "stats", event, info, params.get("ks"), partner_id=typed["partnerId"],
                entry_id=str(event["entryId"]), event_type=typed["eventType"],
                session_id=str(event["sessionId"]), event_timestamp=typed["eventTimestamp"],
                beacon_id=optional_text(event.get("beaconId")))
    return None


# (service, action) -> handler(state, WSGI environ, params, nested objects) -> result
HANDLERS = {("session", "start"): session_start, ("stats", "collect"): stats_collect,
            ("report", "gettable"): report.get_table, ("report", "gettotal"): report.get_total}


def run_call(state, environ, index, params, nested):
    """One call of a multirequest: its result, or the error in its place."""
    service = str(params.get("service")).lower()
    action = str(params.get("action")).lower()
    try:
        handler = HANDLERS.get((service, action))
        if handler is None:
            raise no_such_service(service, action)
        check_text(params, nested)
        with state.store.savepoint():
            return handler(state, environ, params, nested)
    except ApiError as err:
        return err
    except Exception:  # a bug in one call must not take the others with it
        log.exception("multirequest call %d (%s.%s) failed", index, service, action)
        return internal_error()


def multirequest(state, environ, params, nested) -> list:
    """Kaltura's multirequest (see ``params.split_calls``): the list of results,
    an exception object in place of each call that failed."""
    common, calls = split_calls(params, nested)
    check_text(common)
    with state.store.transaction():
        results = [run_call(state, environ, index, p, n) for index, p, n in calls]
    log.info("multirequest: %d call(s)", len(results))
    return results


def dispatch(state, request, started, service=None, action=None):
    """The answer to an ``/api_v3`` request; ``service``/``action`` from the URL
    path, else from the parameters."""
    params, nested = request_params(request)
    service = str(service or params.get("service") or "").lower()
    action = str(action or params.get("action") or "").lower()
    if (service, action) == ("analytics", "trackevent"):
        return analytics.answer(state, request, params, nested, started)
    fmt = str(params.get("format")).strip() if present(params.get("format")) else FORMAT_XML
    if service == "multirequest":
        handler = multirequest
    else:
        handler = HANDLERS.get((service, action))
        if handler is None:
            return kaltura_response(no_such_service(service, action), fmt, started, status=404)
    try:
        if handler is not multirequest:
            check_text(params, nested)
        result = handler(state, request.environ, params, nested)
    except ApiError as err:
        log.info("%s.%s -> %s", service, action, err.code)
        result = err
    return kaltura_response(result, fmt, started, callback=params.get("callback"))


def register(app, state) -> None:
    from flask import g, request

    def api_call(service, action):
        return dispatch(state, request, g.started, service, action)

    def api_multirequest():
        return dispatch(state, request, g.started, "multirequest", "")

    def api_index():
        return dispatch(state, request, g.started)

    for prefix in ("/api_v3", "/api_v3/index.php"):
        app.add_url_rule(prefix + "/service/<service>/action/<action>", "api_call", api_call,
                         methods=["GET", "POST"])
        app.add_url_rule(prefix + "/service/multirequest", "api_multirequest", api_multirequest,
                         methods=["POST"])
    for path in ("/api_v3/index.php", "/api_v3/"):
        app.add_url_rule(path, "api_index", api_index, methods=["GET", "POST"])
