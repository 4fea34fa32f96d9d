"""The score table and the lists of mutants the tests did not kill."""

from .runner import ERROR, KILLED, SURVIVED, TIMEOUT

HEADER = ("module", "mutants", "killed", "timeout", "survived", "score%")


def score(counts):
    """Percentage of judged mutants that some test killed (a hang counts as killed); None if none."""
    judged = counts[KILLED] + counts[TIMEOUT] + counts[SURVIVED]
    return None if judged == 0 else 100.0 * (counts[KILLED] + counts[TIMEOUT]) / judged


def tally(results):
    """module path -> {status: count} for ``(mutant, outcome)`` pairs, in first-seen order."""
    out = {}
    for mutant, outcome in results:
        counts = out.setdefault(mutant.path, {KILLED: 0, TIMEOUT: 0, SURVIVED: 0, ERROR: 0})
        counts[outcome.status] += 1
    return out


def table(results):
    """The per-module score table, with a total row."""
    per_module = tally(results)
    total = {status: sum(c[status] for c in per_module.values()) for status in (KILLED, TIMEOUT, SURVIVED, ERROR)}
    rows = [HEADER]
    for name, counts in list(per_module.items()) + [("total", total)]:
        value = score(counts)
        rows.append((name, str(sum(counts.values())), str(counts[KILLED]), str(counts[TIMEOUT]),
                     str(counts[SURVIVED]), "-" if value is None else "%.1f" % value))
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    if total[ERROR]:
        lines.append("(%d mutants could not be built and are not counted)" % total[ERROR])
    return "\n".join(lines)


def listing(results, status, title):
    """The mutants that ended with ``status``: where, operator, change, original line."""
    chosen = [mutant for mutant, outcome in results if outcome.status == status]
    if not chosen:
        return ""
    lines = ["%s (%d):" % (title, len(chosen))]
    for mutant in chosen:
        lines.append("  %s  [%s]  %s" % (mutant.where, mutant.operator, mutant.describe()))
        lines.append("      %s" % mutant.line)
    return "\n".join(lines)


def below(results, minimum):
    """Module paths whose score is under ``minimum`` percent."""
    return [name for name, counts in tally(results).items()
            if score(counts) is not None and score(counts) < minimum]
