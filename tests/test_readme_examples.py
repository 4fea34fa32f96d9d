"""README examples run as written: the Python API, the command line and the pytest plugin.

Blocks are found by their ``<!-- example: NAME -->`` marker (tests/readme.py). Only the
collector's address changes, by two documented mechanisms:

* the Python API example reads its partner id, KS and endpoints from the environment
  variables ``KALTURA_PARTNER_ID``, ``KALTURA_KS``, ``KALTURA_SERVICE_URL`` and
  ``KALTURA_ANALYTICS_URL``; the test sets them to the plugin's collector;
* the shell examples name the local collector's default address ``127.0.0.1:8765``;
  the test replaces that address (and nothing else) with its own collector's, and the
  ``serve`` example's ``--port 8765`` with a free port.

The page examples (portal, custom player) run in Chromium: e2e/test_readme_player.py.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kaltura_web.core.catalog import STATS_TYPE_BY_NAME as T
from tests.readme import EXAMPLES, FENCE, README, ROOT, example, marked_blocks

DEFAULT_ADDRESS = "127.0.0.1:8765"
VENV_BIN = str(Path(sys.executable).parent)


def run_env(**extra):
    """The environment of an example: no KALTURA_* of ours, the venv's scripts first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALTURA_") or k == "KALTURA_WEB_CHROMIUM"}
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def at_collector(script, address, count):
    """``script`` with the default collector address replaced by ``address`` (it must occur ``count`` times)."""
    assert script.count(DEFAULT_ADDRESS) == count, f"expected {count} x {DEFAULT_ADDRESS} in:\n{script}"
    return script.replace(DEFAULT_ADDRESS, address)


def address_of(kc):
    return kc.base_url.split("://", 1)[1]


def types(events):
    return [e["event_type"] for e in events]


def test_every_example_is_marked_once():
    """README.md marks each example this suite runs exactly once, and nothing unknown."""
    names = [name for name, _, _ in marked_blocks()]
    assert sorted(names) == sorted(EXAMPLES), names


def test_every_python_block_is_a_marked_example():
    """No Python block of README.md escapes the examples that are run."""
    text = README.read_text(encoding="utf-8")
    fenced = [lang for lang in FENCE.findall(text) if lang == "python"]
    marked = [lang for _, lang, _ in marked_blocks(text) if lang == "python"]
    assert len(fenced) == len(marked) > 0


def test_marker_parsing_fails_on_a_missing_example():
    """A README without the marker makes the example lookup fail the test, not skip it."""
    assert marked_blocks("```python\nprint(1)\n```\n") == []
    with pytest.raises(pytest.fail.Exception, match="0 blocks marked '<!-- example: no-such-example -->'"):
        example("no-such-example")


def test_python_api_example_delivers_what_its_comments_say(kaltura_collector, tmp_path):
    """The server-side example, run by a fresh interpreter, delivers the beacons its comments promise."""
    kc = kaltura_collector
    (tmp_path / "example.py").write_text(example("python-api"))
    env = run_env(KALTURA_PARTNER_ID=str(kc.partner_id), KALTURA_SERVICE_URL=kc.service_url,
                  KALTURA_ANALYTICS_URL=kc.analytics_url,
                  KALTURA_KS=kc.ks("kiosk-001@example.com", app_id="lobby-kiosk"))
    proc = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    stats = kc.events(service="stats")
    assert types(stats) == [T[n] for n in ("WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "PLAY_REACHED_25",
                                           "SEEK", "PLAY_REACHED_100")] + [19]
    assert len({e["session_id"] for e in stats[:6]}) == 1
    seek = stats[4]["fields"]
    assert (seek["seek"], seek["currentPoint"]) == ("true", "50")
    assert {(e["fields"]["referrer"], e["user_id"], e["app_id"]) for e in stats} == \
        {("kiosk://device-001", "kiosk-001@example.com", "lobby-kiosk")}
    track = kc.events(service="analytics")
    assert [(e["event_type"], e["fields"].get("kalturaApplication")) for e in track] == \
        [(10003, "lobby-kiosk"), (10002, "lobby-kiosk")]
    assert (track[0]["fields"]["pageName"], track[1]["fields"]["buttonName"]) == ("main-lobby", "register-now")
    assert (tmp_path / "kaltura-queue.db").exists()


def test_cli_example_sends_through_the_local_collector(kaltura_collector, tmp_path):
    """The command-line example, run by bash, sends a lifecycle, named events and a back-fill file."""
    kc = kaltura_collector
    script = at_collector(example("cli"), address_of(kc), 2)
    proc = subprocess.run(["bash", "-eu", "-c", script], cwd=tmp_path, env=run_env(), capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sessions = re.findall(r"^session (\S+)$", proc.stdout, re.M)  # the ids the CLI made up
    assert len(sessions) == 2, proc.stdout
    kc.assert_session(sessions[0], [1, 2, 3, 4, 5, 6, 7])
    kc.assert_session(sessions[1], ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY", "OPEN_VIRAL"])
    kc.assert_session("backfill-1", ["WIDGET_LOADED", "MEDIA_LOADED", "PLAY"])
    assert {e["fields"].get("referrer") for e in kc.events(session_id=sessions[0])} == {"kiosk://device-001"}
    (page_load,) = kc.events(service="analytics")
    assert (page_load["event_type"], page_load["fields"]["pageName"]) == (10003, "main-lobby")
    assert {(e["user_id"], e["app_id"]) for e in kc.events()} == {("kiosk-001@example.com", "lobby-kiosk")}
    shown = re.findall(r"djJ8\S*", proc.stdout + proc.stderr)
    assert shown and all("…" in ks for ks in shown), shown  # the KS only ever printed masked
    assert (tmp_path / "backfill.jsonl").exists() and (tmp_path / "backlog.db").exists()
    assert kc.verify() == []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_answering(url, proc, timeout=30.0):
    """Poll ``url`` until it answers 200 (the example's server started), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status
        except OSError:
            time.sleep(0.2)  # poll interval; fails below when the deadline passes
    pytest.fail(f"{url} never answered (exit status {proc.poll()})")


def test_serve_example_starts_a_collector(tmp_path):
    """`kaltura-web serve` as written starts a collector with its database and stops cleanly on Ctrl-C."""
    port = free_port()
    script = example("cli-serve")
    assert script.count("--port 8765") == 1, script  # the default port, replaced by a free one
    script = script.replace("--port 8765", f"--port {port}")
    proc = subprocess.Popen(["bash", "-c", script], cwd=tmp_path, env=run_env(PYTHONUNBUFFERED="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert wait_answering(f"http://127.0.0.1:{port}/dev/info", proc) == 200
        assert (tmp_path / "events.db").exists()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, to the example's own process group
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert f"service URL   : http://127.0.0.1:{port}/api_v3" in out, out


def test_pytest_plugin_example_passes_in_a_fresh_folder(tmp_path):
    """The plugin example, copied beside the root conftest into an empty folder, passes under pytest."""
    (tmp_path / "test_portal.py").write_text(example("pytest-plugin"))
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_portal.py"],
                          cwd=tmp_path, env=run_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
