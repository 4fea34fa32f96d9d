"""The system step of `make setup` (tools/setup_system.sh) driven with a fake apt-get.

Each case builds a bin folder holding only the commands the simulated machine has, plus an
apt-get that records what it was asked for and "installs" the packages it knows by creating
their commands.  PATH holds nothing else, so the real machine's tools cannot leak in."""

import os
import stat
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tools", "setup_system.sh")
BASH = "/bin/bash"

# which commands each Debian package provides on a real system
PROVIDES = {"chromium": ["chromium"], "ffmpeg": ["ffmpeg"], "curl": ["curl"],
            "nodejs": ["node"], "npm": ["npm"]}

FAKE_APT = """#!/bin/bash
echo "$*" >> "{log}"
if [ "$1" = install ]; then
  for arg in "$@"; do
    case "$arg" in
{cases}
    esac
  done
fi
exit {status}
"""


def _tool(path, body="#!/bin/bash\nexit 0\n"):
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


def _run(tmp_path, present, apt_status=0):
    """Run the script on a machine with only ``present`` commands; returns (result, apt calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    log.touch()
    for name in present:
        _tool(bin_dir / name)
    cases = "\n".join("      %s) %s ;;" % (pkg, " ".join(
        "printf '#!/bin/bash\\n' > '%s/%s'; chmod +x '%s/%s';" % (bin_dir, c, bin_dir, c) for c in cmds))
        for pkg, cmds in PROVIDES.items())
    _tool(bin_dir / "apt-get", FAKE_APT.format(log=log, cases=cases, status=apt_status))
    result = subprocess.run([BASH, SCRIPT], capture_output=True, text=True, timeout=30,
                            env={"PATH": str(bin_dir)})
    calls = [line.split() for line in log.read_text().splitlines()]
    return result, calls


def _installed(calls):
    return [c for call in calls if call and call[0] == "install" for c in call[1:] if not c.startswith("-")]


def test_nodesource_machine_gets_only_chromium_and_ffmpeg(tmp_path):
    """With node and npm already working (NodeSource), apt is never asked for nodejs or npm."""
    result, calls = _run(tmp_path, ["node", "npm", "curl"])
    assert result.returncode == 0, result.stderr
    assert _installed(calls) == ["chromium", "ffmpeg"]
    assert ["update", "-qq"] in calls
    assert result.stdout.count("\n") == 1 and "chromium" in result.stdout
    assert "e2e tests" in result.stdout and "test video" in result.stdout


def test_complete_machine_runs_no_apt_at_all(tmp_path):
    """Nothing missing: no apt-get call, no output, success."""
    result, calls = _run(tmp_path, ["chromium", "ffmpeg", "curl", "node", "npm"])
    assert result.returncode == 0, result.stderr
    assert calls == [] and result.stdout == ""


def test_bare_machine_gets_debian_node(tmp_path):
    """Without any Node.js, Debian's nodejs and npm are installed with the rest, in one apt call."""
    result, calls = _run(tmp_path, [])
    assert result.returncode == 0, result.stderr
    assert _installed(calls) == ["chromium", "ffmpeg", "curl", "nodejs", "npm"]
    assert sum(1 for c in calls if c[0] == "install") == 1


def test_node_without_npm_fails_loudly_without_apt(tmp_path):
    """node present but npm missing: no apt call for npm (it would conflict); a clear error."""
    result, calls = _run(tmp_path, ["chromium", "ffmpeg", "curl", "node"])
    assert result.returncode == 1
    assert calls == []
    assert "npm" in result.stderr and "NodeSource" in result.stderr


def test_failed_install_is_reported_not_hidden(tmp_path):
    """apt-get failing makes the step fail (non-zero), never a silent success."""
    result, _ = _run(tmp_path, ["node", "npm", "curl", "ffmpeg"], apt_status=100)
    assert result.returncode != 0
