"""Run the collector on Werkzeug's threaded server, in the foreground (``run``) or
in a background thread (``CollectorServer``, used by the pytest plugin)."""

from __future__ import annotations

import logging
import math
import re
import threading
from urllib.parse import unquote

from .ks import mask_ks
from .security import check_exposure

_KS_IN_TEXT = re.compile(r"((?:^|[?&\s\"])ks=)([^&\s\"]+)")


def mask_ks_in_text(text: str) -> str:
    """Replace every ``ks=<value>`` in a log line with its masked form."""
    return _KS_IN_TEXT.sub(lambda m: m.group(1) + mask_ks(unquote(m.group(2))), text)


def _handler_class(quiet: bool, read_timeout: float):
    from werkzeug.serving import WSGIRequestHandler

    class MaskingRequestHandler(WSGIRequestHandler):
        """Werkzeug's handler, with any KS in the request line masked in the log.

        ``timeout`` is the socket timeout of each connection: a client that
        sends nothing for that long (a stalled upload, a half-sent request
        line) loses its connection, so it cannot hold a thread for ever."""

        protocol_version = "HTTP/1.1"
        timeout = read_timeout

        def log(self, type, message, *args):  # noqa: A002 - Werkzeug's signature
            if quiet and type == "info":
                return
            try:
                text = message % args if args else message
            except (TypeError, ValueError):
                text = message
            super().log(type, "%s", mask_ks_in_text(text))

    return MaskingRequestHandler


DEFAULT_READ_TIMEOUT = 10.0  # seconds a connection may stay silent


class CollectorServer:
    """The collector in a background thread.

    ``CollectorServer(db=":memory:", partner_id=100, admin_secret=DEFAULT_ADMIN_SECRET,
    host="127.0.0.1", port=0, web_root="auto", dev_ks=True, faults=None, quiet=True,
    body_limit=1 MiB, read_timeout=10.0, dev_routes=True, allow_remote_dev=False)``;
    ``start()`` returns self once the port is bound (port 0: a free port is chosen;
    ``store.StoreError`` when the database file cannot be opened), ``stop()``
    shuts it down and closes the store.  Also a context manager.

    Raises TypeError for a ``read_timeout``/``body_limit`` that is not a
    number, ValueError for a non-positive or non-finite one, and ValueError
    for a non-loopback ``host`` while the development routes are on without
    ``allow_remote_dev`` (``security.check_exposure``).
    """

    def __init__(self, db=":memory:", partner_id=None, admin_secret=None, host="127.0.0.1",
                 port=0, web_root="auto", dev_ks=True, faults=None, quiet=True,
                 body_limit=None, read_timeout=DEFAULT_READ_TIMEOUT, dev_routes=True,
                 allow_remote_dev=False):
        from .config import DEFAULT_ADMIN_SECRET, DEFAULT_BODY_LIMIT, DEFAULT_PARTNER_ID, CollectorConfig

        if isinstance(read_timeout, bool) or not isinstance(read_timeout, (int, float)):
            raise TypeError(f"read_timeout must be a number of seconds, got {read_timeout!r}")
        if not math.isfinite(read_timeout) or read_timeout <= 0:
            raise ValueError(f"read_timeout must be a positive number of seconds, got {read_timeout!r}")
        check_exposure(host, dev_routes, allow_remote_dev)
        self.config = CollectorConfig(
            db=str(db), partner_id=int(partner_id if partner_id is not None else DEFAULT_PARTNER_ID),
            admin_secret=admin_secret or DEFAULT_ADMIN_SECRET, web_root=web_root,
            dev_ks=dev_ks, faults=list(faults or []),
            body_limit=DEFAULT_BODY_LIMIT if body_limit is None else body_limit,
            dev_routes=bool(dev_routes), allow_remote_dev=bool(allow_remote_dev))
        self.host = host
        self.requested_port = int(port)
        self.quiet = quiet
        self.read_timeout = float(read_timeout)
        self.app = None
        self._server = None
        self._thread = None

    # -- lifecycle
    def start(self) -> "CollectorServer":
        from werkzeug.serving import make_server

        from .app import create_app

        if self._server is not None:
            return self
        self.app = create_app(self.config)
        self._server = make_server(self.host, self.requested_port, self.app, threaded=True,
                                   request_handler=_handler_class(self.quiet, self.read_timeout))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="kaltura-collector", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.state.begin_shutdown()  # open /dev/stream responses end now
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.state.store.close()
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- addresses and state
    @property
    def port(self) -> int:
        return self._server.server_port if self._server else self.requested_port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def service_url(self) -> str:
        return self.base_url + "/api_v3"

    @property
    def analytics_url(self) -> str:
        return self.base_url

    @property
    def partner_id(self) -> int:
        return self.config.partner_id

    @property
    def state(self):
        return self.app.extensions["kaltura_collector"]

    @property
    def store(self):
        return self.state.store

    @property
    def faults(self):
        return self.state.faults


def run(host="127.0.0.1", port=8765, db="kaltura-web.db", partner_id=100, admin_secret=None,
        web_root=None, dev_ks=True, faults=None, quiet=False, banner=print, body_limit=None,
        read_timeout=DEFAULT_READ_TIMEOUT, dev_routes=True, allow_remote_dev=False) -> int:
    """Serve in the foreground until Ctrl-C.  ``web_root=None`` means the default
    (the repo's web/ directory when it exists).  Raises ValueError for the
    settings ``CollectorServer`` refuses (before anything is bound)."""
    server = CollectorServer(db=db, partner_id=partner_id, admin_secret=admin_secret, host=host,
                             port=port, web_root=web_root or "auto", dev_ks=dev_ks, faults=faults,
                             quiet=quiet, body_limit=body_limit, read_timeout=read_timeout,
                             dev_routes=dev_routes, allow_remote_dev=allow_remote_dev)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server.start()
    if banner:
        cfg = server.config
        state = server.state
        banner("kaltura-web local collector (local defaults, not for production)")
        banner(f"  service URL   : {server.service_url}   (stats.collect, session.start)")
        banner(f"  analytics URL : {server.analytics_url}   (analytics.trackEvent)")
        banner(f"  partner id    : {cfg.partner_id}")
        banner(f"  admin secret  : {cfg.admin_secret}   (local only; never sent to browsers)")
        banner(f"  database      : {cfg.db}")
        banner(f"  web root      : {state.web_root or '(none)'} -> {server.base_url}/web/")
        dev = cfg.dev_routes
        banner(f"  dev routes    : {server.base_url + '/dev/*, dashboard at /' if dev else 'off'}"
               + ("   (open to other machines: --allow-remote-dev)" if dev and cfg.allow_remote_dev else ""))
        banner(f"  dev KS route  : {server.base_url + '/dev/ks' if dev and cfg.dev_ks else 'off'}")
        banner(f"  limits        : body {cfg.body_limit} bytes, read timeout {server.read_timeout:g} s")
        if cfg.faults:
            banner(f"  faults        : {state.faults.rules()}")
    try:
        server._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
