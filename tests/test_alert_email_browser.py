"""The alert email as a browser shows it: headless Chromium renders the real MIME message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detector.alerting.notifiers.email import build_message
from tools import emailshots, goldens

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(emailshots.browser() is None, reason="chromium not installed"),
]
PROBE = (
    "<script>addEventListener('load', () => {const img = document.images[0];"
    "document.body.setAttribute('data-chart', img ? img.naturalWidth + 'x' + img.naturalHeight"
    " : 'none');});</script></body>"
)


def test_the_email_shows_its_headline_and_chart_in_a_browser(tmp_path: Path) -> None:
    """Chromium loads the spend alert's HTML part: the headline is there, the chart decodes."""
    rules = goldens.ruleset()
    rule = next(r for r in rules.rules if "cost" in str(r.model_dump()))
    notice = goldens.notice_of(rule, rules)
    message = build_message(notice, "cdr-detector@example.com", ["noc@example.com"])
    html = emailshots.page(message, tmp_path)
    html.write_text(html.read_text().replace("</body>", PROBE))
    shown = emailshots.dom(html)
    assert notice.alerts[0].headline in shown
    size = re.search(r'data-chart="(\d+)x(\d+)"', shown)
    assert size is not None, "the chart image did not load"
    assert int(size.group(1)) >= 400
    assert int(size.group(2)) >= 150
    png = emailshots.screenshot(html, tmp_path / "email.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
