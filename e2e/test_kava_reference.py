"""Kaltura's own Player v7 with its KAVA plugin as the reference KAVA stream (issue 11).

``web/reference/player-v7.html`` plays ``web/media/kava.webm`` (25 s, built by the Makefile)
through ``@playkit-js/kaltura-player-js`` 3.17.95 (``dist/kaltura-ovp-player.js``) and
``@playkit-js/playkit-js-kava`` 0.15.1 (``dist/playkit-kava.js``), test-time npm packages of
``web/package.json``, with no Kaltura backend: the media comes from ``setMedia`` with one
progressive source and KAVA's ``serviceUrl`` is the local collector. Requests that leave
localhost (with a KS, Player v7 asks ``user.get`` of cdnapisec.kaltura.com) are aborted by a
Playwright route and written down; playback and KAVA go on without them.

``test_player_v7_kava_stream`` checks the stream against reference.md section 3 and against
``kava_reference_observed.json``, what was observed when the reference was recorded::

    KAVA_REFERENCE_RECORD=1 .venv/bin/python -m pytest e2e/test_kava_reference.py -q -p no:randomly

rewrites that file from a fresh run (``record_observation``). ``test_kaltura_web_kava_matches_
player_v7`` plays the same clip through kaltura_web in KAVA mode
(``web/reference/kaltura-web-kava.html``) and compares its stream with the recorded one,
naming each difference a plain ``<video>`` cannot avoid (``PLAYER_ONLY_*``, ``KW_ONLY_PARAMS``).
"""

import json
import os
import re
import urllib.parse
from pathlib import Path

import pytest

from e2e_helpers import wait_in_page, wait_until, wait_video

ROOT = Path(__file__).resolve().parent.parent
OBSERVED = Path(__file__).with_name("kava_reference_observed.json")
RECORD = os.environ.get("KAVA_REFERENCE_RECORD") == "1"
PLAYER_JS = "web/node_modules/@playkit-js/kaltura-player-js/dist/kaltura-ovp-player.js"
KAVA_JS = "web/node_modules/@playkit-js/playkit-js-kava/dist/playkit-kava.js"
CLIP = "/web/media/kava.webm"
ENTRY_ID = "0_kavaref1"
UICONF_ID = 23448
PLAY_TIMEOUT = 90_000  # ms: a 25-s clip on a loaded 2-core machine

# KAVA playback event ids (reference.md section 3)
KAVA = {1: "IMPRESSION", 2: "PLAY_REQUEST", 3: "PLAY", 4: "RESUME", 11: "PLAY_REACHED_25",
        12: "PLAY_REACHED_50", 13: "PLAY_REACHED_75", 14: "PLAY_REACHED_100", 15: "PLAY_REACHED_90",
        33: "PAUSE", 34: "REPLAY", 35: "SEEK", 39: "SOURCE_SELECTED", 41: "SPEED",
        43: "FLAVOR_SWITCH", 45: "BUFFER_START", 46: "BUFFER_END", 98: "ERROR", 99: "VIEW"}
VIEW, PLAY, FLAVOR_EVENTS = 99, 3, (43, 39)
# a full playback of this clip in reference.md's terms (the flavor event left out: see below)
EXPECTED_IDS = [1, 2, 3, 99, 11, 99, 12, 13, 99, 14, 33]
COMMON = {"eventType", "partnerId", "entryId", "sessionId", "eventIndex", "referrer",
          "deliveryType", "playbackType", "clientVer", "position"}  # reference.md: on every event
VIEW_PARAMS = {"playTimeSum", "bufferTime", "bufferTimeSum", "actualBitrate", "averageBitrate",
               "soundMode", "tabMode"}
