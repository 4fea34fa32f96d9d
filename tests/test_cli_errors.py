"""Bad input to the command line: one clear message, exit status 2, no traceback, nothing queued."""

import os
import random
import shutil
import sqlite3

import pytest

from kaltura_web.cli.main import backlog_note, build_parser, main
from kaltura_web.cpython import SQLiteStore, SyncSender
from kaltura_web.cpython.store import QueueStoreError
from tests.fakes import FakeClock, ScriptedTransport, make_tracker
from tests.test_cli_send import run_cli

# a sender that would never reach anything: every error here must come before any send
SEND = ["send", "--service-url", "http://127.0.0.1:9/api_v3", "--analytics-url", "http://127.0.0.1:9",
        "--partner-id", "100", "--ks", "djJ8MTAwfGNsaS10ZXN0cw==", "--timeout", "1"]
GOOD_LINE = b'{"eventType": 1, "entryId": "1_a", "eventTimestamp": 1700000000}\n'


def _clean_failure(proc):
    """Check that a run failed as a usage error (exit 2, no traceback); its stderr lines."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr.splitlines()


# -- --timeout ----------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "soon"])
def test_timeout_must_be_a_positive_finite_number(value, capsys):
    """--timeout nan/inf/0/negative (nan never returned) is a usage error naming the option."""
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["send", "--timeout=" + value])
    assert stop.value.code == 2
    assert "argument --timeout: " in capsys.readouterr().err


# -- --queue ------------------------------------------------------------------

def _queue_file(path, records=200):
    """A real queue database holding ``records`` undelivered beacons."""
    store = SQLiteStore(path)
    for n in range(records):
        store.append("s", {"k": "s", "i": "beacon-%03d" % n, "pad": "x" * 200})
    store.close()
    return path


def _corrupt(tmp_path):
    path = tmp_path / "q.db"
    path.write_bytes(random.Random(1).randbytes(8192))
    return path, "file is not a database"


def _truncated(tmp_path):
    path = _queue_file(tmp_path / "q.db")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path, "malformed"


def _directory(tmp_path):
    path = tmp_path / "q.db"
    path.mkdir()
    return path, "is a directory"


def _no_such_directory(tmp_path):
    return tmp_path / "missing" / "q.db", "does not exist"


def _file_as_directory(tmp_path):
    (tmp_path / "plain").write_text("x")
    return tmp_path / "plain" / "q.db", "is not a directory"


def _database(tmp_path, table):
    path = tmp_path / "q.db"
    db = sqlite3.connect(path)
    db.execute(table)
    db.commit()
    db.close()
    return path


def _other_queue_table(tmp_path):
    path = _database(tmp_path, "CREATE TABLE queue (seq INTEGER PRIMARY KEY, payload TEXT)")
    return path, "not a kaltura_web queue file (no such column: queue)"


def _other_database(tmp_path):
    path = _database(tmp_path, "CREATE TABLE events (id INTEGER PRIMARY KEY)")
    return path, "not a kaltura_web queue file (it holds table events)"


BAD_QUEUES = [_corrupt, _truncated, _directory, _no_such_directory, _file_as_directory,
              _other_queue_table, _other_database]


def _contents(path):
    return path.read_bytes() if path.is_file() else None


@pytest.mark.parametrize("make", BAD_QUEUES, ids=lambda f: f.__name__.strip("_"))
def test_unusable_queue_file_is_one_clear_line(make, tmp_path):
    """A corrupt, truncated, misplaced or foreign --queue file: one line naming it and why, exit 2, file untouched."""
    path, reason = make(tmp_path)
    before = _contents(path)
    lines = _clean_failure(run_cli(*SEND, "--entry-id", "1_a", "--queue", str(path)))
    assert len(lines) == 1
    assert lines[0].startswith("error: queue file %s: " % path) and reason in lines[0]
    assert _contents(path) == before


@pytest.mark.parametrize("make", BAD_QUEUES, ids=lambda f: f.__name__.strip("_"))
def test_sqlite_store_refuses_an_unusable_file_when_it_opens(make, tmp_path):
    """SQLiteStore checks its file when it opens and raises QueueStoreError naming the path and the reason."""
    path, reason = make(tmp_path)
    with pytest.raises(QueueStoreError) as failure:
        SQLiteStore(path)
    assert str(failure.value).startswith("queue file %s: " % path) and reason in str(failure.value)
    assert isinstance(failure.value, OSError)


def _unprivileged():
    """A command prefix under which file permissions apply (root ignores them otherwise)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.fail("running as root without setpriv (util-linux): file permissions cannot be "
                    "enforced; install util-linux", pytrace=False)
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--")


