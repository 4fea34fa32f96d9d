"""When to try again after a transient failure: the ``RetryPolicy``.

The head record of a queue that failed is retried after 1, 2 and 4 seconds
(guide 11.3); after that the queue *stalls*: it waits for a trigger (a new
beacon, going online) or a long timer that grows 8, 16, 32 s and stays at
60 s.  A server that answers 429 or 503 with ``Retry-After`` (seconds, or an
HTTP date) is never asked again sooner than it said, up to one hour.
"""

BACKOFF = (1.0, 2.0, 4.0)  # seconds before retries 1, 2, 3
STALLED_BACKOFF = (8.0, 16.0, 32.0, 60.0)  # then the long timer, the last value repeating
MAX_RETRY_AFTER = 3600.0  # a Retry-After beyond this is taken as this
RETRY_AFTER_STATUSES = (429, 503)

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _delays(values, what):
    values = tuple(values)
    if not values:
        raise ValueError("%s must hold at least one delay" % what)
    for value in values:
        if type(value) not in (int, float) or not 0 <= value <= MAX_RETRY_AFTER:
            raise ValueError("%s must hold seconds from 0 to %d, got %r" % (what, MAX_RETRY_AFTER, value))
    return tuple(float(v) for v in values)


class RetryPolicy:
    """``backoff``: the delays before the retries of one round; ``stalled``:
    the long timer once they are used up; ``max_retry_after``: the longest
    wait a server's Retry-After can impose."""

    def __init__(self, backoff=BACKOFF, stalled=STALLED_BACKOFF, max_retry_after=MAX_RETRY_AFTER):
        self.backoff = _delays(backoff, "backoff")
        self.stalled = _delays(stalled, "stalled")
        if type(max_retry_after) not in (int, float) or not max_retry_after >= 0:
            raise ValueError("max_retry_after must be a number of seconds, got %r" % (max_retry_after,))
        self.max_retry_after = float(max_retry_after)

    def schedule(self, attempts, stalls, retry_after=None):
        """``(stalled, seconds)`` after the ``attempts``-th failure (1 for the
        first) of a round, ``stalls`` long waits having passed before;
        ``stalled`` says the round's retries are used up.  ``retry_after``
        (seconds, from the server) lengthens the wait, never shortens it."""
        if attempts <= len(self.backoff):
            stalled, seconds = False, self.backoff[attempts - 1]
        else:
            stalled, seconds = True, self.stalled[min(stalls, len(self.stalled) - 1)]
        if retry_after is not None:
            seconds = max(seconds, retry_after)
        return stalled, seconds

    def retry_after(self, status, headers, now):
        """The seconds a 429 or 503 answer asks to wait (its ``Retry-After``
        header, in ``headers`` with lower-case names), capped at
        ``max_retry_after``; None for other statuses, no header, or a value
        that is neither whole seconds nor an HTTP date."""
        if status not in RETRY_AFTER_STATUSES or not headers:
            return None
        value = headers.get("retry-after")
        if value is None:
            return None
        value = str(value).strip()
        if value.isdigit():
            seconds = float(int(value))
        else:
            when = http_date(value)
            if when is None:
                return None
            seconds = max(0.0, when - now)
        return min(seconds, self.max_retry_after)


def _days_from_civil(year, month, day):
    """Days from 1970-01-01 to a proleptic Gregorian date."""
    if month <= 2:
        year -= 1
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _clock(text):
    """(hours, minutes, seconds) of ``hh:mm:ss``, or None."""
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isdigit() and len(p) == 2 for p in parts):
        return None
    h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
    return (h, m, s) if h < 24 and m < 60 and s <= 60 else None


def http_date(text):
    """Unix seconds of an HTTP date (``Sun, 06 Nov 1994 08:49:37 GMT``, or
    the obsolete RFC 850 and asctime forms), or None when ``text`` is none."""
    tokens = text.replace(",", " ").replace("-", " ").lower().split()
    month = time = None
    numbers = []
    for token in tokens:
        if token in _MONTHS:
            month = _MONTHS.index(token) + 1
        elif ":" in token:
            time = _clock(token)
            if time is None:
                return None
        elif token.isdigit():
            numbers.append(token)
    if month is None or time is None or len(numbers) != 2 or len(numbers[0]) > 2:
        return None
    day, year = int(numbers[0]), int(numbers[1])
    if len(numbers[1]) == 2:
        year += 1900 if year >= 70 else 2000
    elif len(numbers[1]) != 4:
        return None
    if not 1 <= day <= 31:
        return None
    return float(_days_from_civil(year, month, day) * 86400 + time[0] * 3600 + time[1] * 60 + time[2])
