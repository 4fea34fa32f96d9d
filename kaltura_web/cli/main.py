"""The ``kaltura-web`` command line."""

import argparse
import importlib
import json
import math
import os
import sys

from ..core import catalog
from ..core import diagnostics as diag
from ..core.encoding import QUEUES

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


def _seconds(text):
    """``--timeout``: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number of seconds: %r" % text) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a positive, finite number of seconds, got %r" % text)
    return value


MAX_REPORTED_LINES = 20  # bad --file lines listed before "... and N more"

# tracker argument -> the --file field it comes from, for error messages
_FIELD_OF = {"t": "eventTimestamp", "current_point": "currentPoint", "session_id": "sessionId",
             "entry_id": "entryId", "event_type": "eventType", "application": "kalturaApplication",
             "page_type": "pageType", "page_name": "pageName", "button_type": "buttonType",
             "button_name": "buttonName"}


def _finite(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number %s is out of range" % text)
    return value


def _no_constant(name):
    raise ValueError("%s is not a number" % name)


def _parse_line(raw):
    """One --file line (bytes) -> the event it describes, as a dict."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    try:
        entry = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError("invalid JSON (%s at column %d)" % (exc.msg, exc.colno)) from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(entry, dict):
        raise ValueError("expected a JSON object, got %s" % type(entry).__name__)
    return entry


def _read_file(path):
    """The lines of --file ('-': stdin) as bytes; a byte-order mark is ignored."""
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as stream:
            data = stream.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.split(b"\n")


def _queue_line(tracker, entry, default_entry, session_ids):
    event_type = entry.get("eventType")
    if type(event_type) is not int or not (catalog.is_stats_type(event_type)
                                           or event_type in catalog.APPLICATION_EVENTS):
        raise ValueError("unknown eventType %s (1-40, 10002 or 10003)" % json.dumps(event_type))
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
        raise ValueError("no entryId (and no --entry-id)")
    session = entry.get("sessionId")
    if session is None:
        session = session_ids.setdefault(entry_id, tracker.new_id())
    tracker.report(event_type, entry_id, session_id=session, current_point=entry.get("currentPoint"),
                   duration=entry.get("duration"), seek=entry.get("seek"), t=t)


def play_through(tracker, entry_id, duration, end):
    """Report one whole playback of ``entry_id`` that lasted ``duration``
    seconds and ended at ``end`` (Unix seconds), as a player would have seen
    it: a timeupdate every second, so KAVA gets its VIEW every 10 s.
    Returns the Player."""
    start = end - duration - 1.0
    player = tracker.player(entry_id, ready=False)
    player.ready(t=start)
    player.loaded(duration, t=start)
    player.play(0.0, t=start + 1.0)
    second = 1
    while second < duration:
        player.progress(float(second), t=start + 1.0 + second)
        second += 1
    player.progress(float(duration), t=end)
    player.pause(float(duration), t=end)
    player.ended(t=end)
    return player


def _in_file_terms(message):
    """A tracker error message with the argument it names spelled as in --file."""
    head, space, rest = message.partition(" ")
    return _FIELD_OF.get(head, head) + space + rest


def _items(args):
    """[(label, item)] for each event to queue: the raw bytes of each --file
    line, or the event of each --events type."""
    if args.file:
        return [("line %d" % n, raw) for n, raw in enumerate(_read_file(args.file), 1) if raw.strip()]
    return [("event %d" % n, {"eventType": t}) for n, t in enumerate(args.events, 1)]


def _validate(checker, items, default_entry):
    """(entries, errors): each item parsed and queued into ``checker``, a
    throwaway in-memory tracker, so that it passes the tracker's own checks;
    'label: reason' for each one that does not."""
    entries, errors = [], []
    session_ids = {}
    for label, item in items:
        try:
            entry = item if isinstance(item, dict) else _parse_line(item)
            _queue_line(checker, entry, default_entry, session_ids)
        except (TypeError, ValueError) as exc:
            errors.append("%s: %s" % (label, _in_file_terms(str(exc))))
        else:
            entries.append(entry)
    return entries, errors


def _print_errors(errors):
    for line in errors[:MAX_REPORTED_LINES]:
        print("error: %s" % line, file=sys.stderr)
    if len(errors) > MAX_REPORTED_LINES:
        print("error: ... and %d more" % (len(errors) - MAX_REPORTED_LINES), file=sys.stderr)
    print("error: nothing queued: correct the input and run again", file=sys.stderr)


def backlog_note(tracker, queue_path):
    """(note, stale): where the undelivered beacons are ("; kept in FILE" only
    when they are on disk), and how many delivered ones the queue file still
    holds because writing to it failed during the run."""
    engine = tracker.engine
    if not queue_path:
        return "; not kept (--queue FILE keeps them for the next run)", 0
    if not engine.store_failed and not engine.unpersisted:
        return "; kept in %s" % queue_path, 0
    pending = [r["i"] for q in QUEUES for r in engine.records(q)]
    try:
        stored = {r["i"] for q in QUEUES for r in engine.store.load(q)}
    except Exception:  # the file that failed may not read any more
        stored = set()
    kept = len([i for i in pending if i in stored])
    stale = len(stored) - kept
    if kept == len(pending):
        return "; kept in %s" % queue_path, stale
    return ("; %d kept in %s, %d in memory only and lost when this run ends (writing to the "
            "queue file failed)" % (kept, queue_path, len(pending) - kept), stale)


