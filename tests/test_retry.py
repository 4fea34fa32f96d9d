"""The RetryPolicy on its own: the backoff schedule, Retry-After in seconds or as an HTTP date."""

import calendar

import pytest

from kaltura_web.core.retry import RetryPolicy, http_date


def test_policy_schedule_is_backoff_then_capped_stalls():
    """The default policy waits 1, 2, 4 s within a round, then 8, 16, 32 and 60 s forever."""
    policy = RetryPolicy()
    waits = [policy.schedule(n, 0) for n in (1, 2, 3)]
    stalls = [policy.schedule(4, s) for s in range(6)]
    assert waits == [(False, 1.0), (False, 2.0), (False, 4.0)]
    assert stalls == [(True, 8.0), (True, 16.0), (True, 32.0), (True, 60.0), (True, 60.0), (True, 60.0)]


def test_policy_retry_after_lengthens_never_shortens():
    """A server's wait longer than the backoff replaces it; a shorter one changes nothing."""
    policy = RetryPolicy()
    assert policy.schedule(1, 0, retry_after=30.0) == (False, 30.0)
    assert policy.schedule(3, 0, retry_after=0.5) == (False, 4.0)


@pytest.mark.parametrize("kwargs", [{"backoff": ()}, {"backoff": (1.0, -2.0)}, {"stalled": (float("nan"),)},
                                    {"stalled": (True,)}, {"max_retry_after": -1}])
def test_policy_rejects_unusable_delays(kwargs):
    """Empty, negative, NaN or boolean delays are a ValueError at construction."""
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize("status, value, expected", [
    (429, "120", 120.0),
    (503, " 7 ", 7.0),
    (503, "0", 0.0),
    (429, "999999", 3600.0),  # capped at an hour
    (500, "120", None),  # only 429 and 503 are honoured
    (429, "-5", None),
    (429, "1.5", None),
    (429, "soon", None),
])
def test_retry_after_in_seconds(status, value, expected):
    """Retry-After in whole seconds is read on 429/503 only, capped; anything else is ignored."""
    assert RetryPolicy().retry_after(status, {"retry-after": value}, 1000.0) == expected


@pytest.mark.parametrize("text", [
    "Wed, 21 Oct 2015 07:28:00 GMT",  # IMF-fixdate
    "Wednesday, 21-Oct-15 07:28:00 GMT",  # RFC 850
    "Wed Oct 21 07:28:00 2015",  # asctime
])
def test_retry_after_as_an_http_date(text):
    """An HTTP date in any of its three forms gives the seconds from now until then."""
    when = calendar.timegm((2015, 10, 21, 7, 28, 0))
    assert RetryPolicy().retry_after(503, {"retry-after": text}, when - 45.0) == 45.0
    assert RetryPolicy().retry_after(503, {"retry-after": text}, when + 10.0) == 0.0  # already past


@pytest.mark.parametrize("date", [(1970, 1, 1, 0, 0, 0), (2000, 2, 29, 23, 59, 59), (2024, 3, 1, 0, 0, 1),
                                  (2100, 12, 31, 12, 0, 0), (1999, 12, 31, 23, 59, 60)])
def test_http_date_matches_the_calendar(date):
    """The core's own date arithmetic agrees with the standard library across leap years and centuries."""
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    text = "Mon, %02d %s %04d %02d:%02d:%02d GMT" % (date[2], months[date[1] - 1], date[0], date[3], date[4],
                                                     date[5])
    assert http_date(text) == calendar.timegm(date)


@pytest.mark.parametrize("text", ["", "21 Oct 2015", "Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT",
                                  "Wed, 21 Oct 2015 25:28:00 GMT", "Wed, 21 Oct 215 07:28:00 GMT", "12:00:00"])
def test_http_date_rejects_what_is_not_a_date(text):
    """Text that is not an HTTP date gives None (the Retry-After is then ignored)."""
    assert http_date(text) is None


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@pytest.mark.parametrize("month", range(1, 13))
def test_http_date_knows_every_month(month):
    """Each of the twelve month names gives its own month."""
    text = "Fri, 15 %s 2021 12:30:45 GMT" % MONTHS[month - 1]
    assert http_date(text) == calendar.timegm((2021, month, 15, 12, 30, 45))


@pytest.mark.parametrize("text, date", [
    ("Thursday, 01-Jan-70 00:00:00 GMT", (1970, 1, 1, 0, 0, 0)),  # two-digit years from 70 are 19xx
    ("Wednesday, 31-Dec-69 23:59:59 GMT", (2069, 12, 31, 23, 59, 59)),  # and below 70 are 20xx
    ("Sat, 01 Mar 2003 00:00:00 GMT", (2003, 3, 1, 0, 0, 0)),  # within the 400-year era that starts in 2000
    ("Wed,21 Oct 2015 07:28:00 GMT", (2015, 10, 21, 7, 28, 0)),  # a comma without a space still separates
    ("Wed, 01 Oct 2015 00:00:00 GMT", (2015, 10, 1, 0, 0, 0)),
    ("Sat, 31 Oct 2015 23:59:59 GMT", (2015, 10, 31, 23, 59, 59)),
])
def test_http_date_edges(text, date):
    """Two-digit years, the era arithmetic and the first and last day and second are read as the calendar says."""
    assert http_date(text) == calendar.timegm(date)


@pytest.mark.parametrize("text", [
    "Wed, 21 Oct 2015 07:28 GMT",  # no seconds
    "Wed, 21 Oct 2015 7:28:00 GMT",  # a one-digit hour
    "Wed, 21 Oct 2015 24:00:00 GMT",
    "Wed, 21 Oct 2015 23:60:00 GMT",
    "Wed, 21 Oct 2015 23:59:61 GMT",
    "Wed, 021 Oct 2015 07:28:00 GMT",  # a three-digit day
    "Wed, 00 Oct 2015 07:28:00 GMT",
    "Wed, 21 October 2015 07:28:00 GMT",  # the month is its three-letter name
])
def test_http_date_refuses_malformed_fields(text):
    """A time that is not hh:mm:ss in range, a day outside 1-31 or with three digits, a long month name: None."""
    assert http_date(text) is None


def test_policy_takes_any_iterable_of_delays_within_the_bounds():
    """Delays may come from a one-shot iterator; 0 and 3600 s are allowed, as is a maximum wait of 0."""
    policy = RetryPolicy(backoff=iter([0, 0.5]), stalled=[3600], max_retry_after=0)
    assert policy.backoff == (0.0, 0.5) and policy.stalled == (3600.0,) and policy.max_retry_after == 0.0
    assert policy.retry_after(429, {"retry-after": "30"}, 0.0) == 0.0
    assert RetryPolicy(max_retry_after=0.5).max_retry_after == 0.5


@pytest.mark.parametrize("kwargs, message", [
    ({"backoff": (3600.5,)}, "backoff must hold seconds from 0 to 3600, got 3600.5"),
    ({"stalled": ()}, "stalled must hold at least one delay"),
    ({"stalled": ("8",)}, "stalled must hold seconds from 0 to 3600, got '8'"),
    ({"max_retry_after": float("nan")}, "max_retry_after must be a number of seconds, got nan"),
    ({"max_retry_after": "60"}, "max_retry_after must be a number of seconds, got '60'"),
])
def test_policy_errors_name_the_argument(kwargs, message):
    """A wrong policy argument raises ValueError naming it and the value."""
    with pytest.raises(ValueError) as info:
        RetryPolicy(**kwargs)
    assert str(info.value) == message
