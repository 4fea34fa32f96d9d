"""The mutation tester (tools/mutation): its operators, its runs in a copy of the package, its report."""

import ast
import hashlib
import os
import re
import shutil

import pytest

from tools.mutation import operators, targets
from tools.mutation.__main__ import main
from tools.mutation.runner import KILLED, SURVIVED, TIMEOUT, SetupError, Workspace


def mutated(source, operator):
    """Every mutant of ``source`` made by ``operator``, as normalised source."""
    return [operators.mutate(source, m).strip() for m in operators.mutants(source, "m.py", [operator])]


def norm(source):
    return ast.unparse(ast.parse(source))


FUNC = "def f():\n    %s\n"
OPERATOR_CASES = [
    ("compare", "x = a < b", ["x = a <= b"]),
    ("compare", "x = a <= b", ["x = a < b"]),
    ("compare", "x = a > b", ["x = a >= b"]),
    ("compare", "x = a >= b", ["x = a > b"]),
    ("compare", "x = a == b", ["x = a != b"]),
    ("compare", "x = a != b", ["x = a == b"]),
    ("compare", "x = a is None", ["x = a is not None"]),
    ("compare", "x = a is not None", ["x = a is None"]),
    ("compare", "x = a in b", ["x = a not in b"]),
    ("compare", "x = a not in b", ["x = a in b"]),
    ("compare", "x = a < b < c", ["x = a <= b < c", "x = a < b <= c"]),
    ("boolean", "x = a and b", ["x = a or b"]),
    ("boolean", "x = a or b", ["x = a and b"]),
    ("negation", "x = not a", ["x = a"]),
    ("arithmetic", "x = a + b", ["x = a - b"]),
    ("arithmetic", "x = a - b", ["x = a + b"]),
    ("arithmetic", "x = a * b", ["x = a / b"]),
    ("arithmetic", "x = a / b", ["x = a * b"]),
    ("arithmetic", "x = a // b", ["x = a / b"]),
    ("arithmetic", "x = a % b", ["x = a // b"]),
    ("arithmetic", "x += 2", ["x -= 2"]),
    ("arithmetic", "x = 'n=%d' % n", []),
    ("arithmetic", "x = 'a' + b", []),
    ("number", "x = 5", ["x = 6"]),
    ("number", "x = 0", ["x = 1"]),
    ("number", "x = 1", ["x = 2", "x = 0"]),
    ("number", "x = 0.5", ["x = 1.5"]),
    ("number", "x = a[-1]", ["x = a[-2]", "x = a[-0]"]),
    ("truth", "x = True", ["x = False"]),
    ("truth", "x = False", ["x = True"]),
    ("string", "x = 'id'", ["x = 'XXidXX'"]),
    ("string", "x = ''", ["x = 'XXXX'"]),
    ("return_none", FUNC % "return a", [FUNC % "return None"]),
    ("return_none", FUNC % "return None", []),
    ("return_none", FUNC % "return", []),
    ("statement", FUNC % "g()\n    x = 1\n    x += 1",
     [FUNC % "pass\n    x = 1\n    x += 1", FUNC % "g()\n    pass\n    x += 1", FUNC % "g()\n    x = 1\n    pass"]),
    ("statement", "g()\nx = 1", []),
    ("loop", "for i in a:\n    break", ["for i in a:\n    continue"]),
    ("loop", "for i in a:\n    continue", ["for i in a:\n    break"]),
    ("slice_bound", "x = a[i:j]", ["x = a[i + 1:j]", "x = a[i:j - 1]"]),
    ("slice_bound", "x = a[1:]", []),
    ("default", "def f(a, b=2, *, c=None, d=''):\n    pass",
     ["def f(a, b=None, *, c=None, d=''):\n    pass", "def f(a, b=2, *, c=None, d=None):\n    pass"]),
    ("default", "g = lambda a=1: a", ["g = lambda a=None: a"]),
]


@pytest.mark.parametrize("operator, source, expected", OPERATOR_CASES,
                         ids=["%s-%d" % (case[0], i) for i, case in enumerate(OPERATOR_CASES)])
def test_each_operator_makes_exactly_its_mutants(operator, source, expected):
    """Each operator turns a small snippet into exactly the expected mutated snippets."""
    assert mutated(source, operator) == [norm(e) for e in expected]


PROTECTED = '''"""Docstring."""
import os
from a import b
__all__ = ["x"]


def f(x: int = 7) -> str:
    """Docstring."""
    assert x > 0
    if x == 3:
        raise ValueError("x must not be 3")
    y = f"{x + 1}"
    return "kept"  # pragma: no mutate


if __name__ == "__main__":
    f(3)
'''


def test_protected_places_are_not_mutated():
    """Docstrings, imports, __all__, annotations, asserts, raise messages, f-strings, pragma lines and the
    main block give no mutant; the rest of the function still does."""
    found = [(m.lineno, m.operator, m.describe()) for m in operators.mutants(PROTECTED)]
    assert found == [
        (7, "default", "7 -> None"), (7, "number", "7 -> 8"),
        (10, "compare", "x == 3 -> x != 3"), (10, "number", "3 -> 4"),
        (12, "statement", "y = f'{x + 1}' -> pass"),
    ]


def test_a_mutant_of_another_source_is_refused():
    """Applying a mutant to a source it was not listed from raises ValueError instead of mutating blindly."""
    mutant = operators.mutants("x = a < b\n")[0]
    with pytest.raises(ValueError):
        operators.mutate("y = 1\nx = a < b\n", mutant)


