"""The Flask app of the local Kaltura-compatible collector.

``create_app(config)`` builds it.  ``config`` is a ``CollectorConfig`` or a
mapping with the same keys (db, partner_id, admin_secret, web_root, dev_ks,
faults, body_limit, dev_routes, allow_remote_dev).  The collector state
(store, fault plan, config) is reachable as ``app.extensions["kaltura_collector"]``.

Requests are read by ``params`` (one strict parser), every failure is an
``answers.ApiError`` rendered in one place, and ``security`` decides who may
use the development routes.
"""

from __future__ import annotations

import calendar
import hmac
import json
import logging
import mimetypes
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field, fields as dc_fields
from pathlib import Path

from ..core.catalog import MAX_STATS_TYPE, MIN_STATS_TYPE, STATS_REQUIRED_FIELDS
from . import ks as ksmod
from . import reports
from .answers import (FORMAT_JSON, FORMAT_XML, ApiError, internal_error, invalid_ks,
                      json_error, kaltura_response, missing_parameter, no_such_service)
from .faults import FaultPlan, FaultSpecError
from .linter import lint
from .params import (check_text, present, read_bool, read_enum, read_float, read_int,
                     request_params, split_calls)
from .security import DEV_PREFIX, add_cors_headers, dev_refusal
from .store import Store
from .values import INT32_MAX, INT64_MAX, INT64_MIN, json_safe, parse_int, xml_valid

log = logging.getLogger("kaltura_web.collector")

DEFAULT_PARTNER_ID = 100
DEFAULT_ADMIN_SECRET = "local-dev-admin-secret-not-for-production"
DEFAULT_DB = "kaltura-web.db"
DEFAULT_BODY_LIMIT = 1024 * 1024   # bytes; larger bodies are answered 413
DEV_KS_EXPIRY = 3600               # seconds a /dev/ks KS lives by default
DEV_KS_MAX_EXPIRY = 86400          # the most a caller of /dev/ks may ask for
MAX_TIMESTAMP = 2.0 ** 53          # eventTimestamp: Unix seconds (or ms, older players)

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".html": "text/html",
    ".css": "text/css",
    ".py": "text/x-python",
    ".svg": "image/svg+xml",
    ".map": "application/json",
    ".txt": "text/plain",
}

# KalturaStatsEvent's typed properties (reference.md section 1); the others are text.
STATS_ENUMS = {"eventType": ("KalturaStatsEventType", range(MIN_STATS_TYPE, MAX_STATS_TYPE + 1)),
               "featureType": ("KalturaStatsFeatureType", (0, 1))}
STATS_INTS = {"partnerId": 1, "uiconfId": 0, "currentPoint": 0, "duration": 0,  # name: minimum
              "processDuration": 0, "newPoint": 0, "contextId": 0}
STATS_BOOLS = ("seek", "isFirstInSession")


def default_web_root():
    import kaltura_web

    root = Path(kaltura_web.__file__).resolve().parents[1] / "web"
    return root if root.is_dir() else None


@dataclass
class CollectorConfig:
    db: str = DEFAULT_DB
    partner_id: int = DEFAULT_PARTNER_ID
    admin_secret: str = DEFAULT_ADMIN_SECRET
    web_root: object = "auto"  # "auto": the repo's web/ if present; None: no static files
    dev_ks: bool = True
    faults: list = field(default_factory=list)  # initial fault specs (dicts)
    body_limit: int = DEFAULT_BODY_LIMIT       # bytes of request body; more is answered 413
    dev_routes: bool = True                    # /dev/* and the dashboard
    allow_remote_dev: bool = False             # dev routes answer a non-loopback Host

    def __post_init__(self):
        if isinstance(self.body_limit, bool) or not isinstance(self.body_limit, int):
            raise TypeError(f"body_limit must be an int (bytes), got {self.body_limit!r}")
        if self.body_limit < 1:
            raise ValueError(f"body_limit must be a positive number of bytes, got {self.body_limit!r}")

    @classmethod
    def coerce(cls, config) -> "CollectorConfig":
        if isinstance(config, cls):
            return config
        config = dict(config or {})
        names = {f.name for f in dc_fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in names})

    @property
    def secrets_by_partner(self) -> dict:
        return {int(self.partner_id): self.admin_secret}


