"""Beacon records, their wire encoding, and classification of the answers.

A *record* is the compact, KS-free form of one beacon that the delivery
engine queues and a Store persists (short keys keep a localStorage entry
small).  ``encode`` turns a record plus the current KS into an HTTP request;
``classify`` turns the answer into one of the delivery outcomes.

Units live here and nowhere else: eventTimestamp is the integer Unix second
of the observation, currentPoint and duration are integer seconds, seek is
``true``/``false``.
"""

import json

from ._compat import is_finite, urlencode
from .validation import encodable
from .catalog import (STATS_ATTRIBUTION_FIELDS, STATS_OPTIONAL_FIELDS, STATS_REQUIRED_FIELDS,
                      TRACK_ATTRIBUTION_FIELDS, TRACK_EVENT_FIELDS)

STATS = "s"  # queue / record kind: stats.collect
TRACK = "t"  # queue / record kind: analytics.trackEvent
QUEUES = (STATS, TRACK)

STATS_PATH = "/service/stats/action/collect"
MULTI_PATH = "/service/multirequest"
TRACK_PATH = "/api_v3/index.php?service=analytics&action=trackEvent"
FORM = "application/x-www-form-urlencoded"
# a KAVA beacon's query string carries these record keys; the rest goes in the body
KAVA_QUERY = (("e", "eventType"), ("p", "partnerId"), ("n", "entryId"), ("s", "sessionId"))

# record key -> wire field, in the catalog's (wire) order
_STATS_KEYS = tuple(zip(("p", "n", "e", "s", "t", "u", "c", "r", "cp", "d", "sk", "w", "ui", "a"),
                        STATS_REQUIRED_FIELDS + STATS_OPTIONAL_FIELDS + STATS_ATTRIBUTION_FIELDS))
_TRACK_KEYS = tuple(zip(("e", "p", "n", "a", "pt", "pn", "bt", "bn", "s", "ui", "av", "ve", "pv", "pi",
                         "bv", "bi"), TRACK_EVENT_FIELDS + TRACK_ATTRIBUTION_FIELDS))
# the keys of a tracker's shared context (uiconfId, clientVer, referrer, widgetId, userId,
# application, kalturaApplicationVer, virtualEventId) each record kind carries
STATS_CONTEXT = ("u", "c", "r", "w", "ui", "a")
TRACK_CONTEXT = ("ui", "av", "ve")

# outcomes
ACCEPTED = "accepted"
AUTH = "auth"
BAD_BEACON = "bad_beacon"
CONFIG = "config"
TRANSIENT = "transient"
# from the mildest to the worst: a failure that keeps beacons queued outranks a
# dead letter, and a rejected KS (every queue waits for a new one) outranks all
_ORDER = (ACCEPTED, BAD_BEACON, TRANSIENT, CONFIG, AUTH)
_SEVERITY = {outcome: rank for rank, outcome in enumerate(_ORDER)}

_AUTH_CODES = ("INVALID_KS", "EXPIRED_KS", "KS_EXPIRED", "INVALID_USER_ID")
_TRANSIENT_CODES = ("INTERNAL_SERVERL_ERROR", "INTERNAL_SERVER_ERROR", "SERVICE_TEMPORARILY_UNAVAILABLE")


def unix_seconds(t) -> int:
    """Observation time (float seconds) -> eventTimestamp."""
    return int(t)


def point_seconds(position) -> int:
    """Playhead position -> currentPoint (whole seconds played, floored)."""
    return int(position)


def duration_seconds(duration) -> int:
    """Content duration -> duration field (nearest whole second)."""
    return int(duration + 0.5)


def stats_record(beacon_id, event_type, partner_id, entry_id, session_id, t, context=None,
                 position=None, duration=None, seek=None):
    """The record of one stats.collect beacon.  ``context``: the tracker's
    shared fields (``STATS_CONTEXT``); empty ones are left out."""
    rec = {"i": beacon_id, "k": STATS, "p": partner_id, "n": entry_id, "e": event_type,
           "s": session_id, "t": unix_seconds(t)}
    _take_context(rec, context, STATS_CONTEXT)
    if position is not None and is_finite(position):
        rec["cp"] = point_seconds(position)
    if duration is not None and is_finite(duration) and duration > 0:
        rec["d"] = duration_seconds(duration)
    if seek is not None:
        rec["sk"] = 1 if seek else 0
    return rec


def track_record(beacon_id, event_type, partner_id, t, fields, context=None):
    """The record of one analytics.trackEvent beacon: ``fields`` by wire
    name, then the tracker's shared ``context`` (``TRACK_CONTEXT``); empty
    fields are left out."""
    rec = {"i": beacon_id, "k": TRACK, "e": event_type, "p": partner_id, "t": unix_seconds(t)}
    for key, name in _TRACK_KEYS[2:]:
        value = fields.get(name)
        if value is not None and value != "":
            rec[key] = value
    _take_context(rec, context, TRACK_CONTEXT)
    return rec


