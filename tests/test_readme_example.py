import pathlib
import re

from tests.fakes import ScriptedTransport

README = pathlib.Path(__file__).parent.parent / "README.md"


def test_readme_server_side_example_sends_what_its_comments_say(tmp_path):
    """The README's server-side example runs and produces the beacons its comments promise."""
    code = re.search(r"```python\n(import time\n\nfrom kaltura_web.cpython.*?)```", README.read_text(), re.S).group(1)
    transport = ScriptedTransport()
    code = code.replace("SyncSender(tracker)", "SyncSender(tracker, transport)")
    code = code.replace('"/var/lib/kiosk/kaltura-queue.db"', repr(str(tmp_path / "q.db")))
    namespace = {"user_ks": "ks-from-backend", "transport": transport}
    exec(compile(code, "README.md", "exec"), namespace)
    types = transport.event_types()
    assert [t for t in types if t < 10000] == [1, 2, 3, 4, 17, 7, 19]
    assert [t for t in types if t > 10000] == [10003, 10002]
