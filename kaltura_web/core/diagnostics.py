"""Diagnostics: what went wrong at runtime, with a stable code.

Runtime data (a NaN duration, a storage quota, a server that rejects a
beacon) never raises into the host page; it becomes a diagnostic.  Each has a
``code`` that programs and tests match (the message is for people and may
change), a ``message`` and ``details``.  Beacons lost for good are also
counted per reason in ``lost``.
"""

# -- player observations (session) -------------------------------------------
INVALID_POSITION = "invalid-position"  # NaN, negative or huge position dropped
NON_FINITE_TIME = "non-finite-time"  # an observation whose time is NaN
OBSERVATION_NOT_ALLOWED = "observation-not-allowed"  # the state table does not allow it
CLOCK_BACKWARDS = "clock-backwards"
INVALID_DURATION = "invalid-duration"  # treated as unknown: no quartiles
DURATION_CHANGED = "duration-changed"  # after PLAY: the first one is kept
UNEXPLAINED_JUMP = "unexplained-jump"  # playhead moved without a seek
INVALID_RATE = "invalid-rate"
AD_OUT_OF_ORDER = "ad-out-of-order"  # ad progress/click/end without an ad, or a second ad start

# -- delivery -----------------------------------------------------------------
STORE_FAILED = "store-failed"  # the store raised: the queue lives in memory only
STORAGE_FULL = "storage-full"  # a beacon kept in memory only, or the oldest evicted
QUEUE_FULL = "queue-full"  # the queue cap dropped the oldest beacons
BEACON_DEAD_LETTERED = "beacon-dead-lettered"  # rejected by the server or unencodable
ENDPOINT_MISCONFIGURED = "endpoint-misconfigured"  # 404 or redirect: that queue paused
RETRIES_EXHAUSTED = "retries-exhausted"  # waiting for a trigger (online, new beacon, timer)
KS_REJECTED = "ks-rejected"  # delivery paused until a new KS
KS_PROVIDER_FAILED = "ks-provider-failed"
STRAY_ANSWER = "stray-answer"  # an answer for a beacon that is not in flight
HOOK_FAILED = "hook-failed"  # on_event / on_enqueue / on_diagnostic / on_consent raised
CONSENT_DENIED = "consent-denied"  # held and queued beacons discarded, the stored queue erased
ERASED = "erased"  # erase(): the stored queue, its keys and the beacons in memory removed
CONSENT_INVALID = "consent-invalid"  # a kaltura-web:consent event without a valid state (ignored)

# -- edges --------------------------------------------------------------------
SDK_ERROR = "sdk-error"  # the SDK's own code failed inside an event handler
EARLY_REPLAY_FAILED = "early-replay-failed"
EARLY_DROPPED = "early-dropped"  # the early-event snippet's buffer overflowed
RECONSTRUCTED = "reconstructed"  # started late: state rebuilt from the element
TAB_FALLBACK = "tab-fallback"  # cross-tab coordination failed or degraded to a storage lease
TAB_HANDOVER = "tab-handover"  # another tab became the sender
ANSWER_UNREADABLE = "answer-unreadable"  # an answer's body broke off: judged by its status alone

# reasons a beacon can be lost for good (keys of ``Diagnostics.lost``)
LOST_QUEUE_FULL = "queue-full"
LOST_STORAGE_EVICTED = "storage-evicted"
LOST_DEAD_LETTERED = "dead-lettered"
LOST_EARLY_DROPPED = "early-dropped"

MAX_ENTRIES = 200


class Diagnostics:
    """A bounded list of diagnostic entries, the ``lost`` counters and an
    optional hook called with each entry (a hook that raises is recorded, never
    propagated)."""

    def __init__(self, hook=None, limit=MAX_ENTRIES):
        self.hook = hook
        self.limit = limit
        self.entries = []
        self.lost = {}

    def report(self, code, message, details=None, lost=None, count=1):
        """Record one diagnostic; ``lost`` names the reason when beacons were
        lost for good (``count`` of them).  Returns the entry."""
        entry = {"code": code, "message": message, "details": details or {}}
        self._append(entry)
        if lost is not None:
            self.lost[lost] = self.lost.get(lost, 0) + count
        if self.hook is not None:
            try:
                self.hook(entry)
            except Exception as exc:  # a host hook must not break the SDK
                self._append({"code": HOOK_FAILED, "message": "on_diagnostic hook raised",
                              "details": {"error": repr(exc)}})
        return entry

    def _append(self, entry):
        self.entries.append(entry)
        if len(self.entries) > self.limit:
            del self.entries[0]

    def codes(self):
        """The codes of the entries kept, oldest first."""
        return [e["code"] for e in self.entries]

    def count(self, code):
        return sum(1 for e in self.entries if e["code"] == code)