REQUEST_PARAMS = {"service", "action"}  # the API call itself, not a parameter of the event
TRANSPORT_PARAMS = {"apiVersion", "format"}  # what Player v7's HTTP client adds to every call
# values that describe this playback rather than one run (the rest are times, ids, URLs)
VOLATILE = {"eventType", "eventIndex", "sessionId", "sessionStartTime", "referrer", "ks",
            "position", "playTimeSum", "joinTime", "canPlay", "partnerId", "entryId"}
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Differences a plain <video> cannot avoid, each with its reason (the comparison allows them).
PLAYER_ONLY_EVENTS = {
    43: "FLAVOR_SWITCH: Player v7 turns its one progressive source into a video track and "
        "reports selecting it (VIDEO_TRACK_CHANGED with ABR on); a <video> with one src has no "
        "flavor list, so kaltura_web reports a flavor only when the page says so (kaltura:flavor)",
    39: "SOURCE_SELECTED: the same track selection with ABR off",
}
KW_ONLY_EVENTS = {
    15: "PLAY_REACHED_90: in reference.md section 3 and issue 11; KAVA 0.15.1 predates it",
}
PLAYER_ONLY_PARAMS = {
    "actualBitrate": "the playing flavor's bitrate from Player v7's track list (-1 here: the "
                     "progressive track has no bandwidth); kaltura_web sends it only where known",
    "averageBitrate": "the flavors' bitrates weighted by play time: needs the flavor list",
    "audioLanguage": "the language of Player v7's active audio track (empty here)",
    "captionsLanguage": "the language of Player v7's active text track (empty here)",
    "droppedFramesRatio": "Player v7's getVideoPlaybackQuality delta between VIEWs",
    "networkConnectionType": "navigator.connection.effectiveType; no KAVA field of reference.md",
    "joinTime": "PLAY: seconds from Player v7's own play request to playing",
    "canPlay": "PLAY: seconds from Player v7's loadstart to canplay",
}
KW_ONLY_PARAMS = {
    "eventTimestamp": "kaltura_web stamps each beacon: it may leave later, from its durable queue",
    "beaconId": "kaltura_web's key for a beacon it retries",
    "userId": "the configured viewer (the reference page configures no KAVA userId)",
    "kalturaApplication": "configured application (none on the reference page)",
    "kalturaApplicationVer": "configured application version",
    "virtualEventId": "configured virtual event",
    "playbackSpeed": "a common parameter in kaltura_web; Player v7 0.15.1 sends it on VIEW only",
    "screenMode": "VIEW field of reference.md that Player v7 0.15.1 does not send",
    "viewabilityMode": "VIEW field of reference.md that Player v7 0.15.1 does not send",
}
FIRST_ANSWER = "sessionStartTime"  # absent on what is sent before the first answer arrives
VIEW_TOLERANCE = 1.5  # s of playTimeSum: Player v7's first timer VIEW comes after 11 ticks
CLIENT_ONLY_VALUES = {"clientVer", "clientTag", "apiVersion", "format"}
# measurements of this run's playback (0 here): recorded, not compared
MEASURED = {"bufferTime", "bufferTimeSum", "droppedFramesRatio", "networkConnectionType"}


@pytest.fixture(scope="module", autouse=True)
def _reference_files():
    missing = [p for p in (PLAYER_JS, KAVA_JS, "web/media/kava.webm") if not (ROOT / p).exists()]
    if missing:
        pytest.fail("reference files missing (run `make setup`): " + ", ".join(missing), pytrace=False)


def is_track_event(url):
    split = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
    if "/service/analytics/action/trackEvent" in split.path:
        return True
    return split.path.startswith("/api_v3") and (query.get("service"), query.get("action")) == \
        ("analytics", "trackEvent")


def body_params(request):
    """The parameters of a request body: JSON object or form, else {}."""
    data = request.post_data
    if not data:
        return {}
    if "json" in (request.headers.get("content-type") or ""):
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(data).items()}
    return dict(urllib.parse.parse_qsl(data, keep_blank_values=True))


class TrackEventWire:
    """The analytics.trackEvent requests of a browser context, in the order it made them."""

    def __init__(self, context):
        self.requests = []
        self.answered = 0  # requests whose answer the browser has read
        context.on("request", self._on_request)
        context.on("requestfinished", self._on_finished)

    def _on_finished(self, request):
        if is_track_event(request.url):
            self.answered += 1

    def _on_request(self, request):
        if not is_track_event(request.url):
            return
        split = urllib.parse.urlsplit(request.url)
        self.requests.append({
            "method": request.method, "path": split.path,
            "query": urllib.parse.parse_qsl(split.query, keep_blank_values=True),
            "body": body_params(request), "content_type": request.headers.get("content-type")})

    def wait(self, page, count, answered=False):
        """Wait until ``count`` requests were made (or answered): Playwright delivers its
        events during its own calls, so each poll makes one."""
        def read():
            page.evaluate("0")
            return self.answered if answered else len(self.requests)
        wait_until(read, f"{count} trackEvent requests {'answered' if answered else 'made'}",
                   until=lambda n: n >= count)