def cmd_send(args):
    from ..cpython import SyncSender, create_tracker
    from ..cpython.store import QueueStoreError
    from ..core.tracker import mask_ks

    if not args.partner_id:
        print("error: --partner-id (or KALTURA_PARTNER_ID) is required", file=sys.stderr)
        return 2
    if not args.ks:
        print("error: --ks (or KALTURA_KS) is required", file=sys.stderr)
        return 2
    if not args.file and not args.entry_id:
        print("error: --entry-id is required unless --file is given", file=sys.stderr)
        return 2
    playback = args.protocol != "guide"
    if playback and (args.file or args.events != list(LIFECYCLE)):
        print("error: with --protocol %s, send reports one playback of --entry-id lasting --duration "
              "seconds; --events and --file are the guide's stats.collect types" % args.protocol,
              file=sys.stderr)
        return 2
    if playback and (not args.entry_id or args.duration is None):
        print("error: --protocol %s needs --entry-id and --duration" % args.protocol, file=sys.stderr)
        return 2
    log = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
    options = dict(service_url=args.service_url, analytics_url=args.analytics_url, ks=args.ks,
                   referrer=args.referrer, application=args.application, user_id=args.user_id or None,
                   protocol=args.protocol)
    try:
        checker = create_tracker(args.partner_id, **options)
        if playback:
            play_through(checker, args.entry_id, args.duration, checker.clock())
            entries, errors = [], []
        else:
            entries, errors = _validate(checker, _items(args), args.entry_id)
    except (TypeError, ValueError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    except OSError as exc:
        reason = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror or exc
        print("error: --file %s: %s" % (args.file, reason), file=sys.stderr)
        return 2
    if errors:  # all or nothing: a corrected file run again must not send a line twice
        _print_errors(errors)
        return 2
    try:  # no cap on the queue: it holds what it was given, and dropping the oldest would lose them
        tracker = create_tracker(args.partner_id, queue_path=args.queue, max_queue=sys.maxsize, **options)
    except (TypeError, ValueError, QueueStoreError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    sender = SyncSender(tracker, log=log)
    backlog = tracker.pending()
    session_ids = {}
    for entry in entries:
        _queue_line(tracker, entry, args.entry_id, session_ids)
    if playback:
        session_ids[args.entry_id] = play_through(tracker, args.entry_id, args.duration, tracker.clock()).session_id
    total = tracker.pending()
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
            engine.dead_count, "; ".join(str(d["details"].get("reason", "")) for d in tracker.diagnostics
                                         if d["code"] == diag.BEACON_DEAD_LETTERED)),
            file=sys.stderr)
    where, stale = backlog_note(tracker, args.queue)
    if stale:
        print("warning: %s still holds %d delivered beacon(s) it could not remove; the next run "
              "with it sends them again" % (args.queue, stale), file=sys.stderr)
    if tracker.pending():
        status = engine.status()
        why = ", ".join("%s queue %s" % ("stats.collect" if q == "s" else "trackEvent", s["state"])
                        for q, s in status.items() if s["pending"])
        print("error: %d beacon(s) not delivered (%s)%s" % (tracker.pending(), why, where),
              file=sys.stderr)
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
    send.add_argument("--user-id", default=env("KALTURA_USER_ID"),
                      help="userId sent on every beacon: Kaltura attributes events to it, not to the "
                           "KS user (env KALTURA_USER_ID)")
    send.add_argument("--events", type=_event_types, default=list(LIFECYCLE),
                      help="comma-separated types or names (default: 1-7, the full lifecycle)")
    send.add_argument("--file", help="JSON-lines file of events to back-fill ('-' for stdin)")
    send.add_argument("--protocol", choices=("guide", "kava", "both"), default="guide",
                      help="guide: the guide's stats.collect (default); kava: Player v7's analytics "
                           "events, what today's Kaltura reports count; both: each playback in both. "
                           "kava and both report one playback of --entry-id lasting --duration")
    send.add_argument("--duration", type=_seconds, default=None,
                      help="seconds the reported playback lasted (--protocol kava or both)")
    send.add_argument("--queue", help="SQLite file that keeps undelivered beacons across runs")
    send.add_argument("--timeout", type=_seconds, default=60.0,
                      help="give up after this many seconds (default 60)")
    send.add_argument("--progress", action="store_true", help="show a progress counter")
    send.add_argument("-v", "--verbose", action="store_true")
    send.set_defaults(func=cmd_send)
    try:
        from ..collector import commands
    except ImportError:  # collector extras (flask, cryptography) not installed
        commands = None
    if commands is not None:
        from . import demo

        commands.register(sub)
        demo.register(sub)
    return parser


# subcommand -> the modules of the `collector` extra it needs
_EXTRA_MODULES = {"serve": ("flask", "werkzeug", "cryptography"),
                  "demo": ("flask", "werkzeug", "cryptography"),
                  "ks": ("cryptography",)}


def _missing_module(command):
    """The first module of the collector extra ``command`` needs that does not import, or None."""
    for name in _EXTRA_MODULES.get(command, ()):
        try:
            importlib.import_module(name)
        except ImportError:
            return name
    return None


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    missing = _missing_module(args.command)
    if missing is not None:
        print("error: kaltura-web %s needs the collector extra (%s is not installed): "
              "pip install 'kaltura_web[collector]'" % (args.command, missing), file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
