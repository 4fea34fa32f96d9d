"""Mutants of one Python module, found and applied on its syntax tree.

A mutant replaces one node of the tree (the target, named by its position in
``ast.walk`` order) with another node.  The mutated module is written out with
``ast.unparse``: comments and layout are lost, the meaning of everything but
the target is kept, and the result always compiles.

Not mutated: docstrings, imports, annotations, asserts, f-strings, the
message of a ``raise``, ``__all__``/``__slots__``/``__version__``, an
``if __name__ == "__main__":`` block.  Statements are removed only inside
functions (a missing module-level name fails at import, which teaches
nothing).

Excluded as equivalent (``mutants(..., exclude=False)`` lists them too; the
command counts them):

* the text of a diagnostic message: the second argument of a call whose first
  argument is a diagnostic code (``diag.NAME``), and the ``"message"`` value of
  a dict literal that also has a ``"code"`` key.  Programs and tests match the
  code; the message is prose for people that may change freely, so the
  ``string`` operator leaves it alone (other operators still apply);
* any line carrying ``# pragma: no mutate (why)``: only for a mutant shown to
  be equivalent (no test could tell it apart), the reason in the comment.
"""

import ast
import copy

PRAGMA = "pragma: no mutate"
PROTECTED_NAMES = ("__all__", "__slots__", "__version__")

COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                 ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
                 ast.In: ast.NotIn, ast.NotIn: ast.In}
ARITHMETIC_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
                    ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}
BOOLEAN_SWAPS = {ast.And: ast.Or, ast.Or: ast.And}


class Mutant:
    """One change to one module: the node at ``index`` becomes ``node``."""

    def __init__(self, path, index, operator, lineno, col, line, before, after, node):
        self.path = path          # the module, as the report names it
        self.index = index        # position of the target in ast.walk order
        self.operator = operator  # name of the operator that made it
        self.lineno = lineno
        self.col = col
        self.line = line          # the original source line, stripped
        self.before = before      # the target, unparsed
        self.after = after        # its replacement, unparsed
        self.node = node          # the replacement node

    @property
    def where(self):
        return "%s:%d" % (self.path, self.lineno)

    def describe(self, width=70):
        """``before -> after``, shortened around the difference when long."""
        return _shorten(self.before, self.after, width)

    def __repr__(self):
        return "<Mutant %s %s %s>" % (self.where, self.operator, self.describe())


# --- operators: (node, context) -> [(target, replacement), ...] -------------------

def _swap(node, field, swaps):
    replacement = copy.deepcopy(node)
    setattr(replacement, field, swaps[type(getattr(node, field))]())
    return replacement


def compare(node, ctx):
    """< <= > >= == != is/is not in/not in: each operator swapped once."""
    if not isinstance(node, ast.Compare):
        return []
    out = []
    for i, op in enumerate(node.ops):
        if type(op) in COMPARE_SWAPS:
            replacement = copy.deepcopy(node)
            replacement.ops[i] = COMPARE_SWAPS[type(op)]()
            out.append((node, replacement))
    return out


def boolean(node, ctx):
    """``and`` <-> ``or``."""
    if isinstance(node, ast.BoolOp):
        return [(node, _swap(node, "op", BOOLEAN_SWAPS))]
    return []


def negation(node, ctx):
    """``not x`` -> ``x``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return [(node, copy.deepcopy(node.operand))]
    return []


def _is_text(node):
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def arithmetic(node, ctx):
    """+ <-> -, * <-> /, // -> /, % -> // (not on text: concatenation, formatting)."""
    if isinstance(node, ast.BinOp):
        if type(node.op) in ARITHMETIC_SWAPS and not (_is_text(node.left) or _is_text(node.right)):
            return [(node, _swap(node, "op", ARITHMETIC_SWAPS))]
    elif isinstance(node, ast.AugAssign):
        if type(node.op) in ARITHMETIC_SWAPS and not _is_text(node.value):
            return [(node, _swap(node, "op", ARITHMETIC_SWAPS))]
    return []


def number(node, ctx):
    """n -> n + 1, and 1 -> 0 as well (so 0 <-> 1)."""
    if not isinstance(node, ast.Constant) or type(node.value) not in (int, float):
        return []
    values = [node.value + 1] + ([type(node.value)(0)] if node.value == 1 else [])
    return [(node, ast.Constant(value)) for value in values]


def truth(node, ctx):
    """True <-> False."""
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        return [(node, ast.Constant(not node.value))]
    return []


def string(node, ctx):
    """'s' -> 'XXsXX', '' -> 'XXXX' (not exception or diagnostic messages)."""
    if isinstance(node, ast.Constant) and type(node.value) is str and not (ctx.in_raise or ctx.in_message):
        return [(node, ast.Constant("XX" + node.value + "XX"))]
    return []


def _is_none(node):
    return isinstance(node, ast.Constant) and node.value is None


def return_none(node, ctx):
    """``return x`` -> ``return None``."""
    if isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
        return [(node, ast.Return(value=ast.Constant(None)))]
    return []


def statement(node, ctx):
    """A call or assignment statement inside a function -> ``pass``."""
    if not ctx.in_function:
        return []
    removable = (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)) or \
        isinstance(node, (ast.Assign, ast.AugAssign)) or \
        (isinstance(node, ast.AnnAssign) and node.value is not None)
    return [(node, ast.Pass())] if removable else []


def loop(node, ctx):
    """``break`` <-> ``continue``."""
    if isinstance(node, ast.Break):
        return [(node, ast.Continue())]
    if isinstance(node, ast.Continue):
        return [(node, ast.Break())]
    return []


