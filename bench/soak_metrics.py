"""The pure arithmetic of the soak benchmark (unit-tested in
tests/test_soak_metrics.py): growth of a sampled quantity against the work
done (loops, beacons, simulated hours), the noise it is judged against, and
the table.

How growth is judged.  The samples taken during warm-up (the first
``warmup`` fraction of them, by default a quarter) are set aside; a straight
line is fitted through the rest by least squares, value against work done.
Its slope, scaled to 1,000 loops (or 100,000 beacons, or one hour), is the
growth; the 95% confidence interval of the slope (Student's t with n - 2
degrees of freedom) says how sure that is.  The noise is the spread of the
samples around the line (max - min of the residuals).  A quantity "grows"
when both hold: the interval excludes zero (the slope is not chance) and the
line rises by more than the noise over the steady part of the run (the rise
is not smaller than the wobble); "falls" is the mirror; anything else is
"flat"."""

import math

# two-sided 95% quantiles of Student's t by degrees of freedom; between the keys the
# next smaller one is used (a slightly wider interval: conservative)
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
       9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
       17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 22: 2.074, 24: 2.064, 26: 2.056, 28: 2.048,
       30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}
T95_LIMIT = 1.960

GROWS, FALLS, FLAT, UNKNOWN = "grows", "falls", "flat", "too few samples"
DEFAULT_WARMUP = 0.25


def t95(df):
    """The two-sided 95% quantile of Student's t with ``df`` (>= 1) degrees of freedom."""
    if df < 1:
        raise ValueError("a confidence interval needs at least one degree of freedom")
    best = None
    for key in sorted(T95):
        if key <= df:
            best = T95[key]
    return T95_LIMIT if df > max(T95) else best


def fit(xs, ys):
    """Least-squares line through the points: ``{"slope", "intercept",
    "half_width" (of the slope's 95% interval; 0 when the points lie on the
    line), "residual_range", "n"}``.  ValueError with fewer than 3 points or
    when every x is the same."""
    n = len(xs)
    if n != len(ys):
        raise ValueError("xs and ys differ in length")
    if n < 3:
        raise ValueError("a line with a confidence interval needs 3 points or more")
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("every sample was taken at the same x")
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    intercept = my - slope * mx
    residuals = [y - (intercept + slope * x) for x, y in zip(xs, ys)]
    sse = sum(r * r for r in residuals)
    se = math.sqrt(sse / (n - 2) / sxx)
    return {"slope": slope, "intercept": intercept, "half_width": t95(n - 2) * se,
            "residual_range": max(residuals) - min(residuals), "n": n}


def steady(samples, warmup=DEFAULT_WARMUP):
    """The samples after warm-up: the first ``warmup`` fraction (rounded up,
    at least one sample when there are four or more) is dropped."""
    if not 0 <= warmup < 1:
        raise ValueError("warmup is a fraction in [0, 1)")
    n = len(samples)
    drop = int(math.ceil(n * warmup))
    if warmup > 0 and n >= 4:
        drop = max(drop, 1)
    return samples[drop:]


def verdict(line, span):
    """"grows", "falls" or "flat" for a fitted ``line`` over ``span`` units of work."""
    rise = line["slope"] * span
    noise = line["residual_range"]
    if line["slope"] - line["half_width"] > 0 and rise > noise:
        return GROWS
    if line["slope"] + line["half_width"] < 0 and -rise > noise:
        return FALLS
    return FLAT


def growth(samples, x, y, per, warmup=DEFAULT_WARMUP):
    """How ``samples[i][y]`` grows with ``samples[i][x]`` after warm-up, per
    ``per`` units of x: ``{"per", "growth", "ci" (half width), "noise",
    "first", "last", "min", "max", "span", "n", "verdict"}``; samples
    lacking either value are skipped.  ``verdict`` is "too few samples" when
    fewer than 3 remain or x did not move."""
    points = [(s[x], s[y]) for s in steady(samples, warmup)
              if s.get(x) is not None and s.get(y) is not None]
    out = {"per": per, "n": len(points), "growth": None, "ci": None, "noise": None,
           "first": points[0][1] if points else None, "last": points[-1][1] if points else None,
           "min": min(p[1] for p in points) if points else None,
           "max": max(p[1] for p in points) if points else None,
           "span": (points[-1][0] - points[0][0]) if points else 0, "verdict": UNKNOWN}
    try:
        line = fit([p[0] for p in points], [p[1] for p in points])
    except ValueError:
        return out
    out.update(growth=line["slope"] * per, ci=line["half_width"] * per, noise=line["residual_range"],
               verdict=verdict(line, out["span"]))
    return out


def growers(samples, x, per, warmup=DEFAULT_WARMUP, key="held"):
    """The paths of ``samples[i][key]`` (``{path: size}``, bench/soak_walk.py)
    whose size grows with x after warm-up: ``[(path, growth report), ...]``,
    fastest first.  A path missing from a sample counts as 0 there."""
    paths = set()
    for s in samples:
        paths.update((s.get(key) or {}).keys())
    out = []
    for path in sorted(paths):
        flat = [{x: s.get(x), "v": (s.get(key) or {}).get(path, 0)} for s in samples]
        report = growth(flat, x, "v", per, warmup)
        if report["verdict"] == GROWS:
            out.append((path, report))
    out.sort(key=lambda item: -item[1]["growth"])
    return out


def rss_bytes(statm, page_size):
    """Resident set size from the text of /proc/<pid>/statm (second field, in pages)."""
    fields = statm.split()
    if len(fields) < 2:
        raise ValueError("not a statm line: %r" % (statm,))
    return int(fields[1]) * page_size


def human(value, unit):
    """A value for the table: bytes as B/KB/MB (1 KB = 1,000 B); other values
    from 100 up, and whole numbers, rounded with thousands separators; the
    rest to three significant digits."""
    if value is None:
        return "-"
    if unit == "B":
        size = abs(value)
        if size >= 1e6:
            return "%.2f MB" % (value / 1e6)
        if size >= 1e3:
            return "%.1f KB" % (value / 1e3)
        return "%.0f B" % value
    if abs(value) >= 100 or (value == int(value) and value != 0):
        return "{:,.0f}".format(value)
    if value == 0:
        return "0"
    return "%.3g" % value


def growth_cell(report, unit):
    """"+1.2 KB +- 3.4 KB" (growth and the half width of its 95% interval), or "-"."""
    if report.get("growth") is None:
        return "-"
    sign = "+" if report["growth"] >= 0 else "-"
    return "%s%s +- %s" % (sign, human(abs(report["growth"]), unit), human(report["ci"], unit))


def verdict_cell(report):
    v = report.get("verdict") or UNKNOWN
    return "**%s**" % v if v == GROWS else v


def row(part, label, unit, report, per_label):
    """One table row: run, quantity, first -> last after warm-up, growth
    (95% CI), per what, noise, verdict."""
    return [part, label, "%s -> %s" % (human(report.get("first"), unit), human(report.get("last"), unit)),
            growth_cell(report, unit), per_label, human(report.get("noise"), unit), verdict_cell(report)]


HEADER = ["run", "quantity", "after warm-up: first -> last", "growth (95% CI)", "per",
          "noise (residual max-min)", "verdict"]


def table(rows, header=HEADER):
    """A Markdown table with padded columns."""
    cells = [list(header)] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in cells[1:])
    return "\n".join(out)
