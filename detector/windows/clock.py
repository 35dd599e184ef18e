"""Local time of one timezone as absolute local hours, for hour-of-week baselines and fields.

An absolute local hour (hours since the epoch, shifted by the zone's UTC offset at that instant)
feeds `hour_of_week` and the hour of the day; the offset is cached per UTC hour, so daylight
saving changes are honoured at the hour they happen.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


class LocalHours:
    """Local-hour arithmetic for one timezone, caching the UTC offset per UTC hour."""

    __slots__ = ("_cache", "_zone")

    def __init__(self, timezone: str) -> None:
        self._zone = ZoneInfo(timezone)
        self._cache: dict[int, int] = {}

    def local_hour(self, epoch_s: int) -> int:
        """Absolute local hour since the epoch of an instant."""
        return self.local_second(epoch_s) // 3600

    def local_second(self, epoch_s: int) -> int:
        """Absolute local second since the epoch of an instant (its wall-clock reading)."""
        utc_hour = epoch_s // 3600
        offset = self._cache.get(utc_hour)
        if offset is None:
            moment = datetime.fromtimestamp(utc_hour * 3600, self._zone)
            delta = moment.utcoffset() or timedelta(0)
            offset = int(delta.total_seconds())
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[utc_hour] = offset
        return epoch_s + offset


class Zones:
    """Each account's clock: its own timezone when `accounts` names one, else `default`'s.

    One `LocalHours` per distinct zone, shared by its accounts (each keeps an offset cache).
    """

    __slots__ = ("_by_account", "default")

    def __init__(self, default: str, accounts: Mapping[str, str] | None = None) -> None:
        self.default = LocalHours(default)
        named = dict(accounts or {})
        clocks = {zone: LocalHours(zone) for zone in set(named.values())}
        self._by_account = {account: clocks[zone] for account, zone in named.items()}

    def of(self, account: str) -> LocalHours:
        """The clock of `account`."""
        by_account = self._by_account
        return by_account.get(account, self.default) if by_account else self.default
