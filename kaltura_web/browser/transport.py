"""HTTP with the page's ``fetch``: form-encoded POST, CORS mode (so error
bodies can be read).  ``send`` answers a ``Response`` (status, the headers
CORS lets the page read, body); a rejected fetch (offline, connection
dropped, CORS failure) is a ``TransportError``: ``timeout`` for an aborted or
timed-out fetch, ``network`` otherwise."""

from ..core.ports import NETWORK, TIMEOUT, Response, Transport, TransportError
from ._convert import to_js
from ._runtime import js


def _failure(exc):
    """The TransportError for a rejected fetch."""
    text = "%s %s" % (getattr(exc, "name", ""), exc)
    kind = TIMEOUT if "AbortError" in text or "TimeoutError" in text else NETWORK
    return TransportError(kind, str(exc)[:200])


def _headers(resp):
    """The answer's readable headers, names in lower case ({} if they cannot be read)."""
    out = {}
    try:
        pairs = getattr(js.Array, "from")(resp.headers.entries())
        for i in range(int(pairs.length)):
            out[str(pairs[i][0]).lower()] = str(pairs[i][1])
    except Exception:  # a fake fetch without Headers: the status and body still count
        pass
    return out


class FetchTransport(Transport):
    def __init__(self, fetch=None):
        self._fetch = fetch

    def _fetch_fn(self):
        return self._fetch if self._fetch is not None else js.fetch

    def options(self, request, keepalive=False):
        opts = {"method": request.method, "mode": "cors", "credentials": "omit",
                "cache": "no-store", "headers": dict(request.headers), "body": request.body}
        if keepalive:
            opts["keepalive"] = True
        return opts

    async def send(self, request, keepalive=False):
        try:
            resp = await self._fetch_fn()(request.url, to_js(self.options(request, keepalive)))
        except Exception as exc:
            return _failure(exc)
        status = int(resp.status)
        if not 100 <= status <= 599:  # an opaque answer: nothing can be read
            return TransportError(NETWORK, "opaque answer (status %d)" % status)
        try:
            body = str(await resp.text())
        except Exception:
            body = ""
        return Response(status, _headers(resp), body)
