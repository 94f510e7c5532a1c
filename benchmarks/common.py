"""Shared helpers for benchmarks: percentiles, timing and result tables."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Timing:
    """Per-call latencies of one measured run."""

    label: str
    latencies: list[float]

    @property
    def per_second(self) -> float:
        """Return calls per second over the whole run."""
        return len(self.latencies) / sum(self.latencies)

    def percentile(self, q: float) -> float:
        """Return the q-th percentile latency in seconds."""
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1]


def time_calls(label: str, fn: Callable[[str], object], inputs: Sequence[str], repeat: int = 1) -> Timing:
    """Call ``fn`` on every input ``repeat`` times and record each latency."""
    clock = time.perf_counter
    latencies: list[float] = []
    for _ in range(repeat):
        for text in inputs:
            t0 = clock()
            fn(text)
            latencies.append(clock() - t0)
    return Timing(label, latencies)


def fmt_us(seconds: float) -> str:
    """Format seconds as microseconds."""
    return f"{seconds * 1e6:.1f} µs"
