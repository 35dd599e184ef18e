"""`make bench`: backtest throughput (`bench.throughput`), the anomaly model's cost
(`bench.models cost`), the poller bench if present and where new short calls sit in the feed
(`bench.depth`, seconds), then the alert latency bench
(`bench.alert_latency` at 10x speed; run it alone for other speeds), and the feed latency bench
(`bench.latency`: polling only and with trunk webhooks at 1, 10 and 100 CDR/s in real time, one
measured minute each, about 12 minutes).

Arguments (accounts, hours) go to the throughput bench. The model's quality on the worlds'
under-threshold incidents is `python -m bench.models quality` (hours of CPU: run it apart).
"""

from __future__ import annotations

import importlib
import sys

from bench import models, throughput


def main() -> None:
    """Run every benchmark that is available."""
    throughput.main(sys.argv[1:])
    print()
    models.main(["cost"])
    try:
        poller = importlib.import_module("bench.poller")
    except ImportError:
        return
    print()
    poller.main()
    print()
    importlib.import_module("bench.depth").main()
    print()
    importlib.import_module("bench.alert_latency").main(["--speed", "10", "--minutes", "15"])
    print()
    importlib.import_module("bench.latency").main(["--minutes", "1"])


if __name__ == "__main__":
    main()
