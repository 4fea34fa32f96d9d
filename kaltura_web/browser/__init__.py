"""kaltura_web in the browser (Pyodide, PyScript ``type="py"`` and ``type="mpy"``).

The only part of kaltura_web that touches ``js``/``pyodide``, and only
through ``_ffi``.  Importing this package on plain CPython works (nothing
here runs until called); ``IN_BROWSER`` tells whether a page is there.

    from kaltura_web.browser import start, attach
    kw = await start({"partnerId": 100, "ksUrl": "/dev/ks?userId=ann"})
    handle = attach(document.querySelector("video"), "1_abcd")   # -> Attachment
    handle.player.share(); handle.detach()
"""

from ._ffi import IN_BROWSER, IN_PYODIDE, live_proxies
from .driver import AsyncSender
from .media import Attachment, attach
from .page import DIAGNOSTIC_EVENT, READY_EVENT, EVENT_EVENT, KalturaWeb, create_tracker, current, read_config, start
from .storage import LocalStorageStore
from .transport import FetchTransport

__all__ = ["DIAGNOSTIC_EVENT", "IN_BROWSER", "IN_PYODIDE", "AsyncSender", "Attachment", "EVENT_EVENT", "FetchTransport",
           "KalturaWeb", "LocalStorageStore", "READY_EVENT", "attach", "create_tracker", "current",
           "live_proxies", "read_config", "start"]
