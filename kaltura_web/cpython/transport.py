"""HTTP transport on urllib (TLS verified, timeouts).

``send(request)`` returns a ``Response`` (status, headers, body) for any
answer, 4xx and 5xx included, or a ``TransportError`` when none came:
``timeout``, ``tls`` (certificate or handshake) or ``network`` (refused,
reset, DNS).  It also works inside Pyodide under ``pyodide_http.patch_all()``,
whose urllib shim ignores positional ``data``/``timeout``, answers 5xx
without raising HTTPError and raises JsException offline: data goes on the
Request object, statuses are read from whatever comes back, and any other
exception counts as a network error.
"""

import socket
import ssl
import urllib.error
import urllib.request

from ..core.ports import NETWORK, TIMEOUT, TLS, Response, Transport, TransportError

DEFAULT_TIMEOUT = 10.0


def _headers(message):
    """The headers of an answer as a dict (a repeated header keeps its last value)."""
    if message is None:
        return {}
    try:
        return dict(message.items())
    except Exception:  # pyodide-http's shim may carry a plain mapping, or nothing usable
        return {}


def _read(source):
    try:
        return source.read().decode("utf-8", "replace")
    except Exception:
        return ""


def _failure(exc):
    """The TransportError for an exception raised while no answer came."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return TransportError(TIMEOUT, str(reason) or "timed out")
    if isinstance(reason, ssl.SSLError):
        return TransportError(TLS, str(reason))
    return TransportError(NETWORK, "%s: %s" % (type(reason).__name__, reason))


def _answer(status, headers, body):
    try:
        return Response(int(status), headers, body)
    except (TypeError, ValueError):  # not an HTTP status: nothing usable came back
        return TransportError(NETWORK, "answer without an HTTP status (%r)" % (status,))


class UrllibTransport(Transport):
    def __init__(self, timeout=DEFAULT_TIMEOUT, ssl_context=None):
        self.timeout = timeout
        self.ssl_context = ssl_context

    def _context(self, url):
        if not url.startswith("https:"):
            return None
        if self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        return self.ssl_context

    def send(self, request):
        req = urllib.request.Request(request.url, data=request.body.encode("utf-8"),
                                     headers=dict(request.headers), method=request.method)
        try:
            context = self._context(request.url)
            kwargs = {"timeout": self.timeout}
            if context is not None:
                kwargs["context"] = context
            with urllib.request.urlopen(req, **kwargs) as resp:
                status = getattr(resp, "status", None) or resp.getcode()
                return _answer(status, _headers(getattr(resp, "headers", None)), _read(resp))
        except urllib.error.HTTPError as exc:
            return _answer(exc.code, _headers(exc.headers), _read(exc))
        except Exception as exc:  # URLError, timeout, reset, JsException under pyodide-http
            return _failure(exc)