def kava_stream(wire, stored):
    """One dict per KAVA event, in the order sent: its wire parameters and where it was."""
    by_index = {}
    for e in stored:
        by_index.setdefault(int(float(e["fields"]["eventIndex"])), e)
    events = []
    for req in wire.requests:
        params = {**dict(req["query"]), **req["body"]}
        if int(params["eventType"]) >= 10000:
            continue  # an application event (PageLoad, ButtonClicked)
        index = int(float(params["eventIndex"]))
        events.append({"params": {k: v for k, v in params.items() if k not in REQUEST_PARAMS},
                       "query": [k for k, _v in req["query"] if k not in REQUEST_PARAMS],
                       "body": sorted(req["body"]), "method": req["method"], "path": req["path"],
                       "content_type": req["content_type"], "eventType": int(params["eventType"]),
                       "eventIndex": index, "received_at": by_index[index]["received_at"]})
    return events


def stored_kava(kc):
    return [e for e in kc.events(service="analytics", entry_id=ENTRY_ID) if e["event_type"] < 10000]


def wait_stored(kc, what, until):
    """Poll the collector until the event ids of the entry's KAVA events satisfy ``until``;
    returns the events."""
    wait_until(lambda: [e["event_type"] for e in stored_kava(kc)], what, until=until, timeout=30)
    return stored_kava(kc)


def play_player_v7(browser, kc):
    """Play the clip to the end through Player v7 + KAVA; its stream and what it tried abroad."""
    context = browser.new_context()
    base, foreign, errors = kc.base_url, [], []

    def abort(route):
        foreign.append(f"{route.request.method} {route.request.url.split('?')[0]}")
        route.abort()

    context.route(lambda url: not url.startswith(base + "/"), abort)
    wire = TrackEventWire(context)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        query = urllib.parse.urlencode({"partnerId": kc.partner_id, "entryId": ENTRY_ID, "clip": CLIP,
                                        "ks": kc.ks(), "uiConfId": UICONF_ID, "duration": 25})
        page.goto(f"{base}/web/reference/player-v7.html?{query}")
        wait_in_page(page, "window.kavaReference && (kavaReference.ready || kavaReference.error)",
                     "Player v7 to be set up", observe="window.kavaReference")
        assert page.evaluate("kavaReference.error") is None, page.evaluate("kavaReference.error")
        # IMPRESSION comes when the source is selected; KAVA takes sessionStartTime from its
        # answer, which a viewer's click would also wait for
        wire.wait(page, 1, answered=True)
        page.evaluate("kavaReference.player.play()")
        wait_video(page, "v.ended", "Player v7 to play the clip to the end", timeout=PLAY_TIMEOUT)
        duration = page.evaluate("document.querySelector('video').duration")
        # the two leave together (KAVA sends without waiting for answers): either may arrive first
        stored = wait_stored(kc, "PLAY_REACHED_100 and PAUSE", until=lambda ids: {14, 33} <= set(ids))
        wire.wait(page, len(stored))
    finally:
        context.close()
    return kava_stream(wire, stored), duration, foreign, errors


def params_by_event(stream):
    """Event id -> its parameter names (the same on every event with that id, checked)."""
    out = {}
    for e in stream:
        names = sorted(e["params"])
        assert out.setdefault(e["eventType"], names) == names, f"{KAVA[e['eventType']]} varies"
    return out


def observe(stream, duration, foreign, errors):
    """What the reference stream shows, as kava_reference_observed.json holds it."""
    play_at = next(e["received_at"] for e in stream if e["eventType"] == PLAY)
    views = [e for e in stream if e["eventType"] == VIEW]
    constant = {}
    for e in stream:
        for k, v in e["params"].items():
            if k not in VOLATILE:
                constant.setdefault(k, set()).add(v)
    by_id = params_by_event(stream)
    return {
        "player": {"@playkit-js/kaltura-player-js": "3.17.95", "@playkit-js/playkit-js-kava": "0.15.1",
                   "files": [PLAYER_JS, KAVA_JS], "page": "web/reference/player-v7.html"},
        "clip": {"url": CLIP, "duration": duration},
        "transport": {
            "methods": sorted({e["method"] for e in stream}), "paths": sorted({e["path"] for e in stream}),
            "content_types": sorted({e["content_type"] or "none" for e in stream}),
            "body_params": sorted({k for e in stream for k in e["body"]}),
            "fixed_query": {"service": "analytics", "action": "trackEvent",
                            **{k: v for k, v in stream[0]["params"].items() if k in TRANSPORT_PARAMS}}},
        "ids": [e["eventType"] for e in stream],
        "names": [KAVA.get(e["eventType"], "?") for e in stream],
        "eventIndex": [e["eventIndex"] for e in stream],
        "common_params": sorted(set.intersection(*(set(e["params"]) for e in stream))),
        "params": {str(k): v for k, v in sorted(by_id.items())},
        "query_order": {str(e["eventType"]): e["query"] for e in stream},
        "constant_values": {k: sorted(v)[0] for k, v in sorted(constant.items()) if len(v) == 1},
        "session_ids": len({e["params"]["sessionId"] for e in stream}),
        "events": [{"eventIndex": e["eventIndex"], "eventType": e["eventType"],
                    "name": KAVA.get(e["eventType"], "?"), "position": float(e["params"]["position"]),
                    "at": round(e["received_at"] - play_at, 2) + 0.0,
                    "sessionStartTime": FIRST_ANSWER in e["params"]} for e in stream],
        "views": [{"eventIndex": v["eventIndex"], "at": round(v["received_at"] - play_at, 2) + 0.0,
                   "playTimeSum": float(v["params"]["playTimeSum"]),
                   "position": float(v["params"]["position"])} for v in views],
        "aborted_requests": {u: foreign.count(u) for u in sorted(set(foreign))},
        "page_errors": sorted(set(errors)),
    }