def _take_context(rec, context, keys):
    if context:
        for key in keys:
            value = context.get(key)
            if value is not None and value != "":
                rec[key] = value


def worst_outcome(outcomes):
    """The worst of some outcomes (ACCEPTED for none)."""
    return _ORDER[max([0] + [_SEVERITY[outcome] for outcome in outcomes])]


def _wire_value(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is float and abs(value) < 1e15 and value == int(value):
        return str(int(value))  # 1.0 -> "1": the same text on every runtime
    return str(value)


def kava_fields(record):
    """The (name, value) pairs of a KAVA record, values as they are (numbers
    stay numbers): query-string fields first, then the body's, without ks."""
    pairs = [(name, record[key]) for key, name in KAVA_QUERY]
    for item in record["x"]:
        pairs.append((item[0], item[1]))
    pairs.append(("eventTimestamp", record["t"]))
    pairs.append(("beaconId", record["i"]))
    return pairs


def wire_fields(record):
    """The (name, value) pairs a record becomes, without ks/format."""
    pairs = []
    if record.get("kv"):
        return [(name, _wire_value(value)) for name, value in kava_fields(record)]
    if record["k"] == STATS:
        pairs.append(("event[objectType]", "KalturaStatsEvent"))
        for key, name in _STATS_KEYS:
            if key in record:
                value = record[key]
                if key == "sk":
                    value = bool(value)
                pairs.append(("event[" + name + "]", _wire_value(value)))
        pairs.append(("event[beaconId]", record["i"]))
    else:
        for key, name in _TRACK_KEYS:
            if key in record:
                pairs.append((name, _wire_value(record[key])))
        pairs.append(("beaconId", record["i"]))
    return pairs


class Request:
    """One HTTP request to make: POST ``url`` with the form ``body``.

    ``beacon_ids`` lists the beacons it carries in order (more than one for a
    multirequest batch); ``beacon_id`` is the first."""

    __slots__ = ("queue", "beacon_id", "beacon_ids", "method", "url", "body", "headers")

    def __init__(self, queue, beacon_id, url, body, beacon_ids=None):
        self.queue = queue
        self.beacon_id = beacon_id
        self.beacon_ids = beacon_ids if beacon_ids is not None else (beacon_id,)
        self.method = "POST"
        self.url = url
        self.body = body
        # a CORS-safelisted type: no preflight, and keepalive requests may carry it
        self.headers = {"Content-Type": FORM}

    def __repr__(self):
        return "Request(%s %s, %d bytes)" % (self.method, self.url, len(self.body))


def endpoint_url(kind, service_url, analytics_url) -> str:
    if kind == STATS:
        return service_url.rstrip("/") + STATS_PATH
    return analytics_url.rstrip("/") + TRACK_PATH


def encode_kava(record, ks, analytics_url) -> Request:
    """A KAVA beacon as Player v7 posts it: eventType, partnerId, entryId and
    sessionId in the query string, the rest (and the KS) in the body.  The
    body is form-encoded, which Kaltura's analytics server accepts as it
    does JSON, and which needs no CORS preflight (keepalive allows none)."""
    fields = wire_fields(record)
    query = urlencode(fields[:len(KAVA_QUERY)])
    body = fields[len(KAVA_QUERY):]
    if ks:
        body.append(("ks", ks))
    url = analytics_url.rstrip("/") + TRACK_PATH + "&" + query
    return Request(TRACK, record["i"], url, urlencode(body))


def encode(record, ks, service_url, analytics_url) -> Request:
    """The request for ``record``; the KS is attached here, at send time."""
    if record.get("kv"):
        return encode_kava(record, ks, analytics_url)
    pairs = []
    if ks:
        pairs.append(("ks", ks))
    pairs.append(("format", "1"))
    pairs.extend(wire_fields(record))
    url = endpoint_url(record["k"], service_url, analytics_url)
    return Request(record["k"], record["i"], url, urlencode(pairs))


MAX_BATCH_BYTES = 60000  # a multirequest body stays under the 64 KB keepalive budget


def encode_batch(records, ks, service_url, max_bytes=MAX_BATCH_BYTES):
    """One multirequest carrying stats.collect beacons in order.

    Kaltura runs the calls one after the other and answers a list with one
    result per call; one request (and one server transaction) instead of many
    is how a backlog drains quickly without giving up FIFO order.  Calls are
    added while the body stays within ``max_bytes`` (at least one):
    ``Request.beacon_ids`` says which records it carries, the rest wait."""
    head = []
    if ks:
        head.append(("ks", ks))
    head.append(("format", "1"))
    parts = [urlencode(head)]
    size = len(parts[0])
    ids = []
    for n in range(len(records)):
        if records[n]["k"] != STATS:
            raise ValueError("only stats.collect beacons can share a multirequest")
        prefix = str(n + 1) + ":"
        pairs = [(prefix + "service", "stats"), (prefix + "action", "collect")]
        for name, value in wire_fields(records[n]):
            # event[x] -> N:event:x (the multirequest form of nested fields)
            pairs.append((prefix + name.replace("[", ":").replace("]", ""), value))
        part = urlencode(pairs)
        if ids and size + 1 + len(part) > max_bytes:
            break
        parts.append(part)
        size += 1 + len(part)
        ids.append(records[n]["i"])
    if len(ids) == 1:
        return encode(records[0], ks, service_url, service_url)
    return Request(STATS, ids[0], service_url.rstrip("/") + MULTI_PATH, "&".join(parts), tuple(ids))


def _encode_records(records, ks, service_url, analytics_url, max_bytes):
    if len(records) == 1:
        return encode(records[0], ks, service_url, analytics_url)
    return encode_batch(records, ks, service_url, max_bytes)


def encode_head(records, ks, service_url, analytics_url, max_bytes=MAX_BATCH_BYTES):
    """The request for the head of a queue (``records``, in order): one
    beacon, or a multirequest of stats.collect beacons.  A record that cannot
    be encoded (a lone surrogate or a corrupt value stored by an older
    version) never blocks the others: the request carries the records before
    it.  Returns ``(request, None)``, or ``(None, reason)`` when the first
    record itself cannot be encoded: the caller dead-letters it and goes on."""
    try:
        return _encode_records(records, ks, service_url, analytics_url, max_bytes), None
    except Exception:  # stored records are data: find the culprit below
        pass
    good = 0
    for record in records:
        try:
            encode(record, ks, service_url, analytics_url)
        except Exception as exc:
            if good == 0:
                reason = repr(exc)  # repr escapes a lone surrogate: the reason can be stored
                return None, "cannot be encoded: " + (reason if len(reason) <= 200 else reason[:197] + "...")
            break
        good += 1
    try:
        return _encode_records(records[:good], ks, service_url, analytics_url, max_bytes), None
    except Exception:  # records that encode alone but not together
        return encode(records[0], ks, service_url, analytics_url), None


def classify_batch(status, body, count):
    """[(outcome, reason)] for each call of a multirequest answer: the
    calls ran independently, so each slot is classified on its own."""
    whole = classify(status, body)
    if whole[0] != ACCEPTED or count == 1:
        return [whole] * count
    results = _parse_json(body)
    if not isinstance(results, list) or len(results) != count:
        return [(TRANSIENT, "malformed multirequest answer")] * count
    out = []
    for item in results:
        code = _api_exception(item)
        out.append((ACCEPTED, "HTTP %d" % status) if code is None else _code_outcome(code))
    return out


def _parse_json(text):
    """The JSON value of an answer body, or None when it is not JSON (or is
    nested too deep to parse: a RecursionError must not stop delivery)."""
    try:
        return json.loads(text)
    except Exception:
        return None


def _printable(code):
    """An error code as it may be logged and stored: short, and encodable."""
    if len(code) > 100 or not encodable(code):
        code = repr(code[:100])
    return code


def _api_exception(data):
    """The code of a parsed KalturaAPIException, or None for anything else."""
    if isinstance(data, dict) and data.get("objectType") == "KalturaAPIException":
        code = data.get("code")
        return _printable(code) if type(code) is str and code else "UNKNOWN"
    return None


def _exception_code(body):
    """The KalturaAPIException code in a JSON or XML answer body, or None."""
    if not body:
        return None
    text = body.strip()
    if text.startswith("{"):
        return _api_exception(_parse_json(text))
    if "KalturaAPIException" in text and "<code>" in text:
        start = text.index("<code>") + 6
        end = text.find("</code>", start)
        return _printable(text[start:end]) if end > start else "UNKNOWN"
    return None


def _code_outcome(code):
    if code in _AUTH_CODES:
        return AUTH, code
    if code in _TRANSIENT_CODES:
        return TRANSIENT, code
    return BAD_BEACON, code


def classify(status, body):
    """(outcome, reason) for an HTTP answer; ``status`` None means no answer
    (network error, timeout, connection dropped)."""
    if status is None:
        return TRANSIENT, "network error"
    if status == 401:
        return AUTH, "HTTP 401"
    if status == 404:
        return CONFIG, "HTTP 404: wrong service or analytics URL"
    if status == 408 or status == 429 or status >= 500:
        return TRANSIENT, "HTTP %d" % status
    if 200 <= status < 300:
        code = _exception_code(body)
        if code is None:
            return ACCEPTED, "HTTP %d" % status
        return _code_outcome(code)
    if 300 <= status < 400:
        return CONFIG, "HTTP %d redirect: check the endpoint URL" % status
    return BAD_BEACON, "HTTP %d" % status
