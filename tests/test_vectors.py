import json
import pathlib
import shutil
import subprocess

import pytest

from tests.vectors import runner

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent
VECTORS = HERE / "vectors" / "playback.json"
DATA = json.loads(VECTORS.read_text())
KAVA_VECTORS = HERE / "vectors" / "kava.json"
KAVA = json.loads(KAVA_VECTORS.read_text())


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["name"] for c in DATA["cases"]])
def test_vector_on_cpython(case):
    """Each conformance vector gives exactly its expected events and beacons on CPython."""
    assert runner.run_case(case, DATA["defaults"]) == []


@pytest.mark.parametrize("case", KAVA["cases"], ids=[c["name"] for c in KAVA["cases"]])
def test_kava_vector_on_cpython(case):
    """Each KAVA vector gives exactly its expected KAVA (and stats.collect) beacons on CPython."""
    assert runner.run_case(case, KAVA["defaults"]) == []


def test_a_wrong_kava_expectation_fails():
    """The KAVA comparison is real: a changed eventIndex or a missing VIEW field is a mismatch."""
    case = json.loads(json.dumps(KAVA["cases"][0]))
    case["kava"][-1][2] += 1
    assert runner.run_case(case, KAVA["defaults"]) != []
    case = json.loads(json.dumps(KAVA["cases"][0]))
    del case["kava"][3][5]["playTimeSum"]
    assert runner.run_case(case, KAVA["defaults"]) != []


def test_vectors_on_micropython():
    """The same vectors pass on MicroPython 1.28 (WebAssembly in Node) with the core unchanged."""
    node = shutil.which("node")
    mp = ROOT / "web" / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
    if node is None or not mp.exists():
        pytest.fail("node and web/node_modules are required: run `make test` (it installs them)")
    proc = subprocess.run([node, str(HERE / "micropython" / "run_vectors.mjs"), str(VECTORS), str(KAVA_VECTORS)],
                          capture_output=True, text=True, timeout=120)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "%d passed, 0 failed" % len(DATA["cases"]) in proc.stdout
    assert "%d passed, 0 failed" % len(KAVA["cases"]) in proc.stdout


def test_a_wrong_expectation_fails():
    """The runner really compares: a vector with a changed expectation reports a mismatch."""
    case = json.loads(json.dumps(DATA["cases"][0]))
    case["beacons"][-1][2] += 1
    assert runner.run_case(case, DATA["defaults"]) != []