def compact_json(value, indent=""):
    """JSON with one line per key, lists of plain values and flat objects kept on one line."""
    flat = not isinstance(value, (dict, list)) or all(not isinstance(v, (dict, list)) for v in
                                                      (value.values() if isinstance(value, dict) else value))
    if flat:
        return json.dumps(value, ensure_ascii=False)
    inner = indent + " "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {compact_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return "[\n" + ",\n".join(inner + compact_json(v, inner) for v in value) + "\n" + indent + "]"


def record_observation(observation, path=OBSERVED):
    """Write the observation as the reference fixture (KAVA_REFERENCE_RECORD=1)."""
    path.write_text(compact_json(observation) + "\n", encoding="utf-8")


def load_observation(path=OBSERVED):
    if not path.exists():
        pytest.fail(f"{path.name} missing: record it with KAVA_REFERENCE_RECORD=1", pytrace=False)
    return json.loads(path.read_text(encoding="utf-8"))


def without_flavor(ids):
    return [i for i in ids if i not in FLAVOR_EVENTS]


def assert_view_cadence(views, expected_views=3):
    """VIEW right after PLAY, then one per ~10 s of playing (playTimeSum)."""
    sums = [v["playTimeSum"] for v in views]
    assert len(sums) == expected_views, f"VIEWs {views}"
    assert sums[0] < 1.0, f"the first VIEW comes with PLAY: {sums}"
    gaps = [b - a for a, b in zip(sums, sums[1:])]
    assert all(9.0 <= g <= 12.5 for g in gaps), f"playTimeSum between VIEWs: {gaps}"


def test_player_v7_kava_stream(browser, kaltura_collector):
    """Player v7 + KAVA played to the end: the stream of reference.md section 3, as recorded."""
    stream, duration, foreign, errors = play_player_v7(browser, kaltura_collector)
    seen = observe(stream, duration, foreign, errors)
    ids = seen["ids"]
    assert without_flavor(ids) == EXPECTED_IDS, seen["names"]
    flavor = [i for i, t in enumerate(ids) if t in FLAVOR_EVENTS]
    assert len(flavor) == 1 and ids.index(PLAY) < flavor[0] < ids.index(11), seen["names"]
    assert seen["eventIndex"] == list(range(1, len(ids) + 1))
    assert seen["session_ids"] == 1 and re.fullmatch(f"{UUID}:{UUID}", stream[0]["params"]["sessionId"])
    assert seen["transport"]["methods"] == ["GET"] and seen["transport"]["body_params"] == []
    assert all(COMMON <= set(e["params"]) for e in stream)
    assert [e["sessionStartTime"] for e in seen["events"]] == [False] + [True] * (len(ids) - 1)
    assert VIEW_PARAMS | {"playbackSpeed"} <= set(seen["params"][str(VIEW)])
    assert_view_cadence(seen["views"])
    quartiles = {e["eventType"]: e["position"] for e in seen["events"] if e["eventType"] in (11, 12, 13, 14)}
    assert all(quartiles[t] / duration >= r - 0.005 for t, r in ((11, .25), (12, .5), (13, .75), (14, 1)))
    if RECORD:
        record_observation(seen)
    recorded = load_observation()
    assert without_flavor(ids) == without_flavor(recorded["ids"])
    assert {ids[i] for i in flavor} == set(recorded["ids"]) & set(FLAVOR_EVENTS)
    assert seen["params"] == recorded["params"]
    assert seen["common_params"] == recorded["common_params"]
    assert seen["transport"] == recorded["transport"]
    assert {k: v for k, v in seen["constant_values"].items() if k not in MEASURED} == \
        {k: v for k, v in recorded["constant_values"].items() if k not in MEASURED}
    assert set(seen["aborted_requests"]) == set(recorded["aborted_requests"])
    for now, then in zip(seen["views"], recorded["views"], strict=True):
        assert abs(now["playTimeSum"] - then["playTimeSum"]) <= VIEW_TOLERANCE, (now, then)


def same_value(a, b):
    """Wire values alike: numbers by value ("1" == "1.0"), the rest as text."""
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


def expected_difference(v7_names, kw_names, first):
    """The parameters kaltura_web lacks and adds beyond the named differences."""
    missing = set(v7_names) - set(kw_names) - TRANSPORT_PARAMS - set(PLAYER_ONLY_PARAMS)
    extra = set(kw_names) - set(v7_names) - TRANSPORT_PARAMS - set(KW_ONLY_PARAMS)
    if first:  # sent before any answer: sessionStartTime depends on when the answer comes
        missing.discard(FIRST_ANSWER)
        extra.discard(FIRST_ANSWER)
    return sorted(missing), sorted(extra)


def test_kaltura_web_kava_matches_player_v7(kw_pages, kaltura_collector):
    """kaltura_web in KAVA mode on the same clip sends Player v7's stream, but for named differences."""
    recorded = load_observation()
    reference_ids = [i for i in recorded["ids"] if i not in PLAYER_ONLY_EVENTS]
    query = urllib.parse.urlencode({"partnerId": kaltura_collector.partner_id, "entryId": ENTRY_ID,
                                    "clip": CLIP, "uiConfId": UICONF_ID})
    holder = {}
    kw = kw_pages(f"/web/reference/kaltura-web-kava.html?{query}",
                  setup=lambda p: holder.setdefault("wire", TrackEventWire(p.context)))
    wire = holder["wire"]
    kw.video("return v.play()")
    kw.wait_video("v.ended", "kaltura_web's page to play the clip to the end", timeout=PLAY_TIMEOUT)
    stored = wait_stored(kaltura_collector, f"KAVA events like {reference_ids}",
                         until=lambda ids: len([i for i in ids if i not in KW_ONLY_EVENTS]) >= len(reference_ids)
                         and reference_ids[-1] in ids)
    wire.wait(kw.page, len(stored))
    stream = kava_stream(wire, stored)

    got = [e["eventType"] for e in stream]
    assert [KAVA.get(i, i) for i in got if i not in KW_ONLY_EVENTS] == [KAVA[i] for i in reference_ids]
    assert 15 in got  # kaltura_web sends the 90% event (current Player v7 does; KAVA 0.15.1 predates it)
    assert got.index(13) < got.index(15) < got.index(14), [KAVA.get(i, i) for i in got]
    assert [e["eventIndex"] for e in stream] == list(range(1, len(stream) + 1))
    assert len({e["params"]["sessionId"] for e in stream}) == 1
    assert re.fullmatch(r"[^:]+:[^:]+", stream[0]["params"]["sessionId"])
    for e in stream:  # transport: POST, the four keys in the query string, the rest in the body
        assert e["method"] == "POST" and {"eventType", "partnerId", "entryId", "sessionId"} <= set(e["query"])
    v7_params = {int(k): v for k, v in recorded["params"].items()}
    problems = []
    for n, e in enumerate(stream):
        like = 14 if e["eventType"] == 15 else e["eventType"]  # 90% carries what the other quartiles do
        missing, extra = expected_difference(v7_params[like], e["params"], n == 0)
        if missing or extra:
            problems.append(f"{KAVA[e['eventType']]}: lacks {missing}, adds {extra}")
    assert not problems, problems
    for name, value in recorded["constant_values"].items():
        if name in CLIENT_ONLY_VALUES or name in PLAYER_ONLY_PARAMS or name in MEASURED:
            continue
        got = {e["params"][name] for e in stream if name in e["params"]}
        assert got and all(same_value(g, value) for g in got), (name, got, value)
    views = [{"playTimeSum": float(e["params"]["playTimeSum"])} for e in stream if e["eventType"] == VIEW]
    assert_view_cadence(views, len(recorded["views"]))
    for mine, theirs in zip(views, recorded["views"], strict=True):
        assert abs(mine["playTimeSum"] - theirs["playTimeSum"]) <= VIEW_TOLERANCE, (mine, theirs)
