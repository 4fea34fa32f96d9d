"""CLI subcommands of the collector: ``serve``, ``ks``, ``verify`` and ``report``.

``register(subparsers)`` adds them to an argparse sub-parser collection; each
sets ``func`` (namespace -> exit code) with ``set_defaults``.
"""

from __future__ import annotations

import sys
import time

from .config import DEFAULT_ADMIN_SECRET, DEFAULT_DB, DEFAULT_PARTNER_ID
from .store import StoreError


def faults_from_args(args) -> list:
    """Initial fault specs from serve's flags (same shapes as POST /dev/faults)."""
    specs = []
    if getattr(args, "delay_ms", None):
        specs.append({"mode": "delay", "ms": args.delay_ms})
    if getattr(args, "fail_next", None):
        specs.append({"mode": "status", "status": args.fail_status, "count": args.fail_next})
    if getattr(args, "fail_all", False):
        specs.append({"mode": "status", "status": args.fail_status})
    if getattr(args, "drop_next", None):
        specs.append({"mode": f"drop_{args.drop_when}_body", "count": args.drop_next})
    if getattr(args, "fault_fraction", None):
        specs.append({"mode": "fraction", "fraction": args.fault_fraction,
                      "seed": args.fault_seed, "status": args.fail_status})
    return specs


def cmd_serve(args) -> int:
    from .server import run

    try:
        return run(host=args.host, port=args.port, db=args.db, partner_id=args.partner_id,
                   admin_secret=args.admin_secret, web_root=args.web_root,
                   dev_ks=not args.no_dev_ks, faults=faults_from_args(args), quiet=args.quiet,
                   body_limit=args.body_limit, read_timeout=args.read_timeout,
                   dev_routes=not args.no_dev_routes, allow_remote_dev=args.allow_remote_dev)
    except (ValueError, StoreError) as err:  # refused settings, a database it cannot open
        print(f"error: {err}", file=sys.stderr)  # one line, no traceback
        return 2


def cmd_ks(args) -> int:
    from .ks import make_ks_v2

    privileges = {}
    for item in args.privileges or []:
        for part in item.split(","):
            if part.strip():
                name, _, value = part.strip().partition(":")
                privileges[name] = value
    if args.app_id:
        privileges["appId"] = args.app_id
    print(make_ks_v2(args.partner_id, args.admin_secret, args.user_id, args.type,
                     int(time.time()) + args.expiry, privileges))
    return 0


def _stored_events(db):
    """Every stored arrival of a collector database, or None (and a message) when
    it is missing or cannot be read."""
    from pathlib import Path

    from .store import Store

    if not Path(db).exists():
        print(f"no such database: {db}", file=sys.stderr)
        return None
    try:
        store = Store(db)
    except StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return None
    try:
        return store.events()
    finally:
        store.close()


def cmd_verify(args) -> int:
    from .linter import ERROR, lint

    events = _stored_events(args.db)
    if events is None:
        return 2
    findings = lint(events, warnings=True)
    for finding in findings:
        print(finding)
    violations = [f for f in findings if f.severity == ERROR]
    sessions = len({e["session_id"] for e in events if e["session_id"]})
    print(f"{len(events)} events, {sessions} sessions, {len(violations)} findings, "
          f"{len(findings) - len(violations)} warnings")
    return 1 if violations else 0  # warnings alone leave the exit status 0


def parse_time(text):
    """Unix seconds from ``--from``/``--to``: a number, or an ISO date/datetime (UTC
    unless it names an offset)."""
    import argparse
    from datetime import datetime, timezone

    text = str(text).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a Unix time or ISO date: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def parse_end_time(text):
    """Like ``parse_time``; a bare date (YYYY-MM-DD) means the end of that day."""
    value = parse_time(text)
    if len(str(text).strip()) == 10 and str(text).strip()[4] == "-":
        value += 86399
    return value


def _joined(values):
    """Repeatable, comma-separable option values -> a set, or None."""
    items = {part.strip() for value in values or () for part in value.split(",") if part.strip()}
    return items or None


