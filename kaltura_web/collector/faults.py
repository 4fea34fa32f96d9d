"""Deterministic fault injection for the collection endpoints.

``FaultPlan`` is a pure, thread-safe decision object: the app asks it once per
collection request (stats.collect, analytics.trackEvent) and it answers with a
``Decision``.  Nothing here touches sockets; the wiring lives in wsgi_faults.py.

Rules are kept in the order they were added.  For each request:

* every active ``delay`` rule adds its delay (delays combine with other faults);
* the first active terminal rule (``status``, ``drop_before_body``,
  ``drop_after_body``, ``invalid_ks``, ``fraction``) decides the outcome.

A rule with ``count`` consumes one unit each time it applies and disappears at
zero; ``count=None`` applies to every request.  ``fraction`` draws from its own
``random.Random(seed)``, one draw per request it sees, so a given seed yields the
same sequence of failures for the same sequence of requests.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

MODES = ("status", "drop_before_body", "drop_after_body", "delay", "invalid_ks", "fraction")


class FaultSpecError(ValueError):
    pass


@dataclass
class Rule:
    mode: str
    count: int | None = None
    status: int = 500
    ms: int = 0
    fraction: float = 0.0
    seed: int | None = None
    rng: random.Random | None = field(default=None, repr=False)

    def describe(self) -> dict:
        out = {"mode": self.mode, "count": self.count}
        if self.mode in ("status", "fraction"):
            out["status"] = self.status
        if self.mode == "delay":
            out["ms"] = self.ms
        if self.mode == "fraction":
            out["fraction"] = self.fraction
            out["seed"] = self.seed
        return out


@dataclass
class Decision:
    delay_ms: int = 0
    action: str | None = None  # None | "status" | "drop_before_body" | "drop_after_body" | "invalid_ks"
    status: int = 0

    @property
    def is_noop(self) -> bool:
        return self.delay_ms == 0 and self.action is None


def _int(value, name, minimum=0):
    try:
        if isinstance(value, bool):
            raise TypeError
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise FaultSpecError(f"{name} must be an integer") from exc
    if number < minimum:
        raise FaultSpecError(f"{name} must be >= {minimum}")
    return number


def rule_from_spec(spec: dict) -> Rule:
    """Validate a JSON fault spec (the body of POST /dev/faults) into a Rule."""
    if not isinstance(spec, dict):
        raise FaultSpecError("fault spec must be a JSON object")
    mode = spec.get("mode")
    if mode not in MODES:
        raise FaultSpecError(f"mode must be one of {', '.join(MODES)}")
    count = spec.get("count")
    count = None if count is None else _int(count, "count", 1)
    rule = Rule(mode=mode, count=count)
    if mode in ("status", "fraction"):
        rule.status = _int(spec.get("status", 500), "status", 100)
        if rule.status > 599:
            raise FaultSpecError("status must be an HTTP status code")
    if mode == "delay":
        rule.ms = _int(spec.get("ms", 0), "ms", 0)
    if mode == "fraction":
        try:
            rule.fraction = float(spec.get("fraction"))
        except (TypeError, ValueError) as exc:
            raise FaultSpecError("fraction must be a number in [0, 1]") from exc
        if not 0.0 <= rule.fraction <= 1.0:
            raise FaultSpecError("fraction must be a number in [0, 1]")
        seed = spec.get("seed", 0)
        rule.seed = _int(seed, "seed", -(2**62))
        rule.rng = random.Random(rule.seed)
    return rule


class FaultPlan:
    """Active fault rules plus counters of the faults applied so far."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._applied: dict[str, int] = {}

    def add(self, spec) -> Rule:
        rule = spec if isinstance(spec, Rule) else rule_from_spec(spec)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self, reset_counters: bool = False) -> None:
        with self._lock:
            self._rules.clear()
            if reset_counters:
                self._applied.clear()

    def rules(self) -> list[dict]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def counters(self) -> dict:
        with self._lock:
            out = dict(self._applied)
        out["total"] = sum(v for k, v in out.items() if k != "delay")
        return out

    def snapshot(self) -> dict:
        return {"rules": self.rules(), "applied": self.counters()}

    def _consume(self, rule: Rule) -> None:
        if rule.count is not None:
            rule.count -= 1
            if rule.count <= 0:
                self._rules.remove(rule)

    def decide(self) -> Decision:
        """The fault (if any) for the next collection request; consumes counts."""
        decision = Decision()
        with self._lock:
            for rule in [r for r in self._rules if r.mode == "delay"]:
                decision.delay_ms += rule.ms
                self._applied["delay"] = self._applied.get("delay", 0) + 1
                self._consume(rule)
            for rule in list(self._rules):
                if rule.mode == "delay":
                    continue
                if rule.mode == "fraction":
                    hit = rule.rng.random() < rule.fraction
                    if not hit:
                        continue
                    decision.action, decision.status = "status", rule.status
                    key = "fraction"
                else:
                    decision.action = rule.mode
                    decision.status = rule.status if rule.mode == "status" else 0
                    key = rule.mode
                self._applied[key] = self._applied.get(key, 0) + 1
                self._consume(rule)
                break
        return decision
