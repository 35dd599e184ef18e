"""What the account's calls say about an alert: facts, the chart's series, the briefer's thread,
the chart inline in the email and on the daemon's status page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from detector.alerting.briefer import Briefer, Page
from detector.alerting.briefing import Scope, brief
from detector.alerting.cards import Cards
from detector.alerting.delivery import Delivery
from detector.alerting.grouping import Message
from detector.alerting.masking import Masker
from detector.alerting.notification import Destinations, NoticeMaker, NotificationStage
from detector.alerting.notifiers.email import build_message
from detector.alerting.routing import build
from detector.alerting.settings import RouteSettings
from detector.assembly import build_detector
from detector.config import ModelSettings
from detector.domain import CDR
from detector.http import HttpServer
from detector.metrics import Metrics
from detector.service import Service
from detector.source.normalize import normalize
from detector.source.poller import Poller
from detector.source.settings import PollerConfig
from detector.state.store import Cycle, StateStore
from tests.daemon import ROOT
from tests.feed import FakeFeed
from tests.test_health import T0
from tests.test_outbox import episode
from tests.test_reload import Log
from tools import goldens

RULE = next(r for r in goldens.ruleset().rules if r.id == "irsf-spend-velocity-5m")
SCOPE = Scope("outbound", None, "spend")


def calls() -> list[CDR]:
    """The made-up day of the golden files for the 5-minute spend rule."""
    return goldens.made_up_calls(RULE)


def one_page(account: str, since: datetime, until: datetime) -> list[Page]:
    """`calls_of` that lists the made-up day as a single page."""
    return [(calls(), None)]


def test_facts_come_from_the_accounts_calls() -> None:
    """Currency, destinations by country and type, share, first/last call, masked samples."""
    alert = goldens.made_up_alert(RULE)
    found = brief(alert, calls(), SCOPE, Masker())
    assert found is not None
    assert found.currency == "INR"
    top = found.destinations[0]
    assert (top.country, top.kind, top.calls) == ("VN", "MOBILE", 12)
    assert top.spend == pytest.approx(float(alert["value"]))
    assert found.calls <= found.account_calls
    assert found.first_call <= found.last_call <= alert["at"]
    assert found.samples
    assert all("•" in s.to for s in found.samples)
    assert found.series is not None
    assert len(found.series.values) == 97
    assert found.series.low <= found.series.high < max(found.series.values)


def test_a_resolved_alert_covers_its_whole_episode() -> None:
    """For a resolved alert the calls counted run from one window before it fired to its end."""
    alert = goldens.made_up_alert(RULE)
    firing = brief(alert, calls(), SCOPE, Masker())
    ended = brief({**alert, "status": "resolved"}, calls(), SCOPE, Masker())
    assert firing is not None
    assert ended is not None
    assert ended.calls > firing.calls
    assert ended.spend > firing.spend


def test_the_briefer_keeps_what_it_found_and_survives_a_failed_fetch() -> None:
    """A fetched day becomes a briefing; a failing fetch leaves none and the thread goes on."""
    asked: list[tuple[str, datetime, datetime]] = []

    def calls_of(account: str, since: datetime, until: datetime) -> list[Page]:
        asked.append((account, since, until))
        if account == "MA_broken":
            raise OSError("API down")
        return [(calls(), None)]

    briefer = Briefer(calls_of, lambda rule: SCOPE, Masker())
    alert = goldens.made_up_alert(RULE)
    assert briefer.submit(alert)
    assert briefer.submit({**alert, "fingerprint": "other", "account": "MA_broken"})
    assert briefer.run_once(0.1)
    assert briefer.run_once(0.1)
    assert briefer.briefing(alert["fingerprint"], "firing") is not None
    assert briefer.briefing("other", "firing") is None
    account, since, until = asked[0]
    assert until - since == timedelta(hours=24)
    assert account == goldens.ACCOUNT


def test_the_email_carries_the_chart_inline() -> None:
    """The HTML part references a `cid:` image that the message carries as image/png."""
    rules = goldens.ruleset()
    message = build_message(goldens.notice_of(RULE, rules), "a@example.com", ["b@example.com"])
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    cid = str(images[0]["Content-ID"]).strip("<>")
    html = message.get_body(("html",))
    assert html is not None
    assert f"cid:{cid}" in html.get_content()
    assert images[0].get_content()[:4] == b"\x89PNG"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[str, Service, Briefer]]:
    """A service whose notice maker has a briefer, with its HTTP API on."""
    store = StateStore(tmp_path / "state.sqlite")
    feed = FakeFeed(now=T0)
    briefer = Briefer(one_page, lambda rule: SCOPE, Masker())
    notice = NoticeMaker(briefer=briefer, cards=Cards)
    stage = NotificationStage(store.notifications(),
                              Destinations(build(RouteSettings(receiver="null")), {}, False),
                              notice)  # fmt: skip
    svc = Service(
        poller=Poller(feed.api(), normalize, PollerConfig(), feed.clock),
        detector=build_detector(ROOT / "rules", ModelSettings(enabled=False)),
        model=None, store=store, delivery=Delivery(store.outbox(), {}, stage=stage),
        metrics=Metrics(), receivers=[], rules_dir=ROOT / "rules", interval_s=1.0,
        seen_ttl=timedelta(days=1), log=Log(),
    )  # fmt: skip
    server = HttpServer(
        svc.metrics, svc.console.status, svc.ready, svc.live, api=True, backend=svc.console
    )
    host, port = server.start("127.0.0.1", 0)
    yield f"http://{host}:{port}", svc, briefer
    server.stop()
    store.close()


def test_the_status_page_serves_the_alerts_chart(daemon: tuple[str, Service, Briefer]) -> None:
    """/api/alerts/FP/chart.png is a PNG once the briefing arrived, 404 before."""
    base, svc, briefer = daemon
    alerts = episode()[:1]
    svc.store.commit_cycle(Cycle(cursor=None, alerts=alerts))
    body = alerts[0].to_json()
    url = f"{base}/api/alerts/{body['fingerprint']}/chart.png"
    assert httpx.get(url).status_code == 404
    briefer.submit({**body, "at": goldens.made_up_alert(RULE)["at"]})
    assert briefer.run_once(0.1)
    got = httpx.get(url)
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/png"
    assert got.content[:4] == b"\x89PNG"


def test_the_notice_links_the_chart_once_briefed() -> None:
    """The stage's notice gets the briefing and a Chart link when the briefer has one."""
    briefer = Briefer(one_page, lambda rule: SCOPE, Masker())
    alert = goldens.made_up_alert(RULE)
    maker = NoticeMaker(base_url="http://127.0.0.1:9108", briefer=briefer)
    before = maker(Message("d:1", "g", "slack", {}, [alert]))
    assert before.alerts[0].briefing is None
    briefer.submit(alert)
    briefer.run_once(0.1)
    after = maker(Message("d:2", "g", "slack", {}, [alert])).alerts[0]
    assert after.briefing is not None
    assert after.currency == "INR"
    assert ("Chart", f"http://127.0.0.1:9108/api/alerts/{alert['fingerprint']}/chart.png") in (
        after.links
    )


