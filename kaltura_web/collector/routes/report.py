"""report.getTable and report.getTotal: Kaltura's reports, computed at once from
the stored events (``reports``; docs/reports.md).  Called by ``api_v3``."""

from __future__ import annotations

import calendar
import logging
import re

from .. import reports
from ..answers import ApiError, internal_error, missing_parameter
from ..filters import EventFilter, as_set
from ..ingest import require_ks
from ..params import present, read_enum, read_float, read_int
from ..values import INT32_MAX, INT64_MAX, INT64_MIN, MAX_TIMESTAMP

log = logging.getLogger("kaltura_web.collector")

# which EventFilter set ``objectIds`` narrows, by report type (entries for the others)
OBJECT_IDS = {reports.USER_TOP_CONTENT: "user_ids", reports.APPLICATIONS: "apps"}


def _day(value, end) -> int:
    """Unix seconds of a ``YYYYMMDD`` day (UTC): its first second, or its last (``end``)."""
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{8}", text):
        raise ApiError("INVALID_DAY", f'Invalid day "{text[:100]}", expecting YYYYMMDD',
                       {"DAY": text[:100]})
    start = calendar.timegm((int(text[:4]), int(text[4:6]), int(text[6:]), 0, 0, 0))
    return start + 86399 if end else start


def _bound(values, date_name, day_name, end):
    """``fromDate``/``toDate`` (Unix seconds), else ``fromDay``/``toDay``, else None."""
    if present(values.get(date_name)):
        return read_float(values[date_name], f"reportInputFilter:{date_name}", -MAX_TIMESTAMP,
                          MAX_TIMESTAMP)
    if present(values.get(day_name)):
        return _day(values[day_name], end)
    return None


def report_filter(values, info) -> EventFilter:
    """The EventFilter of a ``reportInputFilter``, scoped to the asking KS's appId."""
    def ids(name):
        return str(values[name]) if present(values.get(name)) else None

    return EventFilter(from_date=_bound(values, "fromDate", "fromDay", False),
                       to_date=_bound(values, "toDate", "toDay", True),
                       entry_ids=ids("entryIdIn"), user_ids=ids("userIds"),
                       apps=ids("application"), scope_app=info.app_id)


def report_request(state, params, nested):
    """(report type, EventFilter, delimiter) of a report.* call."""
    info = require_ks(state, params)
    if not present(params.get("reportType")):
        raise missing_parameter("reportType")
    report_type = read_enum(params["reportType"], "reportType", "KalturaReportType",
                            range(INT64_MIN, INT64_MAX + 1))
    if report_type not in reports.REPORTS:
        supported = ", ".join(f"{k} {v}" for k, v in reports.REPORT_NAMES.items())
        raise ApiError("REPORT_NOT_SUPPORTED",
                       f"Report type {report_type} is not computed by this collector "
                       f"(supported: {supported})", {"REPORT_TYPE": report_type})
    if not nested.get("reportInputFilter"):
        raise missing_parameter("reportInputFilter")
    flt = report_filter(nested["reportInputFilter"], info)
    if present(params.get("objectIds")):
        flt.restrict(OBJECT_IDS.get(report_type, "entry_ids"), as_set(str(params["objectIds"])))
    options = nested.get("responseOptions") or {}
    return report_type, flt, str(options.get("delimiter") or ",")


def _pager_value(pager, name, default):
    """pager[pageSize] / pager[pageIndex]: an int32; zero or less means the default."""
    if not present(pager.get(name)):
        return default
    number = read_int(pager[name], f"pager:{name}", -INT32_MAX - 1, INT32_MAX)
    return number if number > 0 else default


def get_table(state, _environ, params, nested) -> dict:
    report_type, flt, delimiter = report_request(state, params, nested)
    pager = nested.get("pager") or {}
    table = reports.report_table(report_type, state.store.events(), flt,
                                 page_size=_pager_value(pager, "pageSize", 30),
                                 page_index=_pager_value(pager, "pageIndex", 1),
                                 order=str(params.get("order") or ""), delimiter=delimiter)
    return table.as_kaltura()


def get_total(state, _environ, params, nested) -> dict:
    report_type, flt, delimiter = report_request(state, params, nested)
    try:
        total = reports.report_total(report_type, state.store.events(), flt, delimiter=delimiter)
    except reports.ReportHasNoMetrics as err:
        # Kaltura's reports manager throws a plain Exception here, which its API
        # turns into INTERNAL_SERVERL_ERROR; the reason only reaches its log.
        log.info("report.getTotal %s: unsupported query - report has no metrics", err)
        raise internal_error() from None
    return total.as_kaltura()
