import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_reports_a_kiosk_playback_end_to_end(tmp_path):
    """`kaltura-web demo --once` starts the collector, issues a KS server-side and delivers a lint-clean playback."""
    proc = subprocess.run([sys.executable, "-m", "kaltura_web", "demo", "--once", "--port", "0",
                           "--db", str(tmp_path / "demo.db")], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for name in ("WIDGET_LOADED", "MEDIA_LOADED", "PLAY ", "PLAY_REACHED_100", "PageLoad", "ButtonClicked"):
        assert "stored " + name in out
    assert "linter: no violations" in out
    assert "app=lobby-kiosk" in out and "user=kiosk-001@example.com" in out
