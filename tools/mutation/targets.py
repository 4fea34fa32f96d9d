"""What `make mutation` mutates, and which fast tests judge each module.

When the core moves into ``kaltura_web/core/`` nothing here needs to change:
``CORE_DIR`` wins as soon as it exists.  Tests are named relative to the
repository root; a listed file that does not exist is skipped.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The portable core: every module of this folder, or, until it exists, these top-level modules.
CORE_DIR = "kaltura_web/core"
TOP_LEVEL_CORE = ["kaltura_web/%s.py" % name for name in
                  ("catalog", "encoding", "session", "protocol", "delivery", "tracker", "_compat", "validation")]

# The fast unit tests of the core and the conformance vectors (no collector, no e2e, no subprocesses).
VECTORS = "tests/test_vectors.py"
UNIT = {
    "delivery": "tests/test_delivery.py",
    "encoding": "tests/test_encoding.py",
    "tracker": "tests/test_tracker.py",
    "validation": "tests/test_validation.py",
    "catalog": "tests/test_catalog.py",
    "compat": "tests/test_compat.py",
    "diagnostics": "tests/test_diagnostics.py",
    "session": "tests/test_session.py",
    "sender": "tests/test_sender.py",
    "retry": "tests/test_retry.py",
    "ports": "tests/test_ports.py",
    "protocol": "tests/test_protocol.py",
    "attribution": "tests/test_attribution.py",
    "storage": "tests/test_storage_budget.py",
    "properties": "tests/test_core_properties.py",
    "kava": "tests/test_kava.py",
    "gate": "tests/test_gate.py",
    "loop": "tests/test_loop_wrap.py",
    "consent": "tests/test_consent.py",
}
# module name -> test files, the most direct first (pytest stops at the first failure)
TESTS_FOR = {
    "catalog": [UNIT["catalog"], UNIT["tracker"], UNIT["encoding"], VECTORS, UNIT["attribution"]],
    "encoding": [UNIT["encoding"], VECTORS, UNIT["delivery"], UNIT["sender"], UNIT["attribution"], UNIT["storage"],
                 UNIT["properties"]],
    "session": [UNIT["session"], VECTORS, UNIT["loop"], UNIT["tracker"], UNIT["properties"], UNIT["gate"]],
    "quartiles": [UNIT["session"], VECTORS, UNIT["tracker"], UNIT["properties"], UNIT["gate"]],
    "kava": [UNIT["kava"], VECTORS, UNIT["gate"], UNIT["tracker"]],
    "consent": [UNIT["consent"], UNIT["delivery"], UNIT["sender"], UNIT["tracker"]],
    "protocol": [UNIT["protocol"], VECTORS, UNIT["encoding"], UNIT["tracker"]],
    "delivery": [UNIT["delivery"], UNIT["sender"], UNIT["storage"], UNIT["tracker"], UNIT["properties"]],
    "tracker": [UNIT["tracker"], VECTORS, UNIT["delivery"], UNIT["sender"], UNIT["encoding"], UNIT["attribution"],
                UNIT["properties"]],
    "sender": [UNIT["sender"], UNIT["delivery"], UNIT["tracker"], UNIT["storage"], UNIT["properties"]],
    "retry": [UNIT["retry"], UNIT["sender"], UNIT["delivery"]],
    "ports": [UNIT["ports"], UNIT["sender"], UNIT["delivery"], UNIT["storage"]],
    "_compat": [UNIT["compat"], UNIT["encoding"], UNIT["tracker"], VECTORS, UNIT["properties"]],
    "diagnostics": [UNIT["diagnostics"], UNIT["delivery"], UNIT["tracker"], UNIT["sender"], VECTORS],
    "validation": [UNIT["validation"], UNIT["tracker"], UNIT["encoding"], VECTORS, UNIT["properties"]],
}
# A module not listed above gets all of them.
ALL_FAST = [VECTORS] + list(UNIT.values())

# Tests that read the sources from the real tree (so never see a mutant): left out of mutant runs.
DESELECT = ["tests/test_vectors.py::test_vectors_on_micropython"]


def core_modules(root=ROOT, core=None):
    """Paths (relative to root, '/'-separated) of the modules to mutate.

    ``core``: a folder (all its modules but ``__init__.py``) or one module; by
    default ``CORE_DIR`` if it exists, else ``TOP_LEVEL_CORE``.
    """
    if core is None:
        core = CORE_DIR if os.path.isdir(os.path.join(root, CORE_DIR)) else None
    if core is None:
        found = [path for path in TOP_LEVEL_CORE if os.path.isfile(os.path.join(root, path))]
    elif os.path.isdir(os.path.join(root, core)):
        found = sorted("%s/%s" % (core.rstrip("/"), name) for name in os.listdir(os.path.join(root, core))
                       if name.endswith(".py") and name != "__init__.py")
    elif core.endswith(".py") and os.path.isfile(os.path.join(root, core)):
        found = [core]
    else:
        raise ValueError("core %r is neither a folder nor a module under %s" % (core, root))
    return found


def module_name(path):
    """``kaltura_web/session.py`` -> ``session``."""
    return os.path.splitext(os.path.basename(path))[0]


def tests_for(path, root=ROOT):
    """The existing test files that judge the module at ``path``."""
    return [test for test in TESTS_FOR.get(module_name(path), ALL_FAST) if os.path.isfile(os.path.join(root, test))]
