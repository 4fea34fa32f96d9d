"""The Flask app of the local Kaltura-compatible collector.

``create_app(config)`` builds it.  ``config`` is a ``CollectorConfig`` or a
mapping with the same keys (db, partner_id, admin_secret, web_root, dev_ks,
faults).  The collector state (store, fault plan, config) is reachable as
``app.extensions["kaltura_collector"]``.
"""

from __future__ import annotations

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
from xml.sax.saxutils import escape

from ..core.catalog import MAX_STATS_TYPE, MIN_STATS_TYPE, STATS_REQUIRED_FIELDS
from . import ks as ksmod
from .faults import FaultPlan, FaultSpecError
from .linter import lint
from . import reports
from .store import Store

log = logging.getLogger("kaltura_web.collector")

DEFAULT_PARTNER_ID = 100
DEFAULT_ADMIN_SECRET = "local-dev-admin-secret-not-for-production"
DEFAULT_DB = "kaltura-web.db"

FORMAT_JSON, FORMAT_XML, FORMAT_JSONP = "1", "2", "9"

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


# ---------------------------------------------------------------- answers


class ApiError(Exception):
    """A KalturaAPIException, answered with HTTP 200 like the real server."""

    def __init__(self, code, message, args=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.args_dict = {k: "" if v is None else str(v) for k, v in (args or {}).items()}

    def as_json(self) -> dict:
        return {"code": self.code, "message": self.message,
                "objectType": "KalturaAPIException", "args": self.args_dict}


def missing_parameter(name):
    return ApiError("MISSING_MANDATORY_PARAMETER", f'Missing parameter "{name}"', {"PARAM_NAME": name})


def invalid_enum(value, param, enum_type):
    return ApiError("INVALID_ENUM_VALUE",
                    f'Invalid enumeration value, "{value}" for parameter "{param}", '
                    f'expecting enumeration type of "{enum_type}"',
                    {"ENUM_VAL": value, "PARAM_NAME": param, "ENUM_TYPE": enum_type})


def invalid_ks(ks_string, err: ksmod.KSError):
    ksid = ksmod.mask_ks(ks_string)
    return ApiError("INVALID_KS", f'Invalid KS "{ksid}", Error "{err.code},{err.name}"',
                    {"KSID": ksid, "ERR_CODE": str(err.code), "ERR_DESC": err.name})


def _xml_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, ApiError):
        args = "".join(
            f"<item><objectType>KalturaApiExceptionArg</objectType><name>{escape(k)}</name>"
            f"<value>{escape(v)}</value></item>" for k, v in value.args_dict.items())
        return (f"<error><objectType>KalturaAPIException</objectType><code>{escape(value.code)}</code>"
                f"<message>{escape(value.message)}</message><args>{args}</args></error>")
    if isinstance(value, dict):
        return "".join(f"<{k}>{_xml_value(v)}</{k}>" for k, v in value.items()
                       if re.fullmatch(r"[A-Za-z_][\w.-]*", str(k)))
    if isinstance(value, (list, tuple)):
        return "".join(f"<item>{_xml_value(v)}</item>" for v in value)
    return escape(str(value))


def kaltura_response(result, fmt, started, status=200, callback=None):
    from flask import Response

    if fmt == FORMAT_JSON or fmt == FORMAT_JSONP:
        body = json.dumps(result.as_json() if isinstance(result, ApiError) else result)
        if fmt == FORMAT_JSONP and callback and re.fullmatch(r"[\w.$]+", callback):
            return Response(f"{callback}({body});", status, mimetype="text/javascript")
        return Response(body, status, mimetype="application/json")
    elapsed = max(time.perf_counter() - started, 0.0)
    body = ('<?xml version="1.0" encoding="utf-8"?><xml><result>' + _xml_value(result)
            + f"</result><executionTime>{elapsed:.6f}</executionTime></xml>")
    return Response(body, status, mimetype="text/xml", content_type="text/xml; charset=utf-8")


# ---------------------------------------------------------------- request params

_BRACKET = re.compile(r"^([A-Za-z_]\w*)\[([^\]]*)\]$")
_COLON = re.compile(r"^([A-Za-z_]\w*):(.+)$")
_CALL_PARAM = re.compile(r"^(\d+):(.+)$")  # multirequest: "1:service", "1:event:eventType"


def _flatten_into(params: dict, nested: dict, source: dict) -> None:
    """Merge one source (body or query) into flat params and nested objects."""
    for key, value in source.items():
        key = str(key)
        if key.endswith("__null"):
            continue
        if isinstance(value, dict):
            nested.setdefault(key, {}).update(
                {str(k): v for k, v in value.items() if not str(k).endswith("__null")})
            continue
        m = _BRACKET.match(key) or _COLON.match(key)
        if m:
            nested.setdefault(m.group(1), {})[m.group(2)] = value
            continue
        params[key] = value


