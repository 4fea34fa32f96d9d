"""The Flask app of the local Kaltura-compatible collector: ``create_app(config)``.

``config`` is a ``CollectorConfig`` or a mapping with the same keys (db,
partner_id, admin_secret, web_root, dev_ks, faults, body_limit, dev_routes,
allow_remote_dev).  The collector state (store, fault plan, config) is
reachable as ``app.extensions["kaltura_collector"]``.

The factory only assembles: the fault middleware (``wsgi_faults``), the CORS
headers (``security``), the routes by concern (``routes.api_v3``, ``routes.dev``,
``routes.static``) and the one error path: every failure is an
``answers.ApiError``, and whatever escapes a route (an ApiError, one of
werkzeug's HTTP errors, a bug) is answered by ``answers.http_error``.
"""

from __future__ import annotations

import logging
import time

from .answers import (ApiError, from_http_exception, http_error, internal_error, not_found,
                      too_large)
from .config import CollectorConfig, CollectorState
from .routes import api_v3, dev, static
from .security import add_cors_headers
from .values import json_safe
from .wsgi_faults import FaultMiddleware

log = logging.getLogger("kaltura_web.collector")


def strict_json_provider(app):
    """Flask's JSON provider, never writing NaN or Infinity (they become null)."""
    from flask.json.provider import DefaultJSONProvider

    class StrictJSONProvider(DefaultJSONProvider):
        sort_keys = False

        def dumps(self, obj, **kwargs):
            return super().dumps(json_safe(obj), allow_nan=False, **kwargs)

    return StrictJSONProvider(app)


def register_error_path(app, config) -> None:
    """Answer every failure that leaves a route as a JSON KalturaAPIException
    with its HTTP status (API v3 calls render their own errors, HTTP 200)."""
    from flask import request
    from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

    def api_error(err: ApiError):
        log.info("%s %s -> %s %s", request.method, request.path, err.status, err.code)
        return http_error(err)

    def http_exception(err: HTTPException):
        if err.code is None or err.code < 400:  # redirects are answers, not failures
            return err
        if isinstance(err, NotFound):
            return api_error(not_found("no such API path" if request.path.startswith("/api_v3")
                                       else "not found"))
        if isinstance(err, RequestEntityTooLarge):
            return api_error(too_large(config.body_limit))
        response = api_error(from_http_exception(err))
        if isinstance(err, MethodNotAllowed) and err.valid_methods:
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    def unexpected(err: Exception):
        log.exception("unexpected error on %s", request.path)
        return http_error(internal_error())

    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(HTTPException, http_exception)
    app.register_error_handler(Exception, unexpected)


def create_app(config=None):
    """The collector as a Flask app; raises ``store.StoreError`` when the
    database file cannot be opened."""
    from flask import Flask, g, request

    cfg = CollectorConfig.coerce(config)
    state = CollectorState(cfg)
    app = Flask("kaltura_web.collector", static_folder=None)
    app.extensions["kaltura_collector"] = state
    app.json = strict_json_provider(app)
    app.config["MAX_CONTENT_LENGTH"] = cfg.body_limit
    app.wsgi_app = FaultMiddleware(app.wsgi_app, state.faults)

    @app.before_request
    def _start_clock():
        g.started = time.perf_counter()

    @app.after_request
    def _cors(response):
        return add_cors_headers(request, response)

    register_error_path(app, cfg)
    for routes in (api_v3, dev, static):
        routes.register(app, state)
    return app
