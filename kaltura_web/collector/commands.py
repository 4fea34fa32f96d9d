"""CLI subcommands of the collector: ``serve``, ``ks`` and ``verify``.

``register(subparsers)`` adds them to an argparse sub-parser collection; each
sets ``func`` (namespace -> exit code) with ``set_defaults``.
"""

from __future__ import annotations

import sys
import time

from .app import DEFAULT_ADMIN_SECRET, DEFAULT_DB, DEFAULT_PARTNER_ID


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

    return run(host=args.host, port=args.port, db=args.db, partner_id=args.partner_id,
               admin_secret=args.admin_secret, web_root=args.web_root,
               dev_ks=not args.no_dev_ks, faults=faults_from_args(args), quiet=args.quiet)


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


def cmd_verify(args) -> int:
    from pathlib import Path

    from .linter import lint
    from .store import Store

    if not Path(args.db).exists():
        print(f"no such database: {args.db}", file=sys.stderr)
        return 2
    store = Store(args.db)
    try:
        events = store.events()
    finally:
        store.close()
    findings = lint(events)
    for finding in findings:
        print(finding)
    sessions = len({e["session_id"] for e in events if e["session_id"]})
    print(f"{len(events)} events, {sessions} sessions, {len(findings)} findings")
    return 1 if findings else 0


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