def test_a_resolved_alert_says_how_long_it_lasted_and_what_it_cost() -> None:
    """The facts of a resolved alert name its duration and the episode's total cost."""
    from detector.alerting.content import view
    from detector.alerting.facts import rows

    alert = {**goldens.made_up_alert(RULE), "status": "resolved"}
    found = brief(alert, calls(), SCOPE, Masker())
    shown = dict(rows(view(alert, Masker(), briefing=found)))
    assert shown["Lasted"] == "4 min"
    assert shown["Total cost"].startswith("₹")
    assert found is not None
    assert shown["Total cost"] == f"₹{found.spend:,.0f}"


def test_the_models_alerts_name_a_next_step_too() -> None:
    """An anomaly-model alert (no rule file) still carries a runbook line."""
    assert "dashboard" in Cards().of("model:account-behaviour").runbook


def test_a_spend_alert_says_what_the_account_usually_spends() -> None:
    """Spend rules have no baseline: the headline's norm is the day's median for the window."""
    from detector.alerting.content import view

    alert = goldens.made_up_alert(RULE)
    found = brief(alert, calls(), SCOPE, Masker())
    assert found is not None
    assert found.usual is not None
    assert 0 < found.usual < float(alert["value"]) / 100
    shown = view(alert, Masker(), cards=Cards.of_ruleset(goldens.ruleset()), briefing=found)
    assert shown.headline.endswith(f"— usually ₹{found.usual:.3g}")