def _table(headers, rows) -> list:
    """Plain text table lines: left-aligned text, right-aligned numbers."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]

    def line(values, numeric):
        out = []
        for i, v in enumerate(values):
            out.append(v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]))
        return "  ".join(out).rstrip()

    numeric = [i > 0 for i in range(len(headers))]
    lines = [line(headers, numeric), line(["-" * w for w in widths], numeric)]
    lines += [line(r, numeric) for r in cells]
    return lines


def format_summary(data) -> str:
    """The terminal rendering of ``reports.summary``."""
    from datetime import datetime, timezone

    def when(t):
        if t is None:
            return "any"
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

    def pct(x):
        return f"{x * 100:.1f}%"

    flt, tot = data["filter"], data["totals"]
    out = [f"kaltura-web report: {when(flt['fromDate'])} .. {when(flt['toDate'])}"]
    chosen = [f"{k}={','.join(v)}" for k, v in (("entry", flt["entryIds"]), ("app", flt["apps"]),
                                                   ("user", flt["userIds"])) if v]
    if chosen:
        out.append("filter: " + " ".join(chosen))
    out.append(f"{tot['events']} events, {tot['plays']} plays in {tot['sessions']} playback sessions, "
               f"{tot['loads']} media loads, {tot['uniqueUsers']} users, "
               f"{tot['pageLoads']} page loads, {tot['buttonClicks']} button clicks")
    if tot["duplicates"]:
        out.append(f"{tot['duplicates']} arrivals repeated a beacon already stored (counted, as Kaltura "
                   f"would): {', '.join(map(str, data['duplicateBeacons']))}")
    headers = ["", "plays", "sessions", "25%", "50%", "75%", "100%", "avg completion", "buffer events"]

    def playback_rows(rows):
        return [[r["name"], r["plays"], r["sessions"], r["reach"]["25"], r["reach"]["50"],
                 r["reach"]["75"], r["reach"]["100"], pct(r["avgCompletion"]), r["bufferEvents"]]
                for r in rows]

    total_row = dict(tot, name="all")
    for title, rows in (("Entries", data["entries"]), ("Users", data["users"])):
        out += ["", title]
        out += _table([title[:-1].lower() if title != "Entries" else "entry"] + headers[1:],
                      playback_rows(rows + ([total_row] if rows else [])))
    out += ["", "Applications"]
    out += _table(["application", "plays", "sessions", "avg completion", "page loads", "button clicks"],
                  [[r["name"], r["plays"], r["sessions"], pct(r["avgCompletion"]), r["pageLoads"],
                    r["buttonClicks"]] for r in data["applications"]])
    out += ["", "Page loads by pageType"]
    out += _table(["pageType", "loads"], list(data["pageLoadsByPageType"].items()))
    out += ["", "Button clicks by buttonName"]
    out += _table(["buttonName", "clicks"], list(data["buttonClicksByButtonName"].items()))
    return "\n".join(out)


def cmd_report(args) -> int:
    from .filters import EventFilter
    from .summary import summary
    from .values import dump_json

    events = _stored_events(args.db)
    if events is None:
        return 2
    flt = EventFilter(from_date=args.from_time, to_date=args.to_time, entry_ids=_joined(args.entry),
                      apps=_joined(args.app), user_ids=_joined(args.user))
    data = summary(events, flt)
    if args.json:
        print(dump_json(data, indent=2))
    else:
        print(format_summary(data))
    return 0


def register(subparsers) -> None:
    serve = subparsers.add_parser("serve", help="run the local Kaltura-compatible collector")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    serve.add_argument("--db", default=DEFAULT_DB, help=f"SQLite file (default ./{DEFAULT_DB})")
    serve.add_argument("--partner-id", type=int, default=DEFAULT_PARTNER_ID)
    serve.add_argument("--admin-secret", default=DEFAULT_ADMIN_SECRET)
    serve.add_argument("--web-root", default=None,
                       help="directory served under /web/ (default: the repo's web/ if present)")
    serve.add_argument("--no-dev-ks", action="store_true", help="disable GET /dev/ks")
    serve.add_argument("--no-dev-routes", action="store_true",
                       help="turn off /dev/* (KS, events, reset, faults) and the dashboard")
    serve.add_argument("--allow-remote-dev", action="store_true",
                       help="serve the development routes on a non-loopback --host too "
                            "(anyone who can reach it may read and wipe your events)")
    serve.add_argument("--body-limit", type=int, default=None, metavar="BYTES",
                       help="largest request body accepted; larger ones get HTTP 413 (default 1 MiB)")
    serve.add_argument("--read-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="close a connection that sends nothing for this long (default 10)")
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    f = serve.add_argument_group("fault injection (stats.collect and trackEvent only)")
    f.add_argument("--fail-next", type=int, metavar="N", help="answer the next N requests with --fail-status")
    f.add_argument("--fail-all", action="store_true", help="answer every request with --fail-status")
    f.add_argument("--fail-status", type=int, default=500, help="HTTP status of failures (default 500)")
    f.add_argument("--drop-next", type=int, metavar="N", help="drop the next N connections")
    f.add_argument("--drop-when", choices=("before", "after"), default="after",
                   help="drop before reading the body, or after storing the event (default after)")
    f.add_argument("--delay-ms", type=int, metavar="MS", help="delay every collection answer")
    f.add_argument("--fault-fraction", type=float, metavar="F", help="fail this fraction of requests")
    f.add_argument("--fault-seed", type=int, default=0, help="seed of --fault-fraction (default 0)")
    serve.set_defaults(func=cmd_serve)

    ks = subparsers.add_parser("ks", help="print a KS v2 signed with the admin secret")
    ks.add_argument("--user-id", default="")
    ks.add_argument("--app-id", default=None)
    ks.add_argument("--type", type=int, choices=(0, 2), default=0, help="0 USER (default), 2 ADMIN")
    ks.add_argument("--expiry", type=int, default=86400, help="seconds from now (default 86400)")
    ks.add_argument("--partner-id", type=int, default=DEFAULT_PARTNER_ID)
    ks.add_argument("--admin-secret", default=DEFAULT_ADMIN_SECRET)
    ks.add_argument("--privileges", action="append", metavar="A:B[,C:D]", help="extra privileges")
    ks.set_defaults(func=cmd_ks)

    verify = subparsers.add_parser("verify", help="lint the events stored in a collector database")
    verify.add_argument("--db", default=DEFAULT_DB)
    verify.set_defaults(func=cmd_verify)

    report = subparsers.add_parser(
        "report", help="plays, quartile reach, completion, buffering, page loads and clicks "
                       "from a collector database")
    report.add_argument("--db", default=DEFAULT_DB)
    report.add_argument("--entry", action="append", metavar="ID", help="only these entries (repeatable, a,b)")
    report.add_argument("--app", action="append", metavar="APP", help="only these applications (KS appId)")
    report.add_argument("--user", action="append", metavar="USER", help="only these users (the event userId, else the KS user)")
    report.add_argument("--from", dest="from_time", type=parse_time, metavar="TIME",
                        help="from this event time (Unix seconds or ISO date/datetime, UTC)")
    report.add_argument("--to", dest="to_time", type=parse_end_time, metavar="TIME",
                        help="up to this event time, inclusive (a bare date: its end)")
    report.add_argument("--json", action="store_true", help="print the figures as JSON")
    report.set_defaults(func=cmd_report)
