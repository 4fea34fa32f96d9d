"""``import kaltura_web.browser.auto`` in a page's ``<script type="py">``:
starts the SDK from the page's configuration and instruments its
``data-kaltura-*`` elements.  If it cannot start, the guard says so on the
console and with a ``kaltura-web:error`` event; nothing reaches the page."""

from ._runtime import IN_BROWSER
from ._timers import spawn
from .page import start

if IN_BROWSER:
    started = spawn(start(), where="start")
