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

import sys

from ._proxies import live_proxies
from ._runtime import IN_BROWSER, IN_PYODIDE
from .page import (DIAGNOSTIC_EVENT, ERROR_EVENT, EVENT_EVENT, READY_EVENT, KalturaWeb, attach, create_tracker,
                   current, read_config, start)

# imported on first use, so that a page imports only the edge modules it needs
# (no localStorage store on a page with "storage": "memory")
_LAZY = {"AsyncSender": "driver", "Attachment": "media", "FetchTransport": "transport",
         "LocalStorageStore": "storage"}


def __getattr__(name):
    """The lazy exports above; any other name is a submodule (MicroPython asks
    the package for ``from . import x`` before it imports ``x``)."""
    if name.startswith("__"):
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    module = _LAZY.get(name, name)
    full = __name__ + "." + module
    if full not in sys.modules:
        try:
            __import__(full)
        except ImportError:
            raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = sys.modules[full]
    return getattr(value, name) if name in _LAZY else value
