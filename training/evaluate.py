"""``python -m training.evaluate [NAME ...]``: the detailed text reports of the local engines (``make eval``
runs the harness, ``training.harness``, on the same data and rules, and writes JSON and HTML).

Every evaluation trains on the training split of its data (``training.data.split``) and reports on the
held-out split, which nothing is tuned on. The evaluations are those of ``training.registry``.
"""

from __future__ import annotations

import argparse
import sys
import time

from training.registry import load_all


def main(argv: list[str] | None = None) -> int:
    registry = load_all()
    parser = argparse.ArgumentParser(description="Held-out reports of the local engines.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"default: all of {', '.join(registry)}")
    names = parser.parse_args(argv).names or list(registry)
    if unknown := [n for n in names if n not in registry]:
        parser.error(f"unknown evaluation(s): {', '.join(unknown)}")
    for name in names:
        started = time.perf_counter()
        report = registry[name]()
        print(f"=== {name} ({time.perf_counter() - started:.1f} s) ===\n{report}\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
