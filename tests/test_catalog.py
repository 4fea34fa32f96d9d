"""The event catalogs against the guide's tables, written out here by hand (not derived from the code)."""

from kaltura_web.core import catalog

# guide, "stats.collect event types": number -> name
GUIDE_STATS_TYPES = """
1 WIDGET_LOADED 2 MEDIA_LOADED 3 PLAY 4 PLAY_REACHED_25 5 PLAY_REACHED_50 6 PLAY_REACHED_75
7 PLAY_REACHED_100 8 OPEN_EDIT 9 OPEN_VIRAL 10 OPEN_DOWNLOAD 11 OPEN_REPORT 12 BUFFER_START
13 BUFFER_END 14 OPEN_FULL_SCREEN 15 CLOSE_FULL_SCREEN 16 REPLAY 17 SEEK 18 OPEN_UPLOAD
19 SAVE_PUBLISH 20 CLOSE_EDITOR 21 PRE_BUMPER_PLAYED 22 POST_BUMPER_PLAYED 23 BUMPER_CLICKED
24 PREROLL_STARTED 25 MIDROLL_STARTED 26 POSTROLL_STARTED 27 OVERLAY_STARTED 28 PREROLL_CLICKED
29 MIDROLL_CLICKED 30 POSTROLL_CLICKED 31 OVERLAY_CLICKED 32 PREROLL_25 33 PREROLL_50 34 PREROLL_75
35 MIDROLL_25 36 MIDROLL_50 37 MIDROLL_75 38 POSTROLL_25 39 POSTROLL_50 40 POSTROLL_75
""".split()


def test_stats_types_match_the_guide_exactly():
    """Every one of the 40 stats.collect types has the guide's number and name, and no other exists."""
    expected = {int(GUIDE_STATS_TYPES[i]): GUIDE_STATS_TYPES[i + 1] for i in range(0, len(GUIDE_STATS_TYPES), 2)}
    assert catalog.STATS_EVENT_TYPES == expected
    assert catalog.STATS_TYPE_BY_NAME == {name: num for num, name in expected.items()}
    assert (catalog.MIN_STATS_TYPE, catalog.MAX_STATS_TYPE) == (1, 40)


def test_application_events_are_10002_and_10003():
    """ButtonClicked is 10002 and PageLoad 10003 (guide, application events)."""
    assert catalog.APPLICATION_EVENTS == {10002: "ButtonClicked", 10003: "PageLoad"}
    assert (catalog.BUTTON_CLICKED, catalog.PAGE_LOAD) == (10002, 10003)


def test_player_events_map_to_the_guides_types():
    """Player v7 names become the stats type of the same meaning; hook-only ones become none."""
    expect = {"WIDGET_LOADED": 1, "MEDIA_LOADED": 2, "PLAY": 3, "PLAY_REACHED_25": 4, "PLAY_REACHED_50": 5,
              "PLAY_REACHED_75": 6, "PLAY_REACHED_100": 7, "SHARE_CLICKED": 9, "DOWNLOAD_CLICKED": 10,
              "REPORT_CLICKED": 11, "BUFFER_START": 12, "BUFFER_END": 13, "ENTER_FULLSCREEN": 14,
              "EXIT_FULLSCREEN": 15, "REPLAY": 16, "SEEK": 17, "PRE_BUMPER_PLAYED": 21, "POSTROLL_75": 40}
    for name, number in expect.items():
        assert catalog.stats_type_for(name) == number, name
    hook_only = ("PLAY_REQUEST", "FIRST_PLAY", "RESUME", "PAUSE", "ERROR", "SOURCE_SELECTED",
                 "FLAVOR_SWITCH", "SPEED", "CAPTIONS", "RELATED_CLICKED", "ENDED")
    assert [catalog.stats_type_for(n) for n in hook_only] == [None] * len(hook_only)
    assert catalog.stats_type_for("NO_SUCH_EVENT") is None
    # every ad and bumper type of the guide (21-40) is reachable from a player event of the same name
    for number in range(21, 41):
        assert catalog.stats_type_for(catalog.STATS_EVENT_TYPES[number]) == number


def test_type_helpers_accept_exactly_the_40_integers():
    """is_stats_type is true for ints 1..40 only (not bools, floats, strings); names fall back to UNKNOWN."""
    assert [n for n in range(-1, 43) if catalog.is_stats_type(n)] == list(range(1, 41))
    assert not catalog.is_stats_type(True) and not catalog.is_stats_type(3.0) and not catalog.is_stats_type("3")
    assert catalog.stats_type_name(3) == "PLAY" and catalog.stats_type_name(41) == "UNKNOWN"


def test_field_lists_follow_the_guide():
    """Required stats fields are the guide's five, in order; trackEvent fields start with the routing ones."""
    assert catalog.STATS_REQUIRED_FIELDS == ("partnerId", "entryId", "eventType", "sessionId", "eventTimestamp")
    assert catalog.STATS_OPTIONAL_FIELDS == ("uiconfId", "clientVer", "referrer", "currentPoint", "duration", "seek")
    assert catalog.TRACK_EVENT_FIELDS[:3] == ("eventType", "partnerId", "entryId")
    assert set(catalog.TRACK_EVENT_FIELDS[3:]) == {"kalturaApplication", "pageType", "pageName", "buttonType",
                                                    "buttonName"}


def test_the_hook_only_player_events_are_listed_by_name():
    """The catalog names exactly the Player v7 events that reach on_event without a stats.collect beacon."""
    hook_only = {"PLAY_REQUEST", "FIRST_PLAY", "RESUME", "PAUSE", "ERROR", "SOURCE_SELECTED", "FLAVOR_SWITCH",
                 "SPEED", "CAPTIONS", "RELATED_CLICKED", "ENDED", "PLAY_REACHED_90"}
    assert {name for name, number in catalog.PLAYER_EVENTS.items() if number is None} == hook_only
    # every stats type but 8 (OPEN_EDIT) and 18-20 (upload, publish, editor) has exactly one player event
    assert sorted(n for n in catalog.PLAYER_EVENTS.values() if n is not None) == \
        list(range(1, 8)) + list(range(9, 18)) + list(range(21, 41))
