"""kaltura_web in the browser (Pyodide, PyScript ``type="py"`` and ``type="mpy"``).

The only part of kaltura_web that touches ``js``/``pyodide``; the bridge to
the page is split by concern: ``_runtime`` (which Python this is, decided at
import), ``_convert`` (values crossing), ``_proxies`` (callables handed to JS
and their owners), ``_timers`` (timers and tasks), ``_env`` (window, document,
storage, clock) and ``_guard`` (the one door from JS into Python).  Importing
this package on plain CPython works (nothing here runs until called);
``IN_BROWSER`` tells whether a page is there.

    from kaltura_web.browser import start, attach
    kw = await start({"partnerId": 100, "ksUrl": "/dev/ks?userId=ann"})
    handle = attach(document.querySelector("video"), "1_abcd")   # -> Attachment
    handle.player.share(); handle.detach()
"""

from ._proxies import live_proxies
from ._runtime import IN_BROWSER, IN_PYODIDE
from .driver import AsyncSender
from .media import Attachment
from .page import (DIAGNOSTIC_EVENT, ERROR_EVENT, EVENT_EVENT, READY_EVENT, KalturaWeb, attach, create_tracker,
                   current, read_config, start)
from .storage import LocalStorageStore
from .transport import FetchTransport

__all__ = ["DIAGNOSTIC_EVENT", "ERROR_EVENT", "IN_BROWSER", "IN_PYODIDE", "AsyncSender", "Attachment", "EVENT_EVENT",
           "FetchTransport", "KalturaWeb", "LocalStorageStore", "READY_EVENT", "attach", "create_tracker", "current",
           "live_proxies", "read_config", "start"]
