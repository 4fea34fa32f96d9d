"""analytics.trackEvent: application events (PageLoad, ButtonClicked, ...).

Reached through the API v3 URLs (``api_v3`` hands it the request).  Unlike the
rest of API v3 it answers failures with HTTP statuses, as Kaltura's analytics
server does: 400 for bad input, 401 for a bad KS.  Its ApiErrors are not
caught here: the app's one error path renders them (``answers.http_error``).
"""

from __future__ import annotations

import time

from ..answers import FORMAT_JSON, ApiError, kaltura_response, missing_parameter
from ..ingest import check_ks, store_event
from ..params import check_text, optional_text, present, read_float, read_int
from ..values import INT32_MAX, MAX_TIMESTAMP
from ..wsgi_faults import injected_invalid_ks

IGNORED = ("ks", "service", "action")  # params that are not event fields


def track_event(state, environ, params, nested) -> dict:
    """Check and store one trackEvent; its answer, or an ApiError carrying the
    HTTP status the analytics server gives (400 bad input, 401 bad KS)."""
    if injected_invalid_ks(environ):
        raise ApiError("INVALID_KS", "Invalid KS (injected fault)", status=401)
    for name in ("eventType", "partnerId"):
        if not present(params.get(name)):
            raise missing_parameter(name)
    event_type = read_int(params["eventType"], "eventType", 1, INT32_MAX)
    partner = read_int(params["partnerId"], "partnerId", 1, INT32_MAX)
    timestamp = None
    if present(params.get("eventTimestamp")):
        timestamp = read_float(params["eventTimestamp"], "eventTimestamp", 0, MAX_TIMESTAMP)
    info = check_ks(state, params)
    fields = {k: v for k, v in params.items() if k not in IGNORED}
    for obj, values in nested.items():
        for k, v in values.items():
            fields[f"{obj}:{k}"] = v
    fields["eventType"], fields["partnerId"] = event_type, partner
    store_event(state, "analytics", fields, info, params.get("ks"), partner_id=partner,
                entry_id=optional_text(params.get("entryId")), event_type=event_type,
                session_id=optional_text(params.get("sessionId")), event_timestamp=timestamp,
                beacon_id=optional_text(params.get("beaconId")))
    return {"time": time.time(), "viewEventsEnabled": True}


def answer(state, request, params, nested, started):
    """The HTTP answer to a trackEvent request: JSON unless ``format`` asks otherwise."""
    check_text(params, nested)
    result = track_event(state, request.environ, params, nested)
    fmt = str(params["format"]).strip() if present(params.get("format")) else FORMAT_JSON
    return kaltura_response(result, fmt, started, callback=params.get("callback"))
