"""Every arrival is stored, as on Kaltura: repeats are marked, counted, flagged and listed."""

import json
import sqlite3
import subprocess
import sys

import pytest

from kaltura_web.collector.linter import lint
from kaltura_web.collector.reports import TOP_CONTENT, report_total
from kaltura_web.collector.store import Store, StoreError
from kaltura_web.collector.summary import summary

from collector_helpers import http, stats_fields

# the events table as it was before duplicate_of: a repeated beacon was refused by UNIQUE
OLD_TABLE = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, service TEXT NOT NULL,
    partner_id INTEGER, entry_id TEXT, event_type INTEGER, session_id TEXT, event_timestamp REAL,
    user_id TEXT, app_id TEXT, ks_type INTEGER, ks_masked TEXT, beacon_id TEXT, fields TEXT NOT NULL,
    UNIQUE (service, beacon_id));
CREATE INDEX events_session ON events (session_id, seq);
"""


def insert(store, beacon_id, event_type=3, service="stats", session_id="s"):
    return store.insert(service=service, fields={"eventType": event_type}, event_type=event_type,
                        session_id=session_id, entry_id="0_e", beacon_id=beacon_id)


def test_store_keeps_every_arrival_marking_repeats():
    """A beacon inserted again is a new row whose duplicate_of is its first arrival's seq (per service)."""
    store = Store()
    first, _ = insert(store, "b1")
    assert insert(store, "b1") == (first + 1, first)
    assert insert(store, "b1", service="analytics")[1] is None  # another service: a first arrival
    assert insert(store, None)[1] is None and insert(store, None)[1] is None  # no id: never a repeat
    assert [e["duplicate_of"] for e in store.events()] == [None, first, None, None, None]
    assert [e["seq"] for e in store.events(duplicates=False)] == [first, first + 2, first + 3, first + 4]
    assert store.duplicates() == ["b1"]


def test_old_database_with_unique_constraint_opens_and_keeps_its_rows(tmp_path):
    """A database of the UNIQUE(service, beacon_id) layout is rebuilt in place: rows, seqs and the seq counter kept."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_TABLE)
    for n in (1, 2, 3):
        conn.execute("INSERT INTO events (received_at, service, event_type, session_id, beacon_id, fields)"
                     " VALUES (?, 'stats', 3, 's', ?, '{\"n\": 1}')", (float(n), f"b{n}"))
    conn.execute("DELETE FROM events WHERE seq = 3")  # the counter (3) is ahead of the rows
    conn.commit()
    conn.close()
    store = Store(path)
    assert [(e["seq"], e["beacon_id"], e["duplicate_of"]) for e in store.events()] == \
        [(1, "b1", None), (2, "b2", None)]
    assert insert(store, "b1") == (4, 1)  # a repeat is stored now, after the old counter
    store.close()
    store = Store(path)  # reopening the rebuilt file changes nothing
    assert [e["seq"] for e in store.events()] == [1, 2, 4] and store.duplicates() == ["b1"]
    store.close()


@pytest.mark.parametrize("make", ["missing folder", "not sqlite"])
def test_unopenable_database_is_a_store_error(tmp_path, make):
    """A database path in a missing folder, or a file that is not SQLite, raises StoreError naming the path."""
    path = tmp_path / "nowhere" / "x.db"
    if make == "not sqlite":
        path = tmp_path / "text.db"
        path.write_text("this is not a database, " * 100)
    with pytest.raises(StoreError, match="cannot open the event database .*x?\\.db"):
        Store(path)


@pytest.mark.parametrize("command", ["serve", "verify", "report"])
def test_commands_on_an_unopenable_database_end_in_one_error_line(tmp_path, command):
    """`serve --db /missing/dir/x.db` (and verify/report on a non-SQLite file) exit 2 with one error: line."""
    db = tmp_path / "missing" / "x.db"
    if command != "serve":
        db = tmp_path / "text.db"
        db.write_text("not a database " * 100)
    args = ["--port", "0"] if command == "serve" else []
    proc = subprocess.run([sys.executable, "-m", "kaltura_web.collector", command, "--db", str(db), *args],
                          capture_output=True, text=True, timeout=30)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: cannot open the event database") and str(db) in lines[0]


def test_linter_flags_each_repeat_and_judges_it_as_an_event():
    """duplicate-beacon names the first arrival; the repeated quartile also counts, as on Kaltura."""
    store = Store()
    for n, t in enumerate((1, 2, 3, 4)):
        insert(store, f"b{n}", event_type=t)
    insert(store, "b3", event_type=4)  # PLAY_REACHED_25 arrives again
    found = lint(store.events())
    assert [f.rule for f in found] == ["duplicate-beacon", "quartile-duplicate"]
    assert found[0].seq == store.events()[-1]["seq"] and "first stored as seq=4" in found[0].message
    assert lint(store.events(duplicates=False)) == []


def test_reports_and_summary_count_repeats_and_list_them():
    """A re-sent PLAY counts as a second play (Kaltura counts it); the summary lists the repeat."""
    store = Store()
    for n, t in enumerate((1, 2, 3)):
        insert(store, f"b{n}", event_type=t)
    insert(store, "b2", event_type=3)
    assert report_total(TOP_CONTENT, store.events()).values["count_plays"] == 2
    data = summary(store.events())
    assert (data["totals"]["events"], data["totals"]["plays"], data["totals"]["duplicates"]) == (4, 2, 1)
    assert data["duplicateBeacons"] == ["b2"]


def test_dev_routes_show_repeats(kaltura_collector, collect_url):
    """/dev/summary lists the repeated beacon, /dev/verify flags it, /dev/events shows both arrivals."""
    kc = kaltura_collector
    for _ in range(2):
        assert http("POST", collect_url, stats_fields(kc, "dup", 1, beaconId="again"))[2] == b"null"
    body = json.loads(http("GET", kc.base_url + "/dev/summary")[2])
    assert body["totals"]["duplicates"] == 1 and body["duplicateBeacons"] == ["again"]
    findings = json.loads(http("GET", kc.base_url + "/dev/verify")[2])["findings"]
    assert [f["rule"] for f in findings] == ["duplicate-beacon"]
    events = json.loads(http("GET", kc.base_url + "/dev/events?sessionId=dup")[2])["events"]
    assert [e["duplicate_of"] for e in events] == [None, events[0]["seq"]]