def request_params():
    """(flat params, nested objects) of the current request; URL params win."""
    from flask import request

    params, nested = {}, {}
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            _flatten_into(params, nested, body)
    else:
        try:
            _flatten_into(params, nested, request.form.to_dict())
        except Exception:  # malformed multipart and the like: treat as no body
            pass
    _flatten_into(params, nested, request.args.to_dict())
    return params, nested


def _int(value):
    try:
        if isinstance(value, bool):
            return int(value)
        return int(float(value)) if isinstance(value, str) and "." in value else int(value)
    except (TypeError, ValueError):
        return None


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _present(value) -> bool:
    return value is not None and str(value).strip() != ""


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


def add_cors_headers(request, response):
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
        response.headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS, DELETE"
        wanted = request.headers.get("Access-Control-Request-Headers")
        response.headers["Access-Control-Allow-Headers"] = wanted or "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


# ---------------------------------------------------------------- the app


def create_app(config=None):
    from flask import Flask, abort, g, jsonify, redirect, request, send_file

    cfg = CollectorConfig.coerce(config)
    state = CollectorState(cfg)
    app = Flask("kaltura_web.collector")
    app.extensions["kaltura_collector"] = state
    app.json.sort_keys = False
    app.wsgi_app = FaultMiddleware(app.wsgi_app, state)

    @app.before_request
    def _start_clock():
        g.started = time.perf_counter()

    @app.after_request
    def _cors(response):
        return add_cors_headers(request, response)

    # ---- Kaltura API v3

    def check_ks(params):
        """KSInfo for a present ks param, None when absent; raises KSError."""
        ks_string = params.get("ks")
        if not _present(ks_string):
            return None
        return ksmod.parse_ks(str(ks_string), cfg.secrets_by_partner)

    def session_start(params, nested):
        partner = _int(params.get("partnerId"))
        secret = str(params.get("secret") or "")
        ks_type = _int(params.get("type")) if _present(params.get("type")) else 0
        if (partner != int(cfg.partner_id)
                or not hmac.compare_digest(secret.encode(), cfg.admin_secret.encode())
                or ks_type not in (0, 2)):
            raise ApiError("START_SESSION_ERROR",
                           f"Error while starting session for partner [{params.get('partnerId', '')}]",
                           {"PARTNER_ID": params.get("partnerId", "")})
        expiry = _int(params.get("expiry")) if _present(params.get("expiry")) else 86400
        if not expiry or expiry <= 0:
            expiry = 86400
        ks_string = state.issue_ks(str(params.get("userId") or ""), ks_type, expiry,
                                   params.get("privileges") or "")
        log.info("session.start partner=%s user=%s ks=%s", partner, params.get("userId"),
                 ksmod.mask_ks(ks_string))
        return ks_string

    def stats_collect(params, nested):
        ks_string = params.get("ks")
        if request.environ.get("kaltura_web.fault") == "invalid_ks":
            raise invalid_ks(ks_string, ksmod.KSInvalid("injected"))
        try:
            info = check_ks(params)
        except ksmod.KSError as err:
            raise invalid_ks(ks_string, err)
        event = dict(nested.get("event") or {})
        if not event:
            raise missing_parameter("event")
        raw_type = event.get("eventType")
        if _present(raw_type):
            event_type = _int(raw_type)
            if event_type is None or not MIN_STATS_TYPE <= event_type <= MAX_STATS_TYPE:
                raise invalid_enum(raw_type, "eventType", "KalturaStatsEventType")
        for name in STATS_REQUIRED_FIELDS:
            if not _present(event.get(name)):
                raise missing_parameter(f"event:{name}")
        event_type = _int(raw_type)
        event["eventType"] = event_type
        seq, dup = state.store.insert(
            service="stats", fields=event, partner_id=_int(event.get("partnerId")),
            entry_id=str(event.get("entryId")), event_type=event_type,
            session_id=str(event.get("sessionId")),
            event_timestamp=_float(event.get("eventTimestamp")),
            user_id=info.user_id if info else None, app_id=info.app_id if info else None,
            ks_type=info.ks_type if info else None,
            ks_masked=ksmod.mask_ks(ks_string) if info else None,
            beacon_id=str(event["beaconId"]) if _present(event.get("beaconId")) else None)
        log.info("stats.collect seq=%s type=%s session=%s%s", seq, event_type,
                 event.get("sessionId"), " (duplicate)" if dup else "")
        return None

    def track_event(params, nested, fmt_given):
        from flask import Response

        def fail(status, code, message):
            return Response(json.dumps({"code": code, "message": message}), status,
                            mimetype="application/json")

        ks_string = params.get("ks")
        if request.environ.get("kaltura_web.fault") == "invalid_ks":
            return fail(401, "INVALID_KS", "Invalid KS (injected fault)")
        for name in ("eventType", "partnerId"):
            if not _present(params.get(name)):
                return fail(400, "MISSING_MANDATORY_PARAMETER", f'Missing parameter "{name}"')
        event_type = _int(params.get("eventType"))
        partner = _int(params.get("partnerId"))
        if event_type is None or partner is None:
            return fail(400, "INVALID_PARAMETER", "eventType and partnerId must be integers")
        try:
            info = check_ks(params)
        except ksmod.KSError as err:
            return fail(401, "INVALID_KS", f'Invalid KS "{ksmod.mask_ks(ks_string)}", Error "{err.code},{err.name}"')
        fields = {k: v for k, v in params.items() if k not in ("ks", "service", "action")}
        for obj, values in nested.items():
            for k, v in values.items():
                fields[f"{obj}:{k}"] = v
        fields["eventType"], fields["partnerId"] = event_type, partner
        seq, dup = state.store.insert(
            service="analytics", fields=fields, partner_id=partner,
            entry_id=str(params["entryId"]) if _present(params.get("entryId")) else None,
            event_type=event_type,
            session_id=str(params["sessionId"]) if _present(params.get("sessionId")) else None,
            event_timestamp=_float(params.get("eventTimestamp")),
            user_id=info.user_id if info else None, app_id=info.app_id if info else None,
            ks_type=info.ks_type if info else None,
            ks_masked=ksmod.mask_ks(ks_string) if info else None,
            beacon_id=str(params["beaconId"]) if _present(params.get("beaconId")) else None)
        log.info("analytics.trackEvent seq=%s type=%s%s", seq, event_type, " (duplicate)" if dup else "")
        result = {"time": time.time(), "viewEventsEnabled": True}
        fmt = str(params.get("format")) if fmt_given else FORMAT_JSON
        return kaltura_response(result, fmt, g.started, callback=params.get("callback"))

    def require_ks(params):
        """KSInfo of a mandatory ks param: MISSING_KS when absent, INVALID_KS when bad."""
        ks_string = params.get("ks")
        if not _present(ks_string):
            raise ApiError("MISSING_KS", "Missing KS, session not established")
        try:
            return check_ks(params)
        except ksmod.KSError as err:
            raise invalid_ks(ks_string, err)

    def report_request(params, nested):
        """(report type, EventFilter, delimiter) of a report.* call."""
        info = require_ks(params)
        raw_type = params.get("reportType")
        if not _present(raw_type):
            raise missing_parameter("reportType")
        report_type = _int(raw_type)
        if report_type is None:
            raise invalid_enum(raw_type, "reportType", "KalturaReportType")
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
        if _present(object_ids):
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
            if not re.fullmatch(r"\d{8}", text):
                raise ApiError("INVALID_DAY", f'Invalid day "{text}", expecting YYYYMMDD',
                               {"DAY": text})
            import calendar
            start = calendar.timegm((int(text[:4]), int(text[4:6]), int(text[6:]), 0, 0, 0))
            return start + 86399 if end else start

        from_date = _float(values.get("fromDate")) if _present(values.get("fromDate")) else None
        to_date = _float(values.get("toDate")) if _present(values.get("toDate")) else None
        if from_date is None and _present(values.get("fromDay")):
            from_date = day(values["fromDay"], False)
        if to_date is None and _present(values.get("toDay")):
            to_date = day(values["toDay"], True)
        return reports.EventFilter(
            from_date=from_date, to_date=to_date,
            entry_ids=values.get("entryIdIn") if _present(values.get("entryIdIn")) else None,
            user_ids=values.get("userIds") if _present(values.get("userIds")) else None,
            apps=values.get("application") if _present(values.get("application")) else None,
            scope_app=info.app_id)

    def report_get_table(params, nested):
        report_type, flt, delimiter = report_request(params, nested)
        pager = nested.get("pager") or {}
        page_size = _int(pager.get("pageSize")) if _present(pager.get("pageSize")) else 30
        page_index = _int(pager.get("pageIndex")) if _present(pager.get("pageIndex")) else 1
        table = reports.report_table(report_type, state.store.events(), flt,
                                     page_size=page_size or 30, page_index=page_index or 1,
                                     order=params.get("order"), delimiter=delimiter)
        return {"objectType": "KalturaReportTable", "header": table.header, "data": table.data,
                "totalCount": table.total_count}

    def report_get_total(params, nested):
        report_type, flt, delimiter = report_request(params, nested)
        total = reports.report_total(report_type, state.store.events(), flt, delimiter=delimiter)
        return {"objectType": "KalturaReportTotal", "header": total.header, "data": total.data}

    handlers = {("session", "start"): session_start, ("stats", "collect"): stats_collect,
                ("report", "gettable"): report_get_table,
                ("report", "gettotal"): report_get_total}

    def multirequest(params, nested):
        """Kaltura's multirequest: calls ``N:service``/``N:action`` with their own
        ``N:``-prefixed params (``N:event:x``, ``N:event[x]`` or a JSON object
        under ``"N"``), run in order in one transaction; top-level ks and
        partnerId apply to every call.  Answers the list of results, an
        exception object in place of each call that failed."""
        calls = {}
        for key, value in params.items():
            m = _CALL_PARAM.match(key)
            if m:
                calls.setdefault(int(m.group(1)), {})[m.group(2)] = value
        for key, value in nested.items():
            if key.isdigit() and isinstance(value, dict):
                calls.setdefault(int(key), {}).update(value)
        results = []
        with state.store.transaction():
            for number in sorted(calls):
                sub_params, sub_nested = {}, {}
                _flatten_into(sub_params, sub_nested, calls[number])
                for inherited in ("ks", "partnerId"):
                    if inherited in params and inherited not in sub_params:
                        sub_params[inherited] = params[inherited]
                key = (str(sub_params.get("service", "")).lower(),
                       str(sub_params.get("action", "")).lower())
                handler = handlers.get(key)
                try:
                    if handler is None:
                        raise ApiError("SERVICE_DOES_NOT_EXISTS",
                                       f'Service "{key[0]}" action "{key[1]}" does not exist here',
                                       {"SERVICE": key[0], "ACTION": key[1]})
                    results.append(handler(sub_params, sub_nested))
                except ApiError as err:
                    results.append(err.as_json())
        log.info("multirequest: %d call(s)", len(results))
        return results

    def dispatch(service, action):
        params, nested = request_params()
        service = str(service or params.get("service") or "").lower()
        action = str(action or params.get("action") or "").lower()
        fmt_given = _present(params.get("format"))
        fmt = str(params.get("format")).strip() if fmt_given else FORMAT_XML
        if service == "analytics" and action == "trackevent":
            return track_event(params, nested, fmt_given)
        if service == "multirequest":
            return kaltura_response(multirequest(params, nested), fmt, g.started)
        handler = handlers.get((service, action))
        if handler is None:
            return kaltura_response(
                ApiError("SERVICE_DOES_NOT_EXISTS", f'Service "{service}" action "{action}" does not exist here',
                         {"SERVICE": service, "ACTION": action}), fmt, g.started, status=404)
        try:
            result = handler(params, nested)
        except ApiError as err:
            result = err
            log.info("%s.%s -> %s", service, action, err.code)
        return kaltura_response(result, fmt, g.started, callback=params.get("callback"))

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
            return jsonify({"code": "NOT_FOUND", "message": "no such API path",
                            "objectType": "KalturaAPIException", "args": {}}), 404
        return jsonify({"error": "not found"}), 404

    @app.errorhandler(405)
    def not_allowed(_err):
        return jsonify({"error": "method not allowed"}), 405

    @app.errorhandler(Exception)
    def internal(err):
        from werkzeug.exceptions import HTTPException

        if isinstance(err, HTTPException):
            return err
        log.exception("unexpected error on %s", request.path)
        return jsonify({"code": "INTERNAL_SERVER_ERROR", "message": "internal error",
                        "objectType": "KalturaAPIException", "args": {}}), 500

    # ---- development API

    @app.get("/dev/ks")
    def dev_ks():
        if not cfg.dev_ks:
            abort(404)
        privileges = {}
        app_id = request.args.get("appId")
        if app_id:
            privileges["appId"] = app_id
        expiry = _int(request.args.get("expiry")) or 86400
        if expiry <= 0:
            expiry = 86400
        ks_string = state.issue_ks(request.args.get("userId", ""), 0, expiry, privileges)
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
            events = state.store.events(
                session_id=a.get("sessionId"), event_type=a.get("eventType"),
                service=a.get("service"), entry_id=a.get("entryId"), user_id=a.get("userId"),
                app_id=a.get("appId"), since_seq=a.get("since"))
        except ValueError:
            return jsonify({"error": "eventType and since must be integers"}), 400
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
                return jsonify({"error": str(err)}), 400
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
