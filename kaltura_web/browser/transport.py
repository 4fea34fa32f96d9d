"""HTTP with the page's ``fetch``: form-encoded POST, CORS mode (so error
bodies can be read).  ``send`` answers ``(status, body)``; a rejected fetch
(offline, connection dropped, CORS failure) is ``(None, "")``: no answer."""

from . import _ffi

KEEPALIVE_BUDGET = 64 * 1024  # browsers refuse more keepalive body bytes in flight


class FetchTransport:
    def __init__(self, fetch=None):
        self._fetch = fetch

    def _fetch_fn(self):
        return self._fetch if self._fetch is not None else _ffi.js.fetch

    def options(self, request, keepalive=False):
        opts = {"method": request.method, "mode": "cors", "credentials": "omit",
                "cache": "no-store", "headers": dict(request.headers), "body": request.body}
        if keepalive:
            opts["keepalive"] = True
        return opts

    async def send(self, request, keepalive=False):
        try:
            resp = await self._fetch_fn()(request.url, _ffi.to_js(self.options(request, keepalive)))
        except Exception:
            return None, ""
        status = int(resp.status)
        try:
            body = await resp.text()
        except Exception:
            body = ""
        return status, str(body)
