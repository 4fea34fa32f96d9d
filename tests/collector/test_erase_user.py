"""DELETE /dev/users/<userId> erases one user's stored events (a data-subject request, locally),
same-origin only like every development route; /dev/ks?anonymous=1 issues a KS without a user."""

import json
import urllib.parse

from kaltura_web.collector.ks import parse_ks

from collector_helpers import http, post_json, stats_fields

OTHER = "http://localhost:9999"


def store_for(kc, user_id, session_id, event_type=1, ks=None):
    """One stats.collect event of ``user_id`` (event[userId], or only the KS user when ``user_id`` is None)."""
    extra = {"userId": user_id} if user_id is not None else {}
    status, _, body = http("POST", kc.service_url + "/service/stats/action/collect",
                           stats_fields(kc, session_id, event_type, ks=ks, **extra))
    assert (status, body) == (200, b"null")


def track_for(kc, user_id, session_id):
    """One trackEvent (ButtonClicked) of ``user_id``."""
    url = kc.analytics_url + "/api_v3/index.php?service=analytics&action=trackEvent&eventType=10002"
    status, _, _ = post_json(url + "&partnerId=%d" % kc.partner_id,
                             {"userId": user_id, "sessionId": session_id, "buttonName": "b", "buttonType": "cta"})
    assert status == 200


def delete_user(kc, user_id, headers=None):
    return http("DELETE", kc.base_url + "/dev/users/" + urllib.parse.quote(user_id, safe=""), None, headers)


def test_delete_user_erases_only_that_users_events(kaltura_collector):
    """Events of ann (by event userId, by KS user alone, and trackEvents) are deleted and counted;
    bob's and anonymous events stay."""
    kc = kaltura_collector
    ann = "ann@example.com"
    store_for(kc, ann, "s-ann")
    store_for(kc, ann, "s-ann", event_type=2)
    store_for(kc, None, "s-ann-ks", ks=kc.ks(user_id=ann))
    track_for(kc, ann, "s-ann")
    store_for(kc, "bob@example.com", "s-bob")
    store_for(kc, None, "s-anon")
    assert len(kc.events(user_id=ann)) == 4
    status, _, body = delete_user(kc, ann)
    assert status == 200
    assert json.loads(body) == {"ok": True, "userId": ann, "deleted": 4}
    assert kc.events(user_id=ann) == []
    assert sorted(e["session_id"] for e in kc.events()) == ["s-anon", "s-bob"]
    status, _, body = delete_user(kc, ann)  # again: nothing left, not an error
    assert status == 200 and json.loads(body)["deleted"] == 0


def test_delete_user_takes_any_user_id_text(kaltura_collector):
    """A user id with a slash, spaces and non-ASCII letters is erased as written."""
    kc = kaltura_collector
    odd = "team/ann müller"
    store_for(kc, odd, "s-odd")
    store_for(kc, "team", "s-team")
    status, _, body = delete_user(kc, odd)
    assert status == 200 and json.loads(body)["deleted"] == 1
    assert [e["session_id"] for e in kc.events()] == ["s-team"]


def test_delete_user_refuses_other_origins_and_other_methods(kaltura_collector):
    """A cross-origin or cross-site DELETE is refused (403) and erases nothing; GET is not allowed."""
    kc = kaltura_collector
    store_for(kc, "ann", "s-ann")
    for headers in ({"Origin": OTHER}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        assert delete_user(kc, "ann", headers)[0] == 403, headers
    assert http("GET", kc.base_url + "/dev/users/ann")[0] == 405
    assert len(kc.events()) == 1
    assert delete_user(kc, "ann", {"Origin": kc.base_url})[0] == 200
    assert kc.events() == []


def test_dev_ks_anonymous_has_no_user(kaltura_collector):
    """/dev/ks?anonymous=1 (what an "anonymous": true page asks) gives a KS without a user, whatever
    userId says; without it the user is in the KS."""
    kc = kaltura_collector
    secrets = kc.server.config.secrets_by_partner
    anonymous = json.loads(http("GET", kc.base_url + "/dev/ks?userId=ann&appId=portal&anonymous=1")[2])
    info = parse_ks(anonymous["ks"], secrets)
    assert info.user_id == "" and info.ks_type == 0 and info.app_id == "portal"
    named = json.loads(http("GET", kc.base_url + "/dev/ks?userId=ann")[2])
    assert parse_ks(named["ks"], secrets).user_id == "ann"
