"""HTTP transport on urllib (TLS verified, timeouts).

``send(request)`` returns ``(status, body)``; ``status`` is None when no
answer came (connection refused or dropped, timeout, DNS).  It also works
inside Pyodide under ``pyodide_http.patch_all()``, whose urllib shim ignores
positional ``data``/``timeout``, answers 5xx without raising HTTPError and
raises JsException offline: data goes on the Request object, statuses are
read from whatever comes back, and any exception counts as no answer.
"""

import ssl
import urllib.error
import urllib.request

DEFAULT_TIMEOUT = 10.0


class UrllibTransport:
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
                body = resp.read().decode("utf-8", "replace")
                return int(status), body
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read().decode("utf-8", "replace")
            except Exception:
                body = ""
            return exc.code, body
        except Exception:  # URLError, timeout, reset, JsException under pyodide-http
            return None, ""
