"""Throughput of the offline redactor and the injection detector.

Run: .venv/bin/python benchmarks/protection_throughput.py

Both read Python's whole reference text (about 465 KB) as one document. The
peer, measured in the same run, is one pass of a single compiled regular
expression (an e-mail pattern) over the same text: the floor any scanner
pays. The ratios say how many such passes each component costs.
"""

from __future__ import annotations

import pydoc_data.topics
import re
import statistics
import time
from collections.abc import Callable

from llmops.protection import InjectionDetector, OfflineRedactor

TEXT = "\n\n".join(pydoc_data.topics.topics.values())
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def best_of(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    megabytes = len(TEXT.encode()) / 1e6
    redactor, detector = OfflineRedactor(), InjectionDetector()
    redactor.redact(TEXT[:1000])
    peer = best_of(lambda: EMAIL.findall(TEXT))
    redact = best_of(lambda: redactor.redact(TEXT))
    scan = best_of(lambda: detector.scan(TEXT))
    print(f"text: {megabytes:.2f} MB")
    print(f"one regex pass (peer): {megabytes / peer:.1f} MB/s")
    print(
        f"offline redactor: {megabytes / redact:.1f} MB/s = {redact / peer:.1f} passes"
    )
    print(f"injection detector: {megabytes / scan:.1f} MB/s = {scan / peer:.1f} passes")


if __name__ == "__main__":
    main()
