"""Fault injection: scripted and seeded-random 429 / 5xx / dropped / slow answers."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

# Polling and identity calls are left alone by default: faulting them mostly tests PTB itself.
DEFAULT_EXEMPT = frozenset({"getupdates", "getme", "getwebhookinfo"})


class FaultConfigError(ValueError):
    """Invalid fault configuration (the control API answers 400)."""


@dataclass(frozen=True)
class Fault:
    """What to do with one call instead of (or before) handling it normally."""

    kind: str  # "429" | "5xx" | "drop" | "slow"
    retry_after: int = 0
    status: int = 0
    delay: float = 0.0


def _rate(cfg: dict[str, Any], name: str) -> float:
    value = cfg.get(name, 0.0)
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise FaultConfigError(f"{name} must be a number") from None
    if not 0.0 <= rate <= 1.0:
        raise FaultConfigError(f"{name} must be between 0 and 1")
    return rate


def _parse_script_item(item: Any) -> tuple[str, float | None]:
    text = str(item).strip().lower()
    kind, _, arg = text.partition(":")
    if kind not in ("429", "500", "502", "503", "5xx", "drop", "slow", "ok"):
        raise FaultConfigError(f"unknown script item {item!r}")
    if arg:
        if kind not in ("429", "slow"):
            raise FaultConfigError(f"script item {item!r} takes no argument")
        try:
            return kind, float(arg)
        except ValueError:
            raise FaultConfigError(f"bad argument in script item {item!r}") from None
    return kind, None


class FaultInjector:
    """Per-sandbox fault configuration and state (its own seeded Random)."""

    def __init__(self, seed: int = 0) -> None:
        self._default_seed = seed
        self.configure({})

    def configure(self, cfg: dict[str, Any]) -> dict[str, Any]:
        """Replace the configuration; unspecified fields take their defaults."""
        known = {
            "rate_429", "retry_after", "rate_5xx", "rate_drop", "rate_slow", "slow_seconds",
            "methods", "seed", "script", "flood_wait",
        }
        unknown = set(cfg) - known
        if unknown:
            raise FaultConfigError(f"unknown fault settings: {sorted(unknown)}")
        rate_429, rate_5xx = _rate(cfg, "rate_429"), _rate(cfg, "rate_5xx")
        rate_drop, rate_slow = _rate(cfg, "rate_drop"), _rate(cfg, "rate_slow")
        if rate_429 + rate_5xx + rate_drop + rate_slow > 1.0 + 1e-9:
            raise FaultConfigError("the fault rates must add up to at most 1")
        methods = cfg.get("methods")
        if methods is not None and (
            not isinstance(methods, list) or not all(isinstance(m, str) for m in methods)
        ):
            raise FaultConfigError("methods must be a list of method names")
        script = cfg.get("script") or []
        if not isinstance(script, list):
            raise FaultConfigError("script must be a list")
        parsed_script = [_parse_script_item(item) for item in script]
        try:
            retry_after = max(1, int(cfg.get("retry_after", 1)))
            slow_seconds = max(0.0, float(cfg.get("slow_seconds", 1.0)))
            seed = int(cfg.get("seed", self._default_seed))
        except (TypeError, ValueError):
            raise FaultConfigError("retry_after, slow_seconds and seed must be numbers") from None
        self.rate_429, self.rate_5xx, self.rate_drop, self.rate_slow = (
            rate_429, rate_5xx, rate_drop, rate_slow,
        )
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.methods = None if methods is None else frozenset(m.lower() for m in methods)
        self.script = parsed_script
        self.flood_wait = bool(cfg.get("flood_wait", True))
        self.seed = seed
        self.rng = random.Random(seed)
        self.flood_until: dict[int, float] = {}
        return self.describe()

    def clear(self) -> None:
        """Remove every fault and any flood wait in force."""
        self.configure({})

    def describe(self) -> dict[str, Any]:
        """The current configuration as JSON."""
        return {
            "rate_429": self.rate_429,
            "retry_after": self.retry_after,
            "rate_5xx": self.rate_5xx,
            "rate_drop": self.rate_drop,
            "rate_slow": self.rate_slow,
            "slow_seconds": self.slow_seconds,
            "methods": None if self.methods is None else sorted(self.methods),
            "seed": self.seed,
            "script": [kind if arg is None else f"{kind}:{arg:g}" for kind, arg in self.script],
            "flood_wait": self.flood_wait,
        }

    def applies_to(self, method: str) -> bool:
        """Whether faults target this (lower-cased) method."""
        if self.methods is None:
            return method not in DEFAULT_EXEMPT
        return method in self.methods

    def decide(self, method: str, bot_id: int, now: float) -> Fault | None:
        """Pick the fault for one call: flood wait, then the script, then the random rates."""
        method = method.lower()
        if not self.applies_to(method):
            return None
        until = self.flood_until.get(bot_id, 0.0)
        if self.flood_wait and until > now:
            # Telegram keeps refusing until the announced retry_after has elapsed.
            return Fault("429", retry_after=max(1, math.ceil(until - now)), status=429)
        if self.script:
            kind, arg = self.script.pop(0)
            return self._make(kind, arg, bot_id, now)
        if not (self.rate_429 or self.rate_5xx or self.rate_drop or self.rate_slow):
            return None
        roll = self.rng.random()
        for kind, rate in (
            ("429", self.rate_429),
            ("5xx", self.rate_5xx),
            ("drop", self.rate_drop),
            ("slow", self.rate_slow),
        ):
            if roll < rate:
                return self._make(kind, None, bot_id, now)
            roll -= rate
        return None

    def _make(self, kind: str, arg: float | None, bot_id: int, now: float) -> Fault | None:
        if kind == "ok":
            return None
        if kind == "429":
            retry_after = max(1, math.ceil(arg)) if arg is not None else self.retry_after
            if self.flood_wait:
                self.flood_until[bot_id] = now + retry_after
            return Fault("429", retry_after=retry_after, status=429)
        if kind == "5xx":
            return Fault("5xx", status=self.rng.choice((500, 502)))
        if kind in ("500", "502", "503"):
            return Fault("5xx", status=int(kind))
        if kind == "drop":
            return Fault("drop")
        return Fault("slow", delay=self.slow_seconds if arg is None else arg)
