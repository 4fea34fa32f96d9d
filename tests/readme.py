"""The marked code examples of README.md.

An example is a fenced code block whose previous line is ``<!-- example: NAME -->``;
``EXAMPLES`` names every one and the test file that runs it as written.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKED = re.compile(r"^<!-- example: ([\w-]+) -->\n```(\w+)\n(.*?)^```$", re.M | re.S)
FENCE = re.compile(r"^```(\w+)\n", re.M)

EXAMPLES = {
    "python-api": "tests/test_readme_examples.py",
    "cli": "tests/test_readme_examples.py",
    "cli-serve": "tests/test_readme_examples.py",
    "pytest-plugin": "tests/test_readme_examples.py",
    "portal-page": "e2e/test_readme_player.py",
    "custom-player": "e2e/test_readme_player.py",
    "portal-kava": "e2e/test_kava_portal.py",
    "cmp-consent": "e2e/test_consent.py",
}


def marked_blocks(text=None) -> list:
    """(name, language, code) of every marked block, in README order."""
    return MARKED.findall(README.read_text(encoding="utf-8") if text is None else text)


def example(name) -> str:
    """The code of the README example ``name``; fails the test when it is not marked exactly once."""
    codes = [code for marked, _, code in marked_blocks() if marked == name]
    if len(codes) != 1:
        pytest.fail(f"README.md has {len(codes)} blocks marked '<!-- example: {name} -->' (expected one)",
                    pytrace=False)
    return codes[0]
