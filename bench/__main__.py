"""`make bench`: backtest throughput (`bench.throughput`), then the poller bench if present.

Arguments (accounts, hours) go to the throughput bench.
"""

from __future__ import annotations

import importlib
import sys

from bench import throughput


def main() -> None:
    """Run every benchmark that is available."""
    throughput.main(sys.argv[1:])
    try:
        poller = importlib.import_module("bench.poller")
    except ImportError:
        return
    print()
    poller.main()


if __name__ == "__main__":
    main()