CALC = '''def clamp(x, low, high):
    if x < low:
        return low
    return min(x, high)


def count_to(n):
    i = 0
    while i != n:
        i += 1
    return i
'''
CALC_TESTS = '''from calc.core import clamp, count_to


def test_clamp():
    assert clamp(-5, 0, 10) == 0


def test_count():
    assert count_to(3) == 3
'''
TESTS = ["tests_calc/test_calc.py"]


@pytest.fixture
def project(tmp_path):
    """A tiny project: package calc (module core) and one test file; returns its root."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "calc").mkdir()
    (tmp_path / "calc" / "__init__.py").write_text("")
    (tmp_path / "calc" / "core.py").write_text(CALC)
    (tmp_path / "tests_calc").mkdir()
    (tmp_path / "tests_calc" / "test_calc.py").write_text(CALC_TESTS)
    return tmp_path


def fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns


def pick(operator, line):
    return [m for m in operators.mutants(CALC, "calc/core.py", [operator]) if m.line == line][0]


def test_runs_report_killed_survived_and_timeout_and_leave_the_source_alone(project):
    """A mutant the tests miss survives, one they catch is killed, one that loops forever is cut by its
    timeout; the source file is byte-for-byte and mtime unchanged afterwards."""
    source = project / "calc" / "core.py"
    before = fingerprint(source)
    survivor, killed, looping = pick("compare", "if x < low:"), pick("return_none", "return low"), \
        pick("arithmetic", "i += 1")
    plan = [(survivor, 60), (killed, 60), (looping, 3)]
    with Workspace(str(project), "calc", jobs=2) as workspace:
        assert workspace.baseline("calc/core.py", TESTS) > 0
        outcomes = workspace.map(lambda item: workspace.run_mutant(item[0], TESTS, item[1]), plan)
    assert [o.status for o in outcomes] == [SURVIVED, KILLED, TIMEOUT]
    assert fingerprint(source) == before
    assert not os.path.exists(workspace.dir)


def test_failing_tests_before_any_mutation_stop_the_tool(project):
    """When the tests fail on the unmutated module, the baseline raises SetupError (no score from them)."""
    (project / "tests_calc" / "test_calc.py").write_text(CALC_TESTS + "\n\ndef test_broken():\n    assert False\n")
    with Workspace(str(project), "calc") as workspace, pytest.raises(SetupError):
        workspace.baseline("calc/core.py", TESTS)


def test_a_copy_that_leads_back_to_the_sources_is_refused(project):
    """If the copy's package resolves to the real sources, the tool writes nothing and raises SetupError."""
    source = project / "calc" / "core.py"
    before = fingerprint(source)
    with Workspace(str(project), "calc") as workspace:
        copy = os.path.join(workspace.dir, "copy0")
        shutil.rmtree(os.path.join(copy, "calc"))
        os.symlink(str(project / "calc"), os.path.join(copy, "calc"))
        with pytest.raises(SetupError):
            workspace.run_mutant(pick("return_none", "return low"), TESTS, 60)
    assert fingerprint(source) == before


def test_command_prints_the_table_and_the_survivors_and_honours_min_score(project, capsys):
    """The command line prints one row per module and each survivor with its place and original line,
    and exits 1 when a module scores below --min-score."""
    code = main(["--root", str(project), "--core", "calc", "--tests", TESTS[0], "--operator", "compare",
                 "--min-score", "60"])
    out = capsys.readouterr().out
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in out.splitlines()
            if line.startswith("| calc/") or line.startswith("| total")]
    assert rows == [["calc/core.py", "2", "1", "0", "1", "50.0"], ["total", "2", "1", "0", "1", "50.0"]]
    assert re.search(r"calc/core.py:2  \[compare\]  x < low -> x <= low\n\s+if x < low:", out)
    assert code == 1


def test_core_is_the_core_folder_once_it_exists(tmp_path):
    """With kaltura_web/core/ present its modules are the core; without it the listed top-level modules."""
    package = tmp_path / "kaltura_web"
    package.mkdir()
    for name in ("session.py", "cli.py"):
        (package / name).write_text("")
    assert targets.core_modules(str(tmp_path)) == ["kaltura_web/session.py"]
    (package / "core").mkdir()
    for name in ("__init__.py", "tracker.py", "catalog.py"):
        (package / "core" / name).write_text("")
    assert targets.core_modules(str(tmp_path)) == ["kaltura_web/core/catalog.py", "kaltura_web/core/tracker.py"]
    with pytest.raises(ValueError):
        targets.core_modules(str(tmp_path), "kaltura_web/nowhere")


DIAGNOSING = '''def f(self, x):
    self._report(diag.QUEUE_FULL, "queue full", queue="s")
    entry = {"code": "hook-failed", "message": "hook raised", "details": {}}
    self.log("not a diagnostic", x)
    return x + 1  # pragma: no mutate (shown equivalent)
'''


def test_diagnostic_messages_and_pragma_lines_are_excluded_and_counted():
    """Diagnostic message text and pragma lines give no mutant (exclude=False lists them); other strings do."""
    kept = [m.describe() for m in operators.mutants(DIAGNOSING, "m.py", ["string", "return_none"])]
    assert kept == ["'s' -> 'XXsXX'", "'code' -> 'XXcodeXX'", "'hook-failed' -> 'XXhook-failedXX'",
                    "'message' -> 'XXmessageXX'", "'details' -> 'XXdetailsXX'", "'not a diagnostic' -> "
                    "'XXnot a diagnosticXX'"]
    everything = [m.describe() for m in operators.mutants(DIAGNOSING, "m.py", ["string", "return_none"],
                                                          exclude=False)]
    assert sorted(set(everything) - set(kept)) == ["'hook raised' -> 'XXhook raisedXX'",
                                                   "'queue full' -> 'XXqueue fullXX'", "return x + 1 -> return None"]