def test_read_only_queue_file_is_refused_before_anything_is_sent(tmp_path):
    """A read-only --queue file (it made the CLI claim 207 kept while the file held 200) is refused up front."""
    path = _queue_file(tmp_path / "q.db")
    os.chmod(path, 0o444)
    before = path.read_bytes()
    lines = _clean_failure(run_cli(*SEND, "--entry-id", "1_a", "--queue", str(path), prefix=_unprivileged()))
    assert lines == ["error: queue file %s: attempt to write a readonly database" % path]
    assert path.read_bytes() == before


def test_queue_file_in_an_unwritable_directory_is_refused(tmp_path):
    """A --queue path that cannot be created is one clear line, exit 2."""
    folder = tmp_path / "locked"
    folder.mkdir()
    os.chmod(folder, 0o555)
    lines = _clean_failure(run_cli(*SEND, "--entry-id", "1_a", "--queue", str(folder / "q.db"),
                                   prefix=_unprivileged()))
    assert len(lines) == 1 and lines[0].startswith("error: queue file %s: " % (folder / "q.db"))
    assert os.listdir(folder) == []


class FailingStore:
    """Wraps a store; ``append`` fails after ``appends`` records and ``remove`` fails after ``removes``."""

    def __init__(self, store, appends=None, removes=None):
        self.store = store
        self.budget = {"append": appends, "remove": removes}

    def _spend(self, op):
        if self.budget[op] is not None:
            if self.budget[op] == 0:
                raise OSError("disk I/O error")
            self.budget[op] -= 1

    def append(self, queue, record):
        self._spend("append")
        return self.store.append(queue, record)

    def remove(self, queue, beacon_id):
        self._spend("remove")
        return self.store.remove(queue, beacon_id)

    def __getattr__(self, name):
        return getattr(self.store, name)


def _report_five(tracker):
    for n in range(5):
        tracker.report(3, "1_a", session_id="s", t=1700000000 + n)


def test_backlog_is_called_kept_only_for_what_is_on_disk(tmp_path):
    """When the queue file fails mid-run, the note counts what is on disk and what is in memory only."""
    path = str(tmp_path / "q.db")
    tracker = make_tracker(store=FailingStore(SQLiteStore(path), appends=3))
    _report_five(tracker)
    assert tracker.pending() == 5
    note, stale = backlog_note(tracker, path)
    assert note == ("; 3 kept in %s, 2 in memory only and lost when this run ends "
                    "(writing to the queue file failed)" % path)
    assert stale == 0


def test_backlog_note_counts_delivered_beacons_left_in_a_failed_file(tmp_path):
    """Beacons delivered after the queue file failed are still in it: the note counts them (they would be re-sent)."""
    path = str(tmp_path / "q.db")
    clock = FakeClock()
    tracker = make_tracker(clock, store=FailingStore(SQLiteStore(path), removes=1))
    _report_five(tracker)
    assert SyncSender(tracker, ScriptedTransport(), clock=clock, sleep=clock.sleep).flush(timeout=60)
    assert backlog_note(tracker, path) == ("; kept in %s" % path, 4)


def test_backlog_note_without_a_queue_file_says_nothing_is_kept():
    """Without --queue the note says the backlog is not kept, and how to keep it."""
    tracker = make_tracker()
    _report_five(tracker)
    assert backlog_note(tracker, None) == ("; not kept (--queue FILE keeps them for the next run)", 0)


# -- --file -------------------------------------------------------------------

BAD_LINES = [
    (b'{"eventType": 3, "entryId": "1_a", "eventTimestamp": 1e999}', "line 2: number 1e999 is out of range"),
    (b'{"eventType": 3, "entryId": "1_a", "currentPoint": -Infinity}', "line 2: -Infinity is not a number"),
    (b'["eventType", 3]', "line 2: expected a JSON object, got list"),
    (b'"just text"', "line 2: expected a JSON object, got str"),
    (b'{"eventType": 3, "entryId": "1_a"', "line 2: invalid JSON ("),
    (b'{"eventType": 99, "entryId": "1_a"}', "line 2: unknown eventType 99"),
    (b'{"eventType": "3", "entryId": "1_a"}', 'line 2: unknown eventType "3"'),
    (b'{"eventType": true, "entryId": "1_a"}', "line 2: unknown eventType true"),
    (b'{"eventType": 3}', "line 2: no entryId (and no --entry-id)"),
    (b'{"eventType": 3, "entryId": "1_a", "eventTimestamp": "soon"}', "line 2: eventTimestamp "),
    (b'{"eventType": 3, "entryId": "1_a", "seek": "yes"}', "line 2: seek "),
    (b'{"eventType": 10003, "pageName": "a\\ud800b"}', "line 2: pageName "),  # a lone surrogate
    (b'\xff\xfe{}', "line 2: not UTF-8 text"),
    (b"[" * 100000, "line 2: JSON nested too deeply"),
]


