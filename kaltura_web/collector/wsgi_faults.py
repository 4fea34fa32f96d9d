"""Fault injection applied at the WSGI layer, in front of the Flask app.

``FaultMiddleware`` asks the ``FaultPlan`` once per collection request
(stats.collect, multirequest, analytics.trackEvent, told apart by the URL alone:
the body is not read) and delays, answers an injected HTTP status (rendered by
``answers.http_error``), marks the request for an injected INVALID_KS, or drops
the TCP connection before or after the app has handled the request.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from urllib.parse import parse_qs

from .answers import http_error, injected_fault
from .security import add_cors_headers

log = logging.getLogger("kaltura_web.collector")

INVALID_KS_FAULT = "kaltura_web.fault"  # WSGI environ key set for an injected INVALID_KS

_COLLECT_PATHS = {
    "/api_v3/service/multirequest": "stats",
    "/api_v3/index.php/service/multirequest": "stats",
    "/api_v3/service/stats/action/collect": "stats",
    "/api_v3/service/analytics/action/trackevent": "analytics",
    "/api_v3/index.php/service/stats/action/collect": "stats",
    "/api_v3/index.php/service/analytics/action/trackevent": "analytics",
}


def collection_endpoint(environ):
    """'stats' | 'analytics' | None: which collection endpoint a request targets,
    judged from the URL only (the body is not read)."""
    if environ.get("REQUEST_METHOD", "GET") == "OPTIONS":
        return None
    path = (environ.get("PATH_INFO") or "").rstrip("/").lower()
    if path in _COLLECT_PATHS:
        return _COLLECT_PATHS[path]
    if path in ("/api_v3/index.php", "/api_v3"):
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        service = (qs.get("service") or [""])[0].lower()
        action = (qs.get("action") or [""])[0].lower()
        if (service == "stats" and action == "collect") or service == "multirequest":
            return "stats"
        if service == "analytics" and action == "trackevent":
            return "analytics"
    return None


def injected_invalid_ks(environ) -> bool:
    """True when a fault rule asked this request to fail with INVALID_KS."""
    return environ.get(INVALID_KS_FAULT) == "invalid_ks"


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
    def __init__(self, wsgi_app, faults):
        self.wsgi_app = wsgi_app
        self.faults = faults

    def __call__(self, environ, start_response):
        kind = collection_endpoint(environ)
        if kind is None:
            return self.wsgi_app(environ, start_response)
        decision = self.faults.decide()
        if decision.delay_ms:
            time.sleep(decision.delay_ms / 1000.0)
        action = decision.action
        if action == "status":
            from werkzeug.wrappers import Request

            response = add_cors_headers(Request(environ), http_error(injected_fault(decision.status)))
            log.info("fault: %s answered HTTP %s", kind, decision.status)
            return response(environ, start_response)
        if action == "drop_before_body":
            log.info("fault: %s connection dropped before reading the body", kind)
            drop_connection(environ)
            raise ConnectionDropped("injected drop before body")
        if action == "invalid_ks":
            environ[INVALID_KS_FAULT] = "invalid_ks"
        elif action == "drop_after_body":
            self._run_then_drop(environ)
            log.info("fault: %s processed, then connection dropped before the answer", kind)
            raise ConnectionDropped("injected drop after body")
        return self.wsgi_app(environ, start_response)

    def _run_then_drop(self, environ) -> None:
        """Let the app handle the request in full, then drop the connection unanswered."""
        result = self.wsgi_app(environ, lambda *a, **k: (lambda data: None))
        try:
            for _ in result:
                pass
        finally:
            if hasattr(result, "close"):
                result.close()
        drop_connection(environ)
