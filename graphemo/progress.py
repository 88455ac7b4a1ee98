"""Progress of long work, on a terminal and in logs alike.

On a terminal, a tqdm bar. Elsewhere (CI, Slurm, ``nohup``: stderr is not a terminal, where tqdm turns itself
off), a plain line every ``LOG_EVERY_SECONDS`` (``$GRAPHEMO_PROGRESS_SECONDS``, default 30) of the work, and one
when work that printed such lines ends: what, how far, the rate and the time left, e.g.
``epoch 3: 120/400 batch (30%), 4.1 batch/s, 68 s left, loss=1.2345``. Work shorter than that prints nothing.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

LOG_EVERY_SECONDS = float(os.environ.get("GRAPHEMO_PROGRESS_SECONDS", 30))


def progress(
    iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", unit: str = "it",
    enabled: bool = True, leave: bool = True,
) -> Any:  # fmt: skip
    """A tqdm bar on a terminal, :class:`LogProgress` lines otherwise, nothing when not ``enabled``; used as tqdm
    is (iterate, ``update(n)``, ``set_postfix``, ``close``, or as a context manager)."""
    from tqdm import tqdm

    if not enabled:
        return tqdm(iterable, total=total, disable=True)
    if sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave)
    return LogProgress(iterable, total=total, desc=desc, unit=unit)


class LogProgress:
    """Plain progress lines on stderr (see the module docstring)."""

    def __init__(self, iterable: Iterable | None, *, total: int | None, desc: str, unit: str) -> None:
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.desc, self.unit = desc, unit
        self.n = 0
        self.postfix = ""
        self.started = self.last = time.monotonic()
        self.closed = False
        self.printed = False

    def __iter__(self) -> Iterator:
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= LOG_EVERY_SECONDS:
            self.last, self.printed = now, True
            self._line(self._status(now))

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.printed:
                self._line(self._status(time.monotonic(), done=True))

    def _status(self, now: float, done: bool = False) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.n / elapsed
        of = f"/{self.total}" if self.total else ""
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        parts = [f"{self.n}{of} {self.unit}{share}", f"{rate:.3g} {self.unit}/s"]
        if done:
            parts.append(f"done in {elapsed:.0f} s")
        elif self.total and rate > 0:
            parts.append(f"{math.ceil((self.total - self.n) / rate)} s left")
        return ", ".join(parts + ([self.postfix] if self.postfix else []))

    def _line(self, text: str) -> None:
        print(f"{self.desc}: {text}" if self.desc else text, file=sys.stderr, flush=True)
