"""An in-process fake of the partner CDR API, served through `httpx.MockTransport`.

The list grows at its head as simulated time passes: a call becomes visible only at
start + ring + talk + lag, so long calls appear behind rows already served. Each request can
advance the clock (`tick_s`), which makes new rows push old ones down between page requests.
Faults queued in `faults` are served one per request, in order, before normal answers.
Both response shapes ("a" and "b") and both orders ("newest", "oldest") are available, and
`totals="flaky"` makes list totals sometimes missing or too low (a total that went down),
`totals="none"` leaves them out.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from detector.source.client import CdrApi

TOKEN = "s3cr3t-token-value"  # noqa: S105 - a fake credential for the fake API
AUTH_ID = "PA_TEST01"
BASE = "https://api.test/api/v1/partner"


@dataclass(frozen=True)
class Call:
    """One simulated call; `lag_s` is how long after its end the API publishes it."""

    call_id: str
    start: datetime
    ring_s: int = 5
    talk_s: int = 30
    lag_s: int = 3
    account: str = "MA_FEED0001"

    @property
    def end(self) -> datetime:
        """When the call hung up."""
        return self.start + timedelta(seconds=self.ring_s + self.talk_s)

    @property
    def visible_at(self) -> datetime:
        """When the API starts listing it."""
        return self.end + timedelta(seconds=self.lag_s)


@dataclass
class Fault:
    """One faulty answer: kind in 429, 500, timeout, malformed, truncated, 401, 403, 404, or
    "shuffle" (the next list page is answered with its rows out of order), or "pass" (the
    request is answered normally: it delays the faults queued behind it by one request)."""

    kind: str
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class FakeFeed:
    """The partner API's list endpoints over a set of calls and a simulated clock."""

    now: datetime
    shape: str = "a"
    order: str = "newest"
    date_tz: str = "UTC"
    tick_s: float = 0.0
    totals: str = "exact"
    calls: list[Call] = field(default_factory=list)
    raw_rows: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    """Rows as given, visible from their datetime on, placed in the list by their start."""
    faults: deque[Fault] = field(default_factory=deque)
    flood: int = 0
    """While > 0, each list answer ignores `per_page` and sends this many rows (counts down)."""
    requests: list[httpx.Request] = field(default_factory=list)

    def advance(self, seconds: float) -> None:
        """Let simulated time pass."""
        self.now += timedelta(seconds=seconds)

    def clock(self) -> datetime:
        """The feed's own "now" (a fake clock for the poller)."""
        return self.now

    def epoch(self) -> float:
        """The feed's "now" in epoch seconds (the client's fake clock)."""
        return self.now.timestamp()

    def visible(self) -> list[Call]:
        """Calls the API lists right now."""
        return [c for c in self.calls if c.visible_at <= self.now]

    def inject(self, fault: str | None) -> None:
        """Queue a property test's fault step: "fail" (two 500s, past one retry), a status or
        kind with `Retry-After: 1`, or nothing."""
        if fault == "fail":
            self.faults.extend([Fault("500"), Fault("500")])
        elif fault:
            self.faults.append(Fault(fault, headers={"Retry-After": "1"}))

    def api(self, **kwargs: Any) -> CdrApi:
        """A real `CdrApi` wired to this feed, with a no-op sleep that records waits."""
        self.sleeps: list[float] = []
        options: dict[str, Any] = {"max_retries": 2, "rate_per_s": 1000.0}
        options.update(kwargs)
        return CdrApi(
            BASE,
            AUTH_ID,
            TOKEN,
            transport=httpx.MockTransport(self.handle),
            clock=self.epoch,
            sleep=self.sleeps.append,
            **options,
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (the MockTransport handler)."""
        self.requests.append(request)
        self.now += timedelta(seconds=self.tick_s)
        passed = bool(self.faults) and self.faults[0].kind == "pass"
        if passed:
            self.faults.popleft()
        shuffle = not passed and bool(self.faults) and self.faults[0].kind == "shuffle"
        if self.faults and not (passed or shuffle):
            return self._fault(self.faults.popleft(), request)
        if request.headers.get("X-Auth-Token") != TOKEN:
            return httpx.Response(401, json={"status": "error", "error": {"code": "UNAUTHORIZED"}})
        path = request.url.path.removeprefix("/api/v1/partner")
        if path == "/accounts":
            return httpx.Response(200, json={"accounts": [{"auth_id": "MA_FEED0001"}], "total": 1})
        if path == "/cdrs" or (path.startswith("/accounts/") and path.endswith("/cdrs")):
            account = path.split("/")[2] if path.startswith("/accounts/") else None
            if shuffle:
                self.faults.popleft()
            return self._list(request.url.params, account, shuffle)
        return httpx.Response(404, json={"status": "error", "error": {"code": "NOT_FOUND"}})

    def _rows(self, params: httpx.QueryParams, account: str | None) -> list[Call | dict[str, Any]]:
        """The listed rows in order, calls not rendered yet (only a page of them is sent)."""
        zone = ZoneInfo(self.date_tz)
        minimum = float(params.get("min_duration", 0))
        first, last = params.get("start_date"), params.get("end_date")
        picked: list[tuple[datetime, str, Call | dict[str, Any]]] = []
        for call in self.visible():
            day = call.start.astimezone(zone).date().isoformat()
            length = call.talk_s if self.shape == "a" else call.ring_s + call.talk_s
            if (first and day < first) or (last and day > last) or length < minimum:
                continue
            if account is None or call.account == account:
                picked.append((call.start, call.call_id, call))
        for at, raw in self.raw_rows:
            if at <= self.now:
                picked.append((_placed(raw, at), json.dumps(raw, sort_keys=True), raw))
        picked.sort(key=lambda t: (t[0], t[1]), reverse=self.order == "newest")
        return [row for _, _, row in picked]

    def _list(
        self, params: httpx.QueryParams, account: str | None, shuffle: bool = False
    ) -> httpx.Response:
        rows = self._rows(params, account)
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", 20))
        listed = rows[(page - 1) * per_page : page * per_page]
        if self.flood > 0:  # an API that ignores per_page for one answer
            listed, self.flood = rows[(page - 1) * per_page :], self.flood - 1
        chunk = [self.render(row) if isinstance(row, Call) else row for row in listed]
        if shuffle:
            chunk = chunk[1::2] + chunk[0::2]  # out of order whenever it holds 3+ rows
        total = self._total(len(rows))
        if self.shape == "a":
            meta = {"total": total, "page": page, "per_page": per_page}
            if total is None:
                del meta["total"]
            return httpx.Response(200, json={"data": chunk, "meta": meta})
        pages = -(-len(rows) // per_page)
        pagination = {"page": page, "per_page": per_page, "total": total, "pages": pages}
        pagination |= {"has_next": page < pages, "has_prev": page > 1}
        body = {"success": True, "count": len(chunk), "data": chunk, "pagination": pagination}
        return httpx.Response(200, json=body)

    def _total(self, true: int) -> int | None:
        """The total to report: exact, or with "flaky" every 3rd missing, every 5th 0 (B).

        Shape A derives "more pages" from the total, so only shape B (which sends `has_next`)
        gets totals that went down.
        """
        if self.totals == "none" or (self.totals == "flaky" and len(self.requests) % 3 == 0):
            return None
        if self.totals == "flaky" and self.shape == "b" and len(self.requests) % 5 == 0:
            return 0
        return true

    def render(self, call: Call) -> dict[str, Any]:
        """The call as a wire row of this feed's shape."""
        answered = call.talk_s > 0
        answer = call.start + timedelta(seconds=call.ring_s) if answered else None
        suffix = int(call.call_id.encode().hex()[-8:], 16) % 100_000
        common = {
            "start_time": _z(call.start),
            "answer_time": _z(answer) if answer else None,
            "end_time": _z(call.end),
            "account_auth_id": call.account,
            "hangup_cause": "NORMAL_CLEARING" if answered else "NO_ANSWER",
            "cost": round(call.talk_s / 60 * 0.45, 2),
            "currency": "INR",
            "trunk_id": "trunk_1",
            "context": "sip-trunking",
        }
        if self.shape == "a":
            return common | {
                "call_uuid": call.call_id,
                "from_number": "+919876500001",
                "to_number": f"+9198765{suffix:05d}",
                "direction": "outbound",
                "status": "answered" if answered else "no-answer",
                "duration_seconds": call.talk_s,
            }
        return common | {
            "uuid": call.call_id,
            "caller_id_number": "+919876500001",
            "destination_number": f"+9198765{suffix:05d}",
            "call_direction": "outbound",
            "status": "answered" if answered else "no_answer",
            "duration": call.ring_s + call.talk_s,
            "billsec": call.talk_s,
            "ring_time": call.ring_s,
            "hangup_cause_code": 4000 if answered else 3000,
        }

    def _fault(self, fault: Fault, request: httpx.Request) -> httpx.Response:
        if fault.kind == "timeout":
            raise httpx.ReadTimeout("simulated timeout", request=request)
        if fault.kind == "malformed":
            return httpx.Response(200, text="<html>gateway says hi</html>")
        if fault.kind == "truncated":
            return httpx.Response(200, text='{"data": [{"call_uuid": "x", "start_ti')
        error = {"code": fault.kind}
        body = fault.body or {"status": "error", "error": error, "requestId": "req-1"}
        return httpx.Response(int(fault.kind), headers=fault.headers, json=body)


def http_date(when: datetime) -> str:
    """`when` as an HTTP date (for `Retry-After`)."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def _placed(raw: dict[str, Any], at: datetime) -> datetime:
    """Where a raw row sorts: by its own start time when it has one (even a year-9999 one),
    else by when it became visible."""
    try:
        start = datetime.fromisoformat(str(raw.get("start_time")))
        return start if start.tzinfo else start.replace(tzinfo=UTC)
    except ValueError:
        return at


def _z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