@pytest.mark.parametrize("line,message", BAD_LINES, ids=[m.split(": ", 1)[1][:24] for _, m in BAD_LINES])
def test_bad_file_line_is_a_clear_error(line, message, tmp_path):
    """Each kind of bad --file line gives 'error: line N: ...', exit 2, no traceback, nothing queued."""
    backfill = tmp_path / "backfill.jsonl"
    backfill.write_bytes(GOOD_LINE + line + b"\n")
    queue = tmp_path / "q.db"
    lines = _clean_failure(run_cli(*SEND, "--file", str(backfill), "--queue", str(queue)))
    assert lines[0].startswith("error: " + message), lines
    assert lines[1:] == ["error: nothing queued: correct the input and run again"]
    assert not queue.exists()


def test_every_bad_line_is_reported_in_order(tmp_path, capsys):
    """All bad lines of a file are listed with their numbers, blank lines skipped, good ones not listed."""
    backfill = tmp_path / "backfill.jsonl"
    backfill.write_bytes(GOOD_LINE + b"[]\n\n" + GOOD_LINE + b'{"eventType": 0, "entryId": "e"}\n' + GOOD_LINE)
    assert main([*SEND, "--file", str(backfill)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: line 2: expected a JSON object, got list",
        "error: line 5: unknown eventType 0 (1-40, 10002 or 10003)",
        "error: nothing queued: correct the input and run again"]


def test_list_of_bad_lines_is_capped(tmp_path, capsys):
    """A file of 30 bad lines lists the first 20 and says how many more there are."""
    backfill = tmp_path / "backfill.jsonl"
    backfill.write_bytes(b"[]\n" * 30)
    assert main([*SEND, "--file", str(backfill)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: line 1: expected a JSON object, got list"
    assert err[19].startswith("error: line 20: ")
    assert err[20:] == ["error: ... and 10 more", "error: nothing queued: correct the input and run again"]


def test_bad_line_on_stdin_is_reported(tmp_path):
    """--file - validates standard input the same way."""
    lines = _clean_failure(run_cli(*SEND, "--file", "-", stdin=GOOD_LINE.decode() + "{oops}\n"))
    assert lines[0].startswith("error: line 2: invalid JSON (")


def test_missing_file_is_a_clear_error(tmp_path):
    """A --file that does not exist: 'error: --file PATH: not found', exit 2, no traceback."""
    missing = tmp_path / "nope.jsonl"
    assert _clean_failure(run_cli(*SEND, "--file", str(missing))) == ["error: --file %s: not found" % missing]


# -- commands of the collector extra ------------------------------------------

# a fresh interpreter in which flask, werkzeug and cryptography cannot be imported
WITHOUT_EXTRA = """
import sys

class BlockCollectorExtra:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("flask", "werkzeug", "cryptography"):
            raise ModuleNotFoundError("No module named %r" % name, name=name)
        return None

sys.meta_path.insert(0, BlockCollectorExtra())
from kaltura_web.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["ks"], ["demo", "--once", "--port", "0"]],
                         ids=lambda c: c[0])
def test_collector_commands_say_which_extra_to_install(command):
    """Without the collector extra, serve/ks/demo name the extra to install (serve ended in ModuleNotFoundError)."""
    proc = run_cli(*command, program=("-c", WITHOUT_EXTRA))
    lines = _clean_failure(proc)
    assert len(lines) == 1
    assert lines[0].startswith("error: kaltura-web %s needs the collector extra (" % command[0])
    assert lines[0].endswith("pip install 'kaltura_web[collector]'")


def test_commands_without_the_extra_still_run(tmp_path):
    """Without the collector extra, commands that do not need it (verify) still run."""
    proc = run_cli("verify", "--db", str(tmp_path / "none.db"), program=("-c", WITHOUT_EXTRA))
    assert proc.returncode == 2 and proc.stderr == "no such database: %s\n" % (tmp_path / "none.db")
