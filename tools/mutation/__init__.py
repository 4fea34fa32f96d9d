"""A small AST-based mutation tester for the core (`make mutation`, `python -m tools.mutation --help`).

operators: the mutants of a module; runner: tests against a mutant in a
temporary copy of the package; targets: what is mutated and which tests judge
it; report: the score table.  Equivalent mutants are left out only in the two
ways operators.py describes (the text of diagnostic messages, and lines marked
``# pragma: no mutate (reason)``); the command prints how many per module.
"""
