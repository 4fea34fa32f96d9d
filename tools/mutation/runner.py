"""Runs tests against mutants, in throw-away copies of the package.

The sources are only read.  Each job owns one copy of the package in a
temporary folder; a mutant is written into that copy, the tests run in a
pytest subprocess whose working folder and first PYTHONPATH entry is the copy,
and the copy gets its original text back afterwards.  A small plugin written
into each copy stops the run (exit 97) when the package was imported from
anywhere else, so a mistake in the setup cannot pass for a surviving mutant.

A run that outlives its timeout is killed with its whole process group and
counts as a timeout: the mutant made some test hang instead of failing.
"""

import ast
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import operators

KILLED, TIMEOUT, SURVIVED, ERROR = "killed", "timeout", "survived", "error"
PYTEST_FLAGS = ("-x", "-q", "-p", "no:cacheprovider")
BASELINE_TIMEOUT = 600
GUARD = "_mutation_guard"
GUARD_EXIT = 97
GUARD_SOURCE = '''"""Written by tools/mutation: stops a test run that does not import the package from this copy."""
import importlib
import os

import pytest

_HERE = os.path.dirname(os.path.realpath(__file__))
_PACKAGE = importlib.import_module(os.environ["MUTATION_PACKAGE"])


def pytest_configure(config):
    where = os.path.realpath(_PACKAGE.__file__)
    if not where.startswith(_HERE + os.sep):
        pytest.exit("mutation: %%s comes from %%s, not from the copy in %%s" %% (_PACKAGE.__name__, where, _HERE),
                    returncode=%d)
''' % GUARD_EXIT


class SetupError(Exception):
    """The tests cannot judge mutants: they fail unmutated, or import the wrong package."""


class Outcome:
    """How one test run ended."""

    def __init__(self, status, seconds, output):
        self.status = status    # KILLED, TIMEOUT, SURVIVED or ERROR
        self.seconds = seconds
        self.output = output    # what pytest printed (the end is enough to see why)

    def __repr__(self):
        return "<Outcome %s %.1fs>" % (self.status, self.seconds)


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class Workspace:
    """``jobs`` copies of ``package`` (a folder of ``root``) to run mutants in, in parallel.

    ``deselect``: pytest node ids to leave out of every run (tests that read the
    sources from the real tree, so they could never see a mutant).
    ``autoload``: whether pytest loads installed plugins (slower to start).
    """

    def __init__(self, root, package, jobs=1, deselect=(), autoload=False):
        if jobs < 1:
            raise ValueError("jobs must be at least 1, not %r" % (jobs,))
        self.root = os.path.abspath(root)
        self.package = package
        self.deselect = tuple(deselect)
        self.autoload = autoload
        self.jobs = jobs
        self.dir = tempfile.mkdtemp(prefix="mutation-")
        self._copies = queue.Queue()
        self._running = set()
        self._stopped = False
        self._lock = threading.Lock()
        self._sources = {}
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for i in range(jobs):
            copy = os.path.join(self.dir, "copy%d" % i)
            shutil.copytree(os.path.join(self.root, package), os.path.join(copy, package), ignore=ignore)
            _write(os.path.join(copy, GUARD + ".py"), GUARD_SOURCE)
            self._copies.put(copy)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Kills the runs still going and removes the copies."""
        self._stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _stop(self):
        with self._lock:
            self._stopped = True
            for proc in list(self._running):
                _kill(proc)

    def source(self, path):
        """The text of ``path`` (relative to root) as it is in the sources."""
        if path not in self._sources:
            if not path.startswith(self.package + "/"):
                raise ValueError("%s is not inside the package %s" % (path, self.package))
            with open(os.path.join(self.root, path), encoding="utf-8") as f:
                self._sources[path] = f.read()
        return self._sources[path]

    def baseline(self, path, tests):
        """Seconds the tests take with ``path`` unparsed but unchanged (the mutants' starting point)."""
        text = ast.unparse(ast.parse(self.source(path))) + "\n"
        outcome = self.run_text(path, text, tests, BASELINE_TIMEOUT)
        if outcome.status != SURVIVED:
            raise SetupError("the tests do not pass on the unmutated %s (%s):\n%s"
                             % (path, outcome.status, _tail(outcome.output)))
        return outcome.seconds

    def run_mutant(self, mutant, tests, timeout):
        """The outcome of ``tests`` against ``mutant``."""
        try:
            text = operators.mutate(self.source(mutant.path), mutant)
            compile(text, mutant.path, "exec")
        except (SyntaxError, ValueError) as exc:
            return Outcome(ERROR, 0.0, str(exc))
        return self.run_text(mutant.path, text, tests, timeout)

    def run_text(self, path, text, tests, timeout):
        """Runs ``tests`` with ``path`` holding ``text`` in one free copy."""
        original = self.source(path)
        copy = self._copies.get()
        target = os.path.join(copy, path)
        if not os.path.realpath(target).startswith(os.path.realpath(self.dir) + os.sep):
            self._copies.put(copy)
            raise SetupError("%s leads out of the copy to %s: nothing written" % (target, os.path.realpath(target)))
        try:
            _write(target, text)
            return self._pytest(copy, tests, timeout)
        finally:
            _write(target, original)
            self._copies.put(copy)

    def map(self, func, items, on_each=None):
        """``[func(item) for item in items]`` on ``jobs`` threads; ``on_each(item, result)`` as each ends."""
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = [pool.submit(func, item) for item in items]
            results = []
            try:
                for item, future in zip(items, futures):
                    results.append(future.result())
                    if on_each is not None:
                        on_each(item, results[-1])
            except BaseException:  # a SetupError or Ctrl-C: start nothing more, stop what runs
                for future in futures:
                    future.cancel()
                self._stop()
                raise
            return results

    def _pytest(self, copy, tests, timeout):
        command = [sys.executable, "-m", "pytest", *PYTEST_FLAGS, "-p", GUARD,
                   "--basetemp", os.path.join(copy, ".pytest-tmp")]
        for node_id in self.deselect:
            command += ["--deselect", node_id]
        command += [os.path.join(self.root, test) for test in tests]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MUTATION_PACKAGE=self.package,
                   PYTHONPATH=os.pathsep.join(p for p in (copy, os.environ.get("PYTHONPATH")) if p))
        if not self.autoload:
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        start = time.monotonic()
        with self._lock:
            if self._stopped:
                raise SetupError("stopped")
            proc = subprocess.Popen(command, cwd=copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True, start_new_session=True)
            self._running.add(proc)
        try:
            output, _ = proc.communicate(timeout=timeout)
            status = SURVIVED if proc.returncode == 0 else KILLED
        except subprocess.TimeoutExpired:
            _kill(proc)
            output, _ = proc.communicate()
            status = TIMEOUT
        finally:
            with self._lock:
                self._running.discard(proc)
        if proc.returncode == GUARD_EXIT:
            raise SetupError(_tail(output))
        return Outcome(status, time.monotonic() - start, output)


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _tail(output, lines=30):
    return "\n".join(output.rstrip().splitlines()[-lines:])
