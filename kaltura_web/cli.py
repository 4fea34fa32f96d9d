"""The ``kaltura-web`` command line."""

import argparse
import json
import os
import sys

from . import catalog

LIFECYCLE = (1, 2, 3, 4, 5, 6, 7)  # guide 12.3: a full server-side playback


def _event_types(text):
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if part.isdigit():
            value = int(part)
        elif part.upper() in catalog.STATS_TYPE_BY_NAME:
            value = catalog.STATS_TYPE_BY_NAME[part.upper()]
        else:
            raise argparse.ArgumentTypeError("unknown event type %r" % part)
        if not catalog.is_stats_type(value) and value not in catalog.APPLICATION_EVENTS:
            raise argparse.ArgumentTypeError("event type %r is not 1-40, 10002 or 10003" % part)
        out.append(value)
    if not out:
        raise argparse.ArgumentTypeError("no event types given")
    return out


def _queue_line(tracker, entry, line_no, default_entry, session_ids):
    if not isinstance(entry, dict):
        raise ValueError("line %d: expected a JSON object" % line_no)
    event_type = entry.get("eventType")
    entry_id = entry.get("entryId", default_entry)
    t = entry.get("eventTimestamp")
    if event_type in catalog.APPLICATION_EVENTS:
        if event_type == catalog.PAGE_LOAD:
            tracker.page_load(entry.get("pageType"), entry.get("pageName"), entry_id,
                              entry.get("kalturaApplication"), t=t)
        else:
            tracker.button_click(entry.get("buttonType") or "", entry.get("buttonName") or "",
                                 entry_id, entry.get("kalturaApplication"), t=t)
        return
    if entry_id is None:
        raise ValueError("line %d: no entryId (and no --entry-id)" % line_no)
    session = entry.get("sessionId")
    if session is None:
        session = session_ids.setdefault(entry_id, tracker._new_id())
    tracker.report(event_type, entry_id, session_id=session, current_point=entry.get("currentPoint"),
                   duration=entry.get("duration"), seek=entry.get("seek"), t=t)


def cmd_send(args):
    from .cpython import SyncSender, create_tracker
    from .tracker import mask_ks

    if not args.partner_id:
        print("error: --partner-id (or KALTURA_PARTNER_ID) is required", file=sys.stderr)
        return 2
    if not args.ks:
        print("error: --ks (or KALTURA_KS) is required", file=sys.stderr)
        return 2
    if not args.file and not args.entry_id:
        print("error: --entry-id is required unless --file is given", file=sys.stderr)
        return 2
    log = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
    try:
        tracker = create_tracker(args.partner_id, queue_path=args.queue, service_url=args.service_url,
                                 analytics_url=args.analytics_url, ks=args.ks, referrer=args.referrer,
                                 application=args.application)
    except (TypeError, ValueError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    sender = SyncSender(tracker, log=log)
    backlog = tracker.pending()
    queued = 0
    session_ids = {}
    try:
        if args.file:
            stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
            with stream:
                for line_no, line in enumerate(stream, 1):
                    if not line.strip():
                        continue
                    _queue_line(tracker, json.loads(line), line_no, args.entry_id, session_ids)
                    queued += 1
        else:
            session = tracker._new_id()
            session_ids[args.entry_id] = session
            for event_type in args.events:
                if event_type in catalog.APPLICATION_EVENTS:
                    _queue_line(tracker, {"eventType": event_type}, 0, args.entry_id, session_ids)
                else:
                    tracker.report(event_type, args.entry_id, session_id=session)
                queued += 1
    except (TypeError, ValueError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    total = queued + backlog
    print("sending %d beacon(s) to %s with KS %s" % (total, tracker.service_url, mask_ks(args.ks)),
          file=sys.stderr)

    def progress(pending):
        print("\r%d/%d delivered" % (total - pending, total), end="", file=sys.stderr, flush=True)

    sender.flush(timeout=args.timeout, on_progress=progress if args.progress else None)
    if args.progress:
        print(file=sys.stderr)
    engine = tracker.engine
    for sid in session_ids.values():
        print("session %s" % sid)
    if engine.dead_count:
        print("error: %d beacon(s) rejected by the server: %s" % (
            engine.dead_count, "; ".join(d["message"] + " " + str(d["details"].get("reason", ""))
                                         for d in tracker.diagnostics if "rejected" in d["message"])),
            file=sys.stderr)
    if tracker.pending():
        status = engine.status()
        why = ", ".join("%s queue %s" % ("stats.collect" if q == "s" else "trackEvent", s["state"])
                        for q, s in status.items() if s["pending"])
        print("error: %d beacon(s) not delivered (%s)%s" % (
            tracker.pending(), why, "; kept in %s" % args.queue if args.queue else ""), file=sys.stderr)
        return 1
    if engine.dead_count:
        return 1
    print("delivered %d beacon(s)" % sender.sent)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="kaltura-web", description="Kaltura analytics from Python.")
    sub = parser.add_subparsers(dest="command")
    send = sub.add_parser("send", help="report events like the guide's curl examples (server-side tracking)")
    env = os.environ.get
    send.add_argument("--service-url", default=env("KALTURA_SERVICE_URL", "https://www.kaltura.com/api_v3"),
                      help="API v3 URL including /api_v3 (env KALTURA_SERVICE_URL)")
    send.add_argument("--analytics-url", default=env("KALTURA_ANALYTICS_URL", "https://analytics.kaltura.com"),
                      help="analytics server origin (env KALTURA_ANALYTICS_URL)")
    send.add_argument("--ks", default=env("KALTURA_KS"), help="KS (env KALTURA_KS); never printed in full")
    send.add_argument("--partner-id", default=env("KALTURA_PARTNER_ID"), help="env KALTURA_PARTNER_ID")
    send.add_argument("--entry-id", default=env("ENTRY_ID"), help="entry to report (env ENTRY_ID)")
    send.add_argument("--referrer", default=None, help="page URL or device id, e.g. kiosk://device-001")
    send.add_argument("--application", default=None, help="kalturaApplication for trackEvent events")
    send.add_argument("--events", type=_event_types, default=list(LIFECYCLE),
                      help="comma-separated types or names (default: 1-7, the full lifecycle)")
    send.add_argument("--file", help="JSON-lines file of events to back-fill ('-' for stdin)")
    send.add_argument("--queue", help="SQLite file that keeps undelivered beacons across runs")
    send.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    send.add_argument("--progress", action="store_true", help="show a progress counter")
    send.add_argument("-v", "--verbose", action="store_true")
    send.set_defaults(func=cmd_send)
    try:
        from .collector import commands
    except ImportError:  # collector extras (flask, cryptography) not installed
        commands = None
    if commands is not None:
        from . import demo

        commands.register(sub)
        demo.register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
