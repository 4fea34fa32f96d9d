"""Consent and erasure on the page (the decisions are the core's: ``core/consent.py``).

- The state a page starts in (``start_consent``): ``"consent"`` of the
  configuration (default ``"granted"``); ``"denied"`` when the configuration
  says so, or with ``"respectGPC": true`` when the browser sends Global
  Privacy Control or Do Not Track; ``"granted"`` for a ``"pending"`` page
  when the visitor granted consent earlier on this origin (the
  ``kaltura_web:consent`` key; pending and denied are never written).
- The page changes it with ``document.dispatchEvent(new
  CustomEvent("kaltura-web:consent", {detail: {state: "granted"}}))`` (the
  early-event snippet records it before the SDK starts; ``early.py`` replays
  it in order) or ``kaltura.set_consent("granted")``, and erases with the
  ``kaltura-web:erase`` event or ``kaltura.erase()``.
- Tabs of the origin follow each other through ``storage`` events: the
  consent key written ``granted`` grants in every tab; ``kaltura_web:signal``
  (written and removed at once) carries ``denied:<nonce>`` and
  ``erase:<nonce>``, so a tab that denies or erases makes the others drop
  what they hold in memory and remove what they may have written meanwhile.
  A page whose queue is in memory (``"storage": "memory"``) writes none of
  these keys.
- Without consent the page makes no request at all: the KS provider is
  first asked when consent is granted (``ask_ks_when_granted``).
"""

from ..core import diagnostics as diag
from ..core.validation import DENIED, GRANTED, PENDING
from ..core.validation import consent as _check_consent
from . import _env
from ._convert import is_nullish
from ._timers import spawn

# the keys' prefix is storage_layout.PREFIX, not imported: a page whose queue is
# in memory never loads the storage modules (docs/storage.md has the layout)
SDK_PREFIX = "kaltura_web:"
CONSENT_KEY = SDK_PREFIX + "consent"
SIGNAL_KEY = SDK_PREFIX + "signal"

CONSENT_EVENT = "kaltura-web:consent"
ERASE_EVENT = "kaltura-web:erase"


def start_consent(config):
    """The consent state a page with ``config`` starts in (see the module's docstring)."""
    state = config.get("consent")
    state = GRANTED if state is None else _check_consent(state, "the configuration's consent")
    if state == DENIED or (config.get("respectGPC") is True and _env.privacy_signal()):
        return DENIED
    if state == PENDING and _env.storage_item(CONSENT_KEY) == GRANTED:
        return GRANTED
    return state


def _detail_state(event):
    """``event.detail.state`` of a ``kaltura-web:consent`` event, or None."""
    detail = getattr(event, "detail", None)
    if is_nullish(detail):
        return None
    state = detail.get("state") if isinstance(detail, dict) else getattr(detail, "state", None)
    return None if is_nullish(state) else state


class PageConsent:
    """The page's side of consent for one runtime (``KalturaWeb.privacy``):
    keeps the consent key, tells the other tabs, and follows them.
    ``persist``: the queue is in localStorage (else nothing is written)."""

    def __init__(self, runtime, persist):
        self.runtime = runtime
        self.tracker = runtime.tracker
        self.persist = persist
        self._remote = False  # applying what another tab said: not said again
        self._nonce = 0
        self._ks_wanted = False  # the first KS waits for consent
        self.tracker.on_consent = self._changed

    def ask_ks_when_granted(self):
        """Ask the KS provider for the first KS (``AsyncSender.first_ks``) now,
        or when consent is granted."""
        self._ks_wanted = True
        if self.tracker.consent == GRANTED:
            self._ask_ks()

    def _ask_ks(self):
        if self._ks_wanted and self.runtime.sender is not None:
            self._ks_wanted = False
            spawn(self.runtime.sender.first_ks(), self.tracker, "first KS")

    def listen(self, owner):
        """The page's consent and erase events, and the other tabs' storage events."""
        doc = _env.document()
        owner.listen(doc, CONSENT_EVENT, self._on_consent_event)
        owner.listen(doc, ERASE_EVENT, lambda event: self.erase())
        owner.listen(_env.window(), "storage", self._on_storage)

    def set(self, state):
        """``tracker.set_consent(state)``; returns how many beacons it moved or discarded."""
        return self.tracker.set_consent(state)

    def erase(self):
        """Erase storage and memory here (``tracker.erase``) and in the other tabs."""
        count = self.tracker.erase()
        self._erased()
        return count

    def _erased(self):
        """After the tracker erased its store: a page whose queue is in memory
        removes the SDK's keys other pages of the origin left; the other tabs are told."""
        _env.set_storage_item(CONSENT_KEY, None)  # gone with the store, unless the store failed
        if not self.persist:
            for key in _env.storage_keys():
                if key.startswith(SDK_PREFIX):
                    _env.set_storage_item(key, None)
        if not self._remote:
            self._signal("erase" if self.tracker.consent != DENIED else "denied")

    def _changed(self, state, previous):
        """The tracker's consent changed: keep or drop the consent key, tell
        the other tabs a denial, let the sender go on a grant."""
        if state == GRANTED:
            if self.persist:
                _env.set_storage_item(CONSENT_KEY, GRANTED)
            self._ask_ks()
            if self.runtime.sender is not None:
                self.runtime.sender.kick()
        elif state == PENDING:
            _env.set_storage_item(CONSENT_KEY, None)  # a reload starts from the configuration again
        else:
            self._erased()  # the tracker erased its store already

    def _signal(self, what):
        """Tell the other tabs (a ``storage`` event there), leaving nothing stored."""
        if not self.persist:
            return
        self._nonce += 1
        value = "%s:%s.%d" % (what, self.tracker.new_id()[:8], self._nonce)
        if _env.set_storage_item(SIGNAL_KEY, value):
            _env.set_storage_item(SIGNAL_KEY, None)

    def _on_consent_event(self, event):
        state = _detail_state(event)
        try:
            self.set(state)
        except (TypeError, ValueError) as exc:
            self.tracker.diagnose(diag.CONSENT_INVALID, "kaltura-web:consent event ignored: %s" % exc,
                                  {"state": repr(state)})

    def _on_storage(self, event):
        key = event.key
        value = event.newValue
        if is_nullish(key) or is_nullish(value):
            return
        key, value = str(key), str(value)
        if key == CONSENT_KEY and value == GRANTED:
            self._apply(self.set, GRANTED)
        elif key == SIGNAL_KEY:
            what = value.split(":", 1)[0]
            if what == "denied":
                self._apply(self.set, DENIED)
            elif what == "erase":
                self._apply(lambda _what: self.erase(), what)

    def _apply(self, fn, arg):
        self._remote = True
        try:
            fn(arg)
        finally:
            self._remote = False