def slice_bound(node, ctx):
    """a[i:j] -> a[i + 1:j] and a[i:j - 1] (constant bounds are left to ``number``)."""
    if not isinstance(node, ast.Slice):
        return []
    out = []
    for bound, op in ((node.lower, ast.Add), (node.upper, ast.Sub)):
        if bound is not None and not isinstance(bound, ast.Constant):
            out.append((bound, ast.BinOp(left=copy.deepcopy(bound), op=op(), right=ast.Constant(1))))
    return out


def default(node, ctx):
    """A default argument value -> None."""
    if not isinstance(node, ast.arguments):
        return []
    defaults = node.defaults + [d for d in node.kw_defaults if d is not None]
    return [(d, ast.Constant(None)) for d in defaults if not _is_none(d)]


OPERATORS = {f.__name__: f for f in (compare, boolean, negation, arithmetic, number, truth, string,
                                      return_none, statement, loop, slice_bound, default)}


# --- where mutation is allowed ------------------------------------------------------

class _Context:
    def __init__(self, in_function=False, in_raise=False, in_message=False):
        self.in_function = in_function
        self.in_raise = in_raise
        self.in_message = in_message  # the text of a diagnostic message

    def but(self, **changes):
        out = _Context(self.in_function, self.in_raise, self.in_message)
        out.__dict__.update(changes)
        return out


def _is_diagnostic_code(node):
    """``diag.NAME``: a code of the core's diagnostics module."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "diag"


def _messages(node):
    """The children of ``node`` that are the text of a diagnostic message."""
    if isinstance(node, ast.Call) and len(node.args) >= 2 and _is_diagnostic_code(node.args[0]):
        return [node.args[1]]
    if isinstance(node, ast.Dict):
        keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
        if "code" in keys and "message" in keys:
            return [node.values[keys.index("message")]]
    return []


def _is_docstring(node, parent):
    return (isinstance(parent, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and parent.body and parent.body[0] is node and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))


def _is_main_guard(node):
    test = getattr(node, "test", None) if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__")


def _is_protected(node, parent, field, lines, exclude=True):
    """Whether nothing in this subtree may be mutated."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.Assert, ast.JoinedStr)):
        return True
    if field in ("annotation", "returns") or _is_docstring(node, parent) or _is_main_guard(node):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Name) and t.id in PROTECTED_NAMES for t in targets):
            return True
    lineno = getattr(node, "lineno", None)
    return exclude and lineno is not None and PRAGMA in lines[lineno - 1]


def _contexts(tree, lines, exclude=True):
    """id(node) -> _Context for every node that may be mutated (``exclude``:
    leave out the equivalent mutants, see the module docstring)."""
    out = {}
    stack = [(tree, None, None, _Context())]
    while stack:
        node, parent, field, ctx = stack.pop()
        if _is_protected(node, parent, field, lines, exclude):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            ctx = ctx.but(in_function=True)
        elif isinstance(node, ast.Raise):
            ctx = ctx.but(in_raise=True)
        out[id(node)] = ctx
        messages = [id(m) for m in _messages(node)] if exclude else []
        for name, value in ast.iter_fields(node):
            for child in (value if isinstance(value, list) else [value]):
                if isinstance(child, ast.AST):
                    stack.append((child, node, name, ctx.but(in_message=True) if id(child) in messages else ctx))
    return out


# --- public -------------------------------------------------------------------------

def mutants(source, path="<module>", operators=None, exclude=True):
    """Every mutant of ``source``, in source order; ``exclude=False``: the
    equivalent ones too (pragma lines, diagnostic messages)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    contexts = _contexts(tree, lines, exclude)
    nodes = list(ast.walk(tree))
    index = {id(node): i for i, node in enumerate(nodes)}
    chosen = OPERATORS if operators is None else {name: OPERATORS[name] for name in operators}
    out = []
    for node in nodes:
        ctx = contexts.get(id(node))
        if ctx is None:
            continue
        for name, operator in chosen.items():
            for target, replacement in operator(node, ctx):
                if id(target) not in contexts:
                    continue
                lineno = target.lineno
                out.append(Mutant(path, index[id(target)], name, lineno, target.col_offset,
                                  lines[lineno - 1].strip(),
                                  ast.unparse(target), ast.unparse(replacement), replacement))
    out.sort(key=lambda m: (m.lineno, m.col, m.index, m.operator))
    return out


def mutate(source, mutant):
    """The source of the module with ``mutant`` applied."""
    tree = ast.parse(source)
    nodes = list(ast.walk(tree))
    target = nodes[mutant.index] if mutant.index < len(nodes) else None
    if target is None or getattr(target, "lineno", None) != mutant.lineno or ast.unparse(target) != mutant.before:
        raise ValueError("mutant %s does not match this source (changed since it was listed?)" % mutant.where)
    for parent in nodes:
        for field, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, field, copy.deepcopy(mutant.node))
                return ast.unparse(tree) + "\n"
            for i, item in enumerate(value if isinstance(value, list) else ()):
                if item is target:
                    value[i] = copy.deepcopy(mutant.node)
                    return ast.unparse(tree) + "\n"
    raise ValueError("mutant %s: the module itself cannot be replaced" % mutant.where)


def _shorten(before, after, width):
    if len(before) <= width and len(after) <= width:
        return "%s -> %s" % (before, after)
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    keep = 12

    def cut(text):
        lo, hi = max(0, start - keep), min(len(text), len(text) - end + keep)
        part = text[lo:hi]
        if len(part) > width:
            part = part[:width - 1] + "…"
        return ("…" if lo > 0 else "") + part + ("…" if hi < len(text) else "")
    return "%s -> %s" % (cut(before), cut(after))