class CollectorState:
    def __init__(self, config: CollectorConfig):
        self.config = config
        self.store = Store(config.db)
        self.faults = FaultPlan()
        for spec in config.faults or ():
            self.faults.add(spec)
        web_root = default_web_root() if config.web_root == "auto" else config.web_root
        self.web_root = Path(web_root).resolve() if web_root else None
        self.closing = threading.Event()  # set at shutdown: open event streams end

    def begin_shutdown(self) -> None:
        """End every open /dev/stream response so no request outlives the server."""
        self.closing.set()
        self.store.wake_all()

    def issue_ks(self, user_id="", ks_type=0, expiry=86400, privileges=None) -> str:
        return ksmod.make_ks_v2(self.config.partner_id, self.config.admin_secret, user_id,
                                ks_type, int(time.time()) + int(expiry), privileges)

    def reset(self) -> None:
        self.store.reset()
        self.faults.clear(reset_counters=True)


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


def strict_json_provider(app):
    """Flask's JSON provider, never writing NaN or Infinity (they become null)."""
    from flask.json.provider import DefaultJSONProvider

    class StrictJSONProvider(DefaultJSONProvider):
        sort_keys = False

        def dumps(self, obj, **kwargs):
            return super().dumps(json_safe(obj), allow_nan=False, **kwargs)

    return StrictJSONProvider(app)


# ---------------------------------------------------------------- faults (WSGI layer)

_COLLECT_PATHS = {
    "/api_v3/service/multirequest": "stats",
    "/api_v3/index.php/service/multirequest": "stats",
    "/api_v3/service/stats/action/collect": "stats",
    "/api_v3/service/analytics/action/trackevent": "analytics",
    "/api_v3/index.php/service/stats/action/collect": "stats",
    "/api_v3/index.php/service/analytics/action/trackevent": "analytics",
}


def classify(environ):
    """'stats' | 'analytics' | None: which collection endpoint a request targets,
    judged from the URL only (the body is not read)."""
    if environ.get("REQUEST_METHOD", "GET") == "OPTIONS":
        return None
    path = (environ.get("PATH_INFO") or "").rstrip("/").lower()
    if path in _COLLECT_PATHS:
        return _COLLECT_PATHS[path]
    if path in ("/api_v3/index.php", "/api_v3"):
        from urllib.parse import parse_qs

        qs = parse_qs(environ.get("QUERY_STRING", ""))
        service = (qs.get("service") or [""])[0].lower()
        action = (qs.get("action") or [""])[0].lower()
        if (service == "stats" and action == "collect") or service == "multirequest":
            return "stats"
        if service == "analytics" and action == "trackevent":
            return "analytics"
    return None


