"""``kaltura-web demo``: the local collector, the demo pages, and a server-side
example that reports a kiosk playback through the public Python API."""

import json
import time
import urllib.parse
import urllib.request

from ..core.tracker import mask_ks


def start_session(service_url, partner_id, admin_secret, user_id, app_id):
    """session.start, server-side (guide 8.2): the admin secret stays here."""
    body = urllib.parse.urlencode({"secret": admin_secret, "format": "1", "type": "0",
                                   "partnerId": str(partner_id), "userId": user_id,
                                   "privileges": "appId:" + app_id}).encode()
    with urllib.request.urlopen(service_url + "/service/session/action/start", body, timeout=10) as resp:
        return json.loads(resp.read())


def report_kiosk_playback(service_url, analytics_url, partner_id, ks, clock=time.time, say=print,
                          user_id=None):
    """A kiosk plays a 60 s entry to the end: the SDK decides the beacons
    (each carrying ``user_id``, whom Kaltura counts them for)."""
    from ..cpython import SyncSender, create_tracker

    tracker = create_tracker(partner_id, service_url=service_url, analytics_url=analytics_url, ks=ks,
                             referrer="kiosk://device-001", application="lobby-kiosk", user_id=user_id)
    sender = SyncSender(tracker)
    start = clock()
    tracker.page_load(page_type="kiosk", page_name="lobby-screen", entry_id="1_demo")
    player = tracker.player("1_demo", ready=False)
    player.ready(t=start)
    player.loaded(duration=60.0, t=start)
    player.play(position=0.0, t=start + 1)
    for second in range(5, 61, 5):  # a kiosk reports its playhead every 5 s
        player.progress(float(second), t=start + 1 + second)
    player.ended(t=start + 61.2)
    tracker.button_click("cta", "register-now", entry_id="1_demo")
    delivered = sender.flush(timeout=30)
    say("server-side example: %d beacons delivered, session %s" % (sender.sent, player.session_id))
    return delivered, player.session_id


def cmd_demo(args):
    from ..core.catalog import APPLICATION_EVENTS, stats_type_name
    from ..collector.linter import ERROR, lint
    from ..collector.server import CollectorServer

    server = CollectorServer(db=args.db, port=args.port, quiet=not args.verbose).start()
    partner, secret = server.partner_id, server.config.admin_secret
    print("kaltura-web demo: local collector at %s" % server.base_url)
    user = "kiosk-001@example.com"
    ks = start_session(server.service_url, partner, secret, user, "lobby-kiosk")
    print("session.start issued KS %s for %s (appId lobby-kiosk)" % (mask_ks(ks), user))
    ok, session_id = report_kiosk_playback(server.service_url, server.analytics_url, partner, ks,
                                           user_id=user)
    for e in server.store.events(user_id=user):
        name = APPLICATION_EVENTS.get(e["event_type"]) or stats_type_name(e["event_type"])
        print("  stored %-18s currentPoint=%-3s user=%s app=%s" % (
            name, e["fields"].get("currentPoint", "-"), e["user_id"], e["app_id"]))
    linted = lint(server.store.events(session_id=session_id), warnings=True)
    findings = [f for f in linted if f.severity == ERROR]
    print("linter: %s" % ("no violations" if not findings else "; ".join(str(f) for f in findings)))
    for warning in linted[len(findings):]:  # advice only: a kiosk has no player uiconf
        print("linter: %s" % warning)
    print()
    print("  dashboard:       %s/" % server.base_url)
    print("  portal page:     %s/web/portal.html" % server.base_url)
    print("  custom player:   %s/web/player.html" % server.base_url)
    print("  events as JSON:  %s/dev/events" % server.base_url)
    if args.once:
        server.stop()
        return 0 if ok and not findings else 1
    print("\nPlay the demo video in a page and watch its events arrive. Ctrl-C stops.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def register(subparsers):
    demo = subparsers.add_parser("demo", help="run the local collector with the demo pages and a server-side example")
    demo.add_argument("--port", type=int, default=8765)
    demo.add_argument("--db", default="kaltura-web-demo.db")
    demo.add_argument("--once", action="store_true", help="exit after the server-side example")
    demo.add_argument("-v", "--verbose", action="store_true", help="log every request")
    demo.set_defaults(func=cmd_demo)
