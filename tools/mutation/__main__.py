"""Mutation testing of the core: python -m tools.mutation [options] (see --help)."""

import argparse
import os
import random
import sys

from . import operators, report, targets
from .runner import ERROR, KILLED, SURVIVED, TIMEOUT, SetupError, Workspace

MARKS = {KILLED: ".", TIMEOUT: "T", SURVIVED: "S", ERROR: "E"}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tools.mutation",
        description="Mutates the core modules one change at a time (in a temporary copy: the sources are "
                    "never written) and runs the fast tests against each mutant; prints the score per "
                    "module and the mutants no test killed.")
    parser.add_argument("--root", default=targets.ROOT, help="the repository (default: this one)")
    parser.add_argument("--core", help="folder or module to mutate, relative to the root (default: %s if "
                        "it exists, else the top-level core modules)" % targets.CORE_DIR)
    parser.add_argument("--module", action="append", metavar="NAME",
                        help="only this module (name like 'session', or path); repeatable")
    parser.add_argument("--operator", action="append", choices=sorted(operators.OPERATORS),
                        help="only this mutation operator; repeatable")
    parser.add_argument("--tests", action="append", metavar="FILE",
                        help="run these test files for every module instead of tools/mutation/targets.py's map")
    parser.add_argument("--sample", type=int, metavar="N", help="a random sample of N mutants")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="test runs at once (default 1)")
    parser.add_argument("--timeout-factor", type=float, default=4.0,
                        help="a mutant's run may take this many times the unmutated run (default 4)")
    parser.add_argument("--min-timeout", type=float, default=10.0, help="but at least this many seconds (10)")
    parser.add_argument("--min-score", type=float, metavar="P",
                        help="exit 1 when a module's score is below P percent")
    parser.add_argument("--autoload", action="store_true",
                        help="let pytest load installed plugins in mutant runs (slower start)")
    parser.add_argument("--list", action="store_true", help="only list the mutants, run nothing")
    return parser


def select_modules(parser, args):
    try:
        modules = targets.core_modules(args.root, args.core)
    except ValueError as exc:
        parser.error(str(exc))
    if args.module:
        wanted = set(args.module)
        unknown = wanted - {targets.module_name(m) for m in modules} - set(modules)
        if unknown:
            parser.error("no core module %s (core: %s)" % (", ".join(sorted(unknown)),
                                                           ", ".join(targets.module_name(m) for m in modules)))
        modules = [m for m in modules if targets.module_name(m) in wanted or m in wanted]
    if not modules:
        parser.error("no module to mutate under %s" % args.root)
    return modules


def collect(args, modules):
    """The mutants to run, and per module how many were excluded as equivalent."""
    found = []
    excluded = {}
    for path in modules:
        with open(os.path.join(args.root, path), encoding="utf-8") as f:
            source = f.read()
        kept = operators.mutants(source, path, args.operator)
        excluded[path] = len(operators.mutants(source, path, args.operator, exclude=False)) - len(kept)
        found.extend(kept)
    if args.sample is not None and args.sample < len(found):
        order = {id(m): i for i, m in enumerate(found)}
        found = sorted(random.Random(args.seed).sample(found, args.sample), key=lambda m: order[id(m)])
    return found, excluded


def excluded_line(excluded):
    """One line naming the mutants left out as equivalent (diagnostic messages, pragma lines), or ''."""
    counts = ["%s %d" % (targets.module_name(path), n) for path, n in excluded.items() if n]
    if not counts:
        return ""
    return ("excluded as equivalent (diagnostic message text, '# pragma: no mutate' lines), not run: %d (%s)"
            % (sum(excluded.values()), ", ".join(counts)))


def progress():
    """A callback printing one mark per finished mutant."""
    done = [0]

    def mark(item, outcome):
        done[0] += 1
        sys.stderr.write(MARKS[outcome.status] + ("\n" if done[0] % 60 == 0 else ""))
        sys.stderr.flush()
    return mark


def run(args, modules, mutants):
    tests = {path: args.tests or targets.tests_for(path, args.root) for path in modules}
    package = modules[0].split("/")[0]
    log = sys.stderr
    with Workspace(args.root, package, args.jobs, targets.DESELECT, args.autoload) as workspace:
        needed = [path for path in modules if any(m.path == path for m in mutants)]
        seconds = workspace.map(lambda path: workspace.baseline(path, tests[path]), needed)
        timeout = {}
        for path, took in zip(needed, seconds):
            timeout[path] = max(args.min_timeout, args.timeout_factor * took)
            log.write("baseline %s: %.1fs with %s (mutant timeout %.0fs)\n"
                      % (path, took, " ".join(os.path.basename(t) for t in tests[path]), timeout[path]))
        log.write("%d mutants, %d at a time (. killed, T timeout, S survived, E not built)\n"
                  % (len(mutants), args.jobs))
        outcomes = workspace.map(lambda m: workspace.run_mutant(m, tests[m.path], timeout[m.path]), mutants,
                                 progress())
        log.write("\n")
    return list(zip(mutants, outcomes))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.jobs < 1 or (args.sample is not None and args.sample < 1):
        parser.error("--jobs and --sample must be at least 1")
    modules = select_modules(parser, args)
    mutants, excluded = collect(args, modules)
    if args.list:
        for m in mutants:
            print("%s  [%s]  %s" % (m.where, m.operator, m.describe()))
        print("%d mutants" % len(mutants))
        if excluded_line(excluded):
            print(excluded_line(excluded))
        return 0
    try:
        results = run(args, modules, mutants)
    except SetupError as exc:
        print("mutation: %s" % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nmutation: interrupted", file=sys.stderr)
        return 130
    print(report.table(results))
    if excluded_line(excluded):
        print(excluded_line(excluded))
    for status, title in ((SURVIVED, "Surviving mutants"), (TIMEOUT, "Mutants that made a test hang (killed by "
                                                           "timeout)"), (ERROR, "Mutants that could not be built")):
        text = report.listing(results, status, title)
        if text:
            print("\n" + text)
    if args.min_score is not None:
        low = report.below(results, args.min_score)
        if low:
            print("\nbelow %.1f%%: %s" % (args.min_score, ", ".join(low)))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