def drop_connection(environ) -> None:
    """Kill the client connection: no HTTP answer reaches the client."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class ConnectionDropped(ConnectionAbortedError):
    """Raised after a deliberate drop; Werkzeug treats it as a dropped connection."""


class FaultMiddleware:
    def __init__(self, wsgi_app, state: CollectorState):
        self.wsgi_app = wsgi_app
        self.state = state

    def __call__(self, environ, start_response):
        kind = classify(environ)
        if kind is None:
            return self.wsgi_app(environ, start_response)
        decision = self.state.faults.decide()
        if decision.delay_ms:
            time.sleep(decision.delay_ms / 1000.0)
        action = decision.action
        if action == "status":
            from werkzeug.wrappers import Request, Response

            body = json.dumps({"code": "INJECTED_FAULT", "message": f"injected HTTP {decision.status}",
                               "objectType": "KalturaAPIException", "args": {}})
            resp = Response(body, decision.status, mimetype="application/json")
            add_cors_headers(Request(environ), resp)
            log.info("fault: %s answered HTTP %s", kind, decision.status)
            return resp(environ, start_response)
        if action == "drop_before_body":
            log.info("fault: %s connection dropped before reading the body", kind)
            drop_connection(environ)
            raise ConnectionDropped("injected drop before body")
        if action == "invalid_ks":
            environ["kaltura_web.fault"] = "invalid_ks"
            return self.wsgi_app(environ, start_response)
        if action == "drop_after_body":
            result = self.wsgi_app(environ, lambda *a, **k: (lambda data: None))
            try:
                for _ in result:
                    pass
            finally:
                if hasattr(result, "close"):
                    result.close()
            log.info("fault: %s processed, then connection dropped before the answer", kind)
            drop_connection(environ)
            raise ConnectionDropped("injected drop after body")
        return self.wsgi_app(environ, start_response)


# ---------------------------------------------------------------- the app


def create_app(config=None):
    from flask import Flask, abort, g, jsonify, redirect, request, send_file

    cfg = CollectorConfig.coerce(config)
    state = CollectorState(cfg)
    app = Flask("kaltura_web.collector")
    app.extensions["kaltura_collector"] = state
    app.json = strict_json_provider(app)
    app.config["MAX_CONTENT_LENGTH"] = cfg.body_limit
    app.wsgi_app = FaultMiddleware(app.wsgi_app, state)

    @app.before_request
    def _start_clock():
        g.started = time.perf_counter()

    @app.before_request
    def _guard_dev_routes():
        path = request.path
        if not cfg.dev_routes and (path == "/" or path.startswith(("/dashboard/", DEV_PREFIX))):
            abort(404)
        if path.startswith(DEV_PREFIX):
            reason = dev_refusal(request, cfg.allow_remote_dev)
            if reason:
                log.warning("refused %s %s: %s", request.method, path, reason)
                return jsonify({"error": reason}), 403
        return None

    @app.after_request
    def _cors(response):
        return add_cors_headers(request, response)

    # ---- Kaltura API v3

    def check_ks(params):
        """KSInfo for a present ks param, None when absent; raises INVALID_KS."""
        ks_string = params.get("ks")
        if not present(ks_string):
            return None
        try:
            return ksmod.parse_ks(str(ks_string), cfg.secrets_by_partner)
        except ksmod.KSError as err:
            raise invalid_ks(ks_string, err) from None

    def session_start(params, nested):
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
        expiry = 86400
        if present(params.get("expiry")):
            expiry = read_int(params["expiry"], "expiry", -INT32_MAX - 1, INT32_MAX)
            if expiry <= 0:
                expiry = 86400
        ks_string = state.issue_ks(str(params.get("userId") or ""), ks_type, expiry,
                                   params.get("privileges") or "")
        log.info("session.start partner=%s ks=%s", partner, ksmod.mask_ks(ks_string))
        return ks_string

    def stats_collect(params, nested):
        ks_string = params.get("ks")
        if request.environ.get("kaltura_web.fault") == "invalid_ks":
            raise invalid_ks(ks_string, ksmod.KSInvalid("injected"))
        info = check_ks(params)
        event = dict(nested.get("event") or {})
        if not event:
            raise missing_parameter("event")
        typed = read_stats_event(event)
        for name in STATS_REQUIRED_FIELDS:
            if name not in typed and not present(event.get(name)):
                raise missing_parameter(f"event:{name}")
        event_type = event["eventType"] = typed["eventType"]
        seq, dup = state.store.insert(
            service="stats", fields=event, partner_id=typed["partnerId"],
            entry_id=str(event["entryId"]), event_type=event_type,
            session_id=str(event["sessionId"]), event_timestamp=typed["eventTimestamp"],
            user_id=info.user_id if info else None, app_id=info.app_id if info else None,
            ks_type=info.ks_type if info else None,
            ks_masked=ksmod.mask_ks(ks_string) if info else None,
            beacon_id=str(event["beaconId"]) if present(event.get("beaconId")) else None)
        log.info("stats.collect seq=%s type=%s%s", seq, event_type, " (duplicate)" if dup else "")
        return None

    def track_event(params, nested):
        """analytics.trackEvent: its answer, or an ApiError carrying the HTTP
        status the analytics server gives (400 bad input, 401 bad KS)."""
        ks_string = params.get("ks")
        if request.environ.get("kaltura_web.fault") == "invalid_ks":
            raise ApiError("INVALID_KS", "Invalid KS (injected fault)", status=401)
        for name in ("eventType", "partnerId"):
            if not present(params.get(name)):
                raise missing_parameter(name)
        event_type = read_int(params["eventType"], "eventType", 1, INT32_MAX)
        partner = read_int(params["partnerId"], "partnerId", 1, INT32_MAX)
        timestamp = None
        if present(params.get("eventTimestamp")):
            timestamp = read_float(params["eventTimestamp"], "eventTimestamp", 0, MAX_TIMESTAMP)
        info = check_ks(params)
        fields = {k: v for k, v in params.items() if k not in ("ks", "service", "action")}
        for obj, values in nested.items():
            for k, v in values.items():
                fields[f"{obj}:{k}"] = v
        fields["eventType"], fields["partnerId"] = event_type, partner
        seq, dup = state.store.insert(
            service="analytics", fields=fields, partner_id=partner,
            entry_id=str(params["entryId"]) if present(params.get("entryId")) else None,
            event_type=event_type,
            session_id=str(params["sessionId"]) if present(params.get("sessionId")) else None,
            event_timestamp=timestamp,
            user_id=info.user_id if info else None, app_id=info.app_id if info else None,
            ks_type=info.ks_type if info else None,
            ks_masked=ksmod.mask_ks(ks_string) if info else None,
            beacon_id=str(params["beaconId"]) if present(params.get("beaconId")) else None)
        log.info("analytics.trackEvent seq=%s type=%s%s", seq, event_type, " (duplicate)" if dup else "")
        return {"time": time.time(), "viewEventsEnabled": True}

    def require_ks(params):
        """KSInfo of a mandatory ks param: MISSING_KS when absent, INVALID_KS when bad."""
        if not present(params.get("ks")):
            raise ApiError("MISSING_KS", "Missing KS, session not established")
        return check_ks(params)

    def report_request(params, nested):
        """(report type, EventFilter, delimiter) of a report.* call."""
        info = require_ks(params)
        raw_type = params.get("reportType")
        if not present(raw_type):
            raise missing_parameter("reportType")
        report_type = read_enum(raw_type, "reportType", "KalturaReportType",
                                range(INT64_MIN, INT64_MAX + 1))
        if report_type not in reports.REPORTS:
            supported = ", ".join(f"{k} {v}" for k, v in reports.REPORT_NAMES.items())
            raise ApiError("REPORT_NOT_SUPPORTED",
                           f"Report type {report_type} is not computed by this collector "
                           f"(supported: {supported})", {"REPORT_TYPE": report_type})
        flt_params = nested.get("reportInputFilter")
        if not flt_params:
            raise missing_parameter("reportInputFilter")
        flt = report_filter(flt_params, info)
        object_ids = params.get("objectIds")
        if present(object_ids):
            ids = reports._as_set(str(object_ids))
            if report_type == reports.USER_TOP_CONTENT:
                flt.user_ids = ids if flt.user_ids is None else flt.user_ids & ids
            elif report_type == reports.APPLICATIONS:
                flt.apps = ids if flt.apps is None else flt.apps & ids
            else:
                flt.entry_ids = ids if flt.entry_ids is None else flt.entry_ids & ids
        options = nested.get("responseOptions") or {}
        delimiter = str(options.get("delimiter") or ",")
        return report_type, flt, delimiter

    def report_filter(values, info) -> reports.EventFilter:
        def day(value, end):
            text = str(value).strip()
            if not re.fullmatch(r"[0-9]{8}", text):
                raise ApiError("INVALID_DAY", f'Invalid day "{text[:100]}", expecting YYYYMMDD',
                               {"DAY": text[:100]})
            start = calendar.timegm((int(text[:4]), int(text[4:6]), int(text[6:]), 0, 0, 0))
            return start + 86399 if end else start

        def date(name):
            if not present(values.get(name)):
                return None
            return read_float(values[name], f"reportInputFilter:{name}", -MAX_TIMESTAMP, MAX_TIMESTAMP)

        from_date, to_date = date("fromDate"), date("toDate")
        if from_date is None and present(values.get("fromDay")):
            from_date = day(values["fromDay"], False)
        if to_date is None and present(values.get("toDay")):
            to_date = day(values["toDay"], True)
        def ids(name):
            return str(values[name]) if present(values.get(name)) else None

        return reports.EventFilter(from_date=from_date, to_date=to_date, entry_ids=ids("entryIdIn"),
                                   user_ids=ids("userIds"), apps=ids("application"),
                                   scope_app=info.app_id)

    def pager_value(pager, name, default):
        """pager[pageSize] / pager[pageIndex]: an int32; zero or less means the default."""
        if not present(pager.get(name)):
            return default
        number = read_int(pager[name], f"pager:{name}", -INT32_MAX - 1, INT32_MAX)
        return number if number > 0 else default

    def report_get_table(params, nested):
        report_type, flt, delimiter = report_request(params, nested)
        pager = nested.get("pager") or {}
        table = reports.report_table(report_type, state.store.events(), flt,
                                     page_size=pager_value(pager, "pageSize", 30),
                                     page_index=pager_value(pager, "pageIndex", 1),
                                     order=str(params.get("order") or ""), delimiter=delimiter)
        return {"objectType": "KalturaReportTable", "header": table.header, "data": table.data,
                "totalCount": table.total_count}

    def report_get_total(params, nested):
        report_type, flt, delimiter = report_request(params, nested)
        total = reports.report_total(report_type, state.store.events(), flt, delimiter=delimiter)
        return {"objectType": "KalturaReportTotal", "header": total.header, "data": total.data}

    handlers = {("session", "start"): session_start, ("stats", "collect"): stats_collect,
                ("report", "gettable"): report_get_table,
                ("report", "gettotal"): report_get_total}

    def run_call(index, params, nested):
        """One call of a multirequest: its result, or the error in its place."""
        service = str(params.get("service")).lower()
        action = str(params.get("action")).lower()
        try:
            handler = handlers.get((service, action))
            if handler is None:
                raise no_such_service(service, action)
            check_text(params, nested)
            with state.store.savepoint():
                return handler(params, nested)
        except ApiError as err:
            return err
        except Exception:  # a bug in one call must not take the others with it
            log.exception("multirequest call %d (%s.%s) failed", index, service, action)
            return internal_error()

    def multirequest(params, nested):
        """Kaltura's multirequest (see ``params.split_calls``): each call runs
        on its own, in order (a savepoint each, so a failing call undoes only
        its own writes; one commit before the answer).  Answers the list of
        results, an exception object in place of each call that failed."""
        common, calls = split_calls(params, nested)
        check_text(common)
        with state.store.transaction():
            results = [run_call(index, p, n) for index, p, n in calls]
        log.info("multirequest: %d call(s)", len(results))
        return results

    def dispatch(service, action):
        params, nested = request_params(request)
        service = str(service or params.get("service") or "").lower()
        action = str(action or params.get("action") or "").lower()
        fmt = str(params.get("format")).strip() if present(params.get("format")) else FORMAT_XML
        callback = params.get("callback")
        if service == "analytics" and action == "trackevent":
            try:
                check_text(params, nested)
                result = track_event(params, nested)
            except ApiError as err:
                log.info("analytics.trackEvent -> %s %s", err.status, err.code)
                return json_error(err)
            fmt = fmt if present(params.get("format")) else FORMAT_JSON
            return kaltura_response(result, fmt, g.started, callback=callback)
        if service == "multirequest":
            handler = multirequest
        else:
            handler = handlers.get((service, action))
        if handler is None:
            return kaltura_response(no_such_service(service, action), fmt, g.started, status=404)
        try:
            if handler is not multirequest:
                check_text(params, nested)
            result = handler(params, nested)
        except ApiError as err:
            result = err
            log.info("%s.%s -> %s", service, action, err.code)
        return kaltura_response(result, fmt, g.started, callback=callback)

    @app.route("/api_v3/service/<service>/action/<action>", methods=["GET", "POST"])
    @app.route("/api_v3/index.php/service/<service>/action/<action>", methods=["GET", "POST"])
    def api_path(service, action):
        return dispatch(service, action)

    @app.route("/api_v3/service/multirequest", methods=["POST"])
    @app.route("/api_v3/index.php/service/multirequest", methods=["POST"])
    def api_multirequest():
        return dispatch("multirequest", "")

    @app.route("/api_v3/index.php", methods=["GET", "POST"])
    @app.route("/api_v3/", methods=["GET", "POST"])
    def api_index():
        return dispatch(None, None)

    @app.errorhandler(404)
    def not_found(_err):
        if request.path.startswith("/api_v3"):
            return json_error(ApiError("NOT_FOUND", "no such API path"), 404)
        return jsonify({"error": "not found"}), 404

    @app.errorhandler(405)
    def not_allowed(_err):
        return jsonify({"error": "method not allowed"}), 405

    @app.errorhandler(413)
    def too_large(_err):
        log.info("%s %s: body over %d bytes refused", request.method, request.path, cfg.body_limit)
        return json_error(ApiError("REQUEST_ENTITY_TOO_LARGE",
                                   f"The request body is larger than {cfg.body_limit} bytes",
                                   {"MAX_BYTES": cfg.body_limit}), 413)

    @app.errorhandler(Exception)
    def internal(err):
        from werkzeug.exceptions import HTTPException

        if isinstance(err, HTTPException):
            return err
        log.exception("unexpected error on %s", request.path)
        return json_error(internal_error(), 500)

    # ---- development API (same-origin only: see _guard_dev_routes)

    def bad_dev_request(message):
        return jsonify({"error": message}), 400

    @app.get("/dev/ks")
    def dev_ks():
        """A USER KS (type 0) for demo pages: 1 hour unless ``expiry`` asks
        for less or more (at most DEV_KS_MAX_EXPIRY)."""
        if not cfg.dev_ks:
            abort(404)
        args = request.args
        user_id, app_id = args.get("userId", ""), args.get("appId", "")
        if not (xml_valid(user_id) and xml_valid(app_id)):
            return bad_dev_request("userId and appId must be text without control characters")
        expiry = DEV_KS_EXPIRY
        if present(args.get("expiry")):
            try:
                expiry = min(parse_int(args["expiry"], 1, INT64_MAX), DEV_KS_MAX_EXPIRY)
            except ValueError:
                return bad_dev_request("expiry must be a whole number of seconds, at least 1")
        ks_string = state.issue_ks(user_id, 0, expiry, {"appId": app_id} if app_id else {})
        return jsonify({"ks": ks_string, "partnerId": cfg.partner_id, "expiry": int(time.time()) + expiry})

    @app.get("/dev/info")
    def dev_info():
        base = request.host_url.rstrip("/")
        return jsonify({"partnerId": cfg.partner_id, "serviceUrl": base + "/api_v3",
                        "analyticsUrl": base, "devKs": bool(cfg.dev_ks),
                        "events": state.store.count(), "faults": state.faults.snapshot()})

    @app.get("/dev/events")
    def dev_events():
        a = request.args
        try:
            numbers = {name: parse_int(a[key], INT64_MIN, INT64_MAX) if present(a.get(key)) else None
                       for name, key in (("event_type", "eventType"), ("since_seq", "since"))}
        except ValueError:
            return bad_dev_request("eventType and since must be integers")
        events = state.store.events(
            session_id=a.get("sessionId"), service=a.get("service"), entry_id=a.get("entryId"),
            user_id=a.get("userId"), app_id=a.get("appId"), **numbers)
        return jsonify({"events": events, "count": len(events)})

    @app.get("/dev/sessions")
    def dev_sessions():
        return jsonify({"sessions": state.store.sessions()})

    @app.post("/dev/reset")
    def dev_reset():
        state.reset()
        return jsonify({"ok": True})

    @app.get("/dev/verify")
    def dev_verify():
        findings = [f.as_dict() for f in lint(state.store.events())]
        return jsonify({"ok": not findings, "findings": findings})

    @app.route("/dev/faults", methods=["GET", "POST", "DELETE"])
    def dev_faults():
        if request.method == "POST":
            spec = request.get_json(silent=True)
            specs = spec if isinstance(spec, list) else [spec]
            try:
                for s in specs:
                    state.faults.add(s)
            except FaultSpecError as err:
                return bad_dev_request(str(err))
        elif request.method == "DELETE":
            state.faults.clear()
        return jsonify(state.faults.snapshot())

    # ---- dashboard (/, /dashboard/<file>, /dev/stream, /dev/summary, /dev/catalog)

    from .dashboard import register as register_dashboard

    register_dashboard(app, state)

    # ---- static files

    @app.get("/web/")
    @app.get("/web/<path:filename>")
    def web(filename="index.html"):
        from werkzeug.security import safe_join

        if state.web_root is None:
            abort(404)
        target = safe_join(str(state.web_root), filename)
        if target is None:
            abort(404)
        target = Path(target)
        if target.is_dir():
            if not request.path.endswith("/"):
                return redirect(request.path + "/")
            target = target / "index.html"
        if not target.is_file():
            abort(404)
        mimetype = MIME_TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0] \
            or "application/octet-stream"
        response = send_file(target, mimetype=mimetype, conditional=True, etag=True, max_age=0)
        response.headers["Accept-Ranges"] = "bytes"
        return response

    return app
