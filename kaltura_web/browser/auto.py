"""``import kaltura_web.browser.auto`` in a page's ``<script type="py">``:
starts the SDK from the page's configuration and instruments its
``data-kaltura-*`` elements.  Errors go to the console, never to the page."""

from . import _ffi
from .page import start


async def _run():
    try:
        await start()
    except Exception as exc:
        _ffi.js.console.error("kaltura_web: could not start: %r" % (exc,))
        _ffi.dispatch(_ffi.js.window, "kaltura-web:error", {"error": repr(exc)})


if _ffi.IN_BROWSER:
    started = _ffi.spawn(_run())
