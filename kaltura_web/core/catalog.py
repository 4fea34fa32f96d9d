"""Kaltura's event catalogs: pure data, shared by the SDK and the collector.

* ``STATS_EVENT_TYPES``: the 40 stats.collect event types (KalturaStatsEventType).
* ``PLAYER_EVENTS``: the Player v7 event names a custom player reports and the
  stats.collect type each one becomes (``None``: it goes to the ``on_event``
  hook only and produces no stats.collect beacon).
* ``APPLICATION_EVENTS``: analytics.trackEvent application events.
* ``KAVA_EVENT_TYPES``: the playback event ids of KAVA, the model Player v7
  sends through analytics.trackEvent (reference.md section 3).
"""

STATS_EVENT_TYPES = {
    1: "WIDGET_LOADED",
    2: "MEDIA_LOADED",
    3: "PLAY",
    4: "PLAY_REACHED_25",
    5: "PLAY_REACHED_50",
    6: "PLAY_REACHED_75",
    7: "PLAY_REACHED_100",
    8: "OPEN_EDIT",
    9: "OPEN_VIRAL",
    10: "OPEN_DOWNLOAD",
    11: "OPEN_REPORT",
    12: "BUFFER_START",
    13: "BUFFER_END",
    14: "OPEN_FULL_SCREEN",
    15: "CLOSE_FULL_SCREEN",
    16: "REPLAY",
    17: "SEEK",
    18: "OPEN_UPLOAD",
    19: "SAVE_PUBLISH",
    20: "CLOSE_EDITOR",
    21: "PRE_BUMPER_PLAYED",
    22: "POST_BUMPER_PLAYED",
    23: "BUMPER_CLICKED",
    24: "PREROLL_STARTED",
    25: "MIDROLL_STARTED",
    26: "POSTROLL_STARTED",
    27: "OVERLAY_STARTED",
    28: "PREROLL_CLICKED",
    29: "MIDROLL_CLICKED",
    30: "POSTROLL_CLICKED",
    31: "OVERLAY_CLICKED",
    32: "PREROLL_25",
    33: "PREROLL_50",
    34: "PREROLL_75",
    35: "MIDROLL_25",
    36: "MIDROLL_50",
    37: "MIDROLL_75",
    38: "POSTROLL_25",
    39: "POSTROLL_50",
    40: "POSTROLL_75",
}

STATS_TYPE_BY_NAME = {name: num for num, name in STATS_EVENT_TYPES.items()}

MIN_STATS_TYPE = 1
MAX_STATS_TYPE = 40

# Player v7 event name -> stats.collect type, or None for hook-only events.
PLAYER_EVENTS = {
    "WIDGET_LOADED": 1,
    "MEDIA_LOADED": 2,
    "PLAY_REQUEST": None,
    "PLAY": 3,
    "FIRST_PLAY": None,
    "RESUME": None,
    "PAUSE": None,
    "SEEK": 17,
    "REPLAY": 16,
    "PLAY_REACHED_25": 4,
    "PLAY_REACHED_50": 5,
    "PLAY_REACHED_75": 6,
    "PLAY_REACHED_90": None,  # KAVA only (15)
    "PLAY_REACHED_100": 7,
    "BUFFER_START": 12,
    "BUFFER_END": 13,
    "ERROR": None,
    "SOURCE_SELECTED": None,
    "FLAVOR_SWITCH": None,
    "SPEED": None,
    "CAPTIONS": None,
    "RELATED_CLICKED": None,
    "SHARE_CLICKED": 9,
    "DOWNLOAD_CLICKED": 10,
    "REPORT_CLICKED": 11,
    "ENTER_FULLSCREEN": 14,
    "EXIT_FULLSCREEN": 15,
    "ENDED": None,
    # ads and bumpers (custom ad players report them through the ad API)
    "PRE_BUMPER_PLAYED": 21,
    "POST_BUMPER_PLAYED": 22,
    "BUMPER_CLICKED": 23,
    "PREROLL_STARTED": 24,
    "MIDROLL_STARTED": 25,
    "POSTROLL_STARTED": 26,
    "OVERLAY_STARTED": 27,
    "PREROLL_CLICKED": 28,
    "MIDROLL_CLICKED": 29,
    "POSTROLL_CLICKED": 30,
    "OVERLAY_CLICKED": 31,
    "PREROLL_25": 32,
    "PREROLL_50": 33,
    "PREROLL_75": 34,
    "MIDROLL_25": 35,
    "MIDROLL_50": 36,
    "MIDROLL_75": 37,
    "POSTROLL_25": 38,
    "POSTROLL_50": 39,
    "POSTROLL_75": 40,
}

KAVA_EVENT_TYPES = {
    1: "IMPRESSION",
    2: "PLAY_REQUEST",
    3: "PLAY",
    4: "RESUME",
    11: "PLAY_REACHED_25",
    12: "PLAY_REACHED_50",
    13: "PLAY_REACHED_75",
    14: "PLAY_REACHED_100",
    15: "PLAY_REACHED_90",
    21: "SHARE_CLICKED",
    22: "SHARE_NETWORK",
    23: "DOWNLOAD",
    24: "REPORT_CLICKED",
    25: "REPORT_SUBMITTED",
    31: "ENTER_FULLSCREEN",
    32: "EXIT_FULLSCREEN",
    33: "PAUSE",
    34: "REPLAY",
    35: "SEEK",
    36: "RELATED_OPEN",
    37: "RELATED_SELECTED",
    38: "CAPTIONS",
    39: "SOURCE_SELECTED",
    40: "INFO",
    41: "SPEED",
    42: "AUDIO_SELECTED",
    43: "FLAVOR_SWITCH",
    45: "BUFFER_START",
    46: "BUFFER_END",
    98: "ERROR",
    99: "VIEW",
}
KAVA_TYPE_BY_NAME = {name: num for num, name in KAVA_EVENT_TYPES.items()}

BUTTON_CLICKED = 10002
PAGE_LOAD = 10003
APPLICATION_EVENTS = {BUTTON_CLICKED: "ButtonClicked", PAGE_LOAD: "PageLoad"}

# trackEvent fields in the order a beacon carries them.
TRACK_EVENT_FIELDS = (
    "eventType",
    "partnerId",
    "entryId",
    "kalturaApplication",
    "pageType",
    "pageName",
    "buttonType",
    "buttonName",
)

# stats.collect event fields the guide names, required first.
STATS_REQUIRED_FIELDS = ("partnerId", "entryId", "eventType", "sessionId", "eventTimestamp")
STATS_OPTIONAL_FIELDS = ("uiconfId", "clientVer", "referrer", "currentPoint", "duration", "seek")

# Attribution (reference.md sections 2 and 6), sent when known: Kaltura reads the
# user of a stats.collect event from event[userId], not from the KS.
STATS_ATTRIBUTION_FIELDS = ("widgetId", "userId", "applicationId")
TRACK_ATTRIBUTION_FIELDS = ("sessionId", "userId", "kalturaApplicationVer", "virtualEventId",
                            "pageValue", "pageInfo", "buttonValue", "buttonInfo")


def stats_type_name(event_type) -> str:
    """The catalog name of a stats.collect type, e.g. 3 -> 'PLAY'."""
    return STATS_EVENT_TYPES.get(event_type, "UNKNOWN")


def is_stats_type(event_type) -> bool:
    return type(event_type) is int and MIN_STATS_TYPE <= event_type <= MAX_STATS_TYPE


def stats_type_for(player_event: str):
    """The stats.collect type a Player v7 event maps to, or None (hook only)."""
    return PLAYER_EVENTS.get(player_event)
