"""Root conftest: pytest-playwright launches Debian's Chromium (Playwright cannot
download its own browser here).  It must be the root conftest so that every
test folder gets the override (see /work/shared/spec/toolchain.md)."""

import os

import pytest

CHROMIUM = os.environ.get("KALTURA_WEB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    # no DNS lookups of vendor hosts: only the local collector is reachable
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make setup` (apt-get install chromium) "
                    "or set KALTURA_WEB_CHROMIUM", pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}
