"""Rendering one prompt has a time budget (TEMPLATE_BUDGET_S, or ICL_TEMPLATE_BUDGET seconds): a template
whose loops never end, or multiply (`range` inside `range`), stops with one TemplateError naming the file
instead of hanging the sweep. Two guards, because neither covers every case alone: the sandbox's
`range`, attribute and item lookups and calls check a deadline (works in any thread, but a loop over a
huge string or list that touches none of them goes unchecked), and in the main thread a SIGALRM timer
interrupts whatever Python code runs at the deadline (but only there, and only where no one else
uses the timer). A single C-level operation is interruptible by neither, so the two that make one of any
size from a short template, `*` on a string or list and `**` on integers, are capped (`MAX_REPEAT`,
`MAX_EXPONENT`): `"x" * 10**10` stops with a TemplateError instead of taking the machine's memory.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError, safe_range

from icl.errors import ConfigError

TEMPLATE_BUDGET_S = 2.0
"""Seconds one prompt (or one scored answer) may take to render; ICL_TEMPLATE_BUDGET overrides, 0 = none.
Real templates render in about a millisecond."""


def template_budget() -> float:
    """The per-prompt render budget in seconds (0: none)."""
    raw = os.environ.get("ICL_TEMPLATE_BUDGET", "").strip()
    if not raw:
        return TEMPLATE_BUDGET_S
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"ICL_TEMPLATE_BUDGET: expected seconds, got {raw!r}") from None
    return max(0.0, value)


MAX_REPEAT = 1_000_000
"""Longest string or list a template may build with `*` (a whole prompt is far shorter)."""
MAX_EXPONENT = 1_000
"""Largest integer exponent of `**` (beyond it a single power can run for minutes)."""


class OverBudget(BaseException):
    """Raised inside a render past its deadline; a BaseException so no `except Exception` in the
    template machinery can swallow it."""


_deadline = threading.local()


def check_deadline() -> None:
    deadline = getattr(_deadline, "at", None)
    if deadline is not None and time.monotonic() > deadline:
        raise OverBudget


class BudgetedRange:
    """The sandbox's `range` (capped at 100,000 items) that checks the render deadline as it is walked."""

    def __init__(self, *args: int) -> None:
        self.items = safe_range(*args)

    def __iter__(self) -> Iterator[int]:
        for i, value in enumerate(self.items):
            if not i & 255:
                check_deadline()
            yield value

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]

    def __reversed__(self) -> Iterator[int]:
        return reversed(self.items)


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with the render deadline checked at every call, attribute and item."""

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        check_deadline()
        return super().call(context, obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_deadline()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_deadline()
        return super().getitem(obj, argument)

    intercepted_binops = frozenset({"*", "**"})
    """Checked in `call_binop` (and so never folded into constants when a template compiles)."""

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_deadline()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
                    raise SecurityError(f"`*` would build {len(seq) * times:,} items (at most {MAX_REPEAT:,})")
        elif isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > MAX_EXPONENT:
            raise SecurityError(f"`**` with exponent {right:,} (at most {MAX_EXPONENT:,})")
        return super().call_binop(context, operator, left, right)


def _on_alarm(signum: int, frame: Any) -> None:
    raise OverBudget


def _start_alarm(seconds: float) -> Any:
    """A SIGALRM timer for the main thread, where no other handler or timer is in use; returns the
    handler to put back, or None where no timer was set."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        previous = signal.getsignal(signal.SIGALRM)
        if previous not in (signal.SIG_DFL, None) or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            return None
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    except (ValueError, OSError):
        return None
    return previous


def run_within_budget(render_fn: Callable[[], Any]) -> Any:
    """`render_fn()` within the budget, or OverBudget (its traceback points into the template).
    A plain function, not a context manager: an alarm landing anywhere between the call and the timer's
    cancellation must still be caught here."""
    limit = template_budget()
    if limit <= 0 or getattr(_deadline, "at", None) is not None:  # no budget, or already inside one
        return render_fn()
    previous = None
    try:
        _deadline.at = time.monotonic() + limit
        previous = _start_alarm(limit * 1.1 + 0.05)  # after the deadline checks, which know the line
        return render_fn()
    finally:
        if previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        _deadline.at = None
