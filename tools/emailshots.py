"""An alert email as a mail client shows it, rendered by headless Chromium.

    python -m tools.emailshots      # docs/alerts/*.png and *.slack.json for three rules

`page(message, directory)` writes the message's HTML part with its inline images (the `cid:`
references replaced by the attached files, as a mail client does) and returns the page's
path; `screenshot` and `dom` run Debian's `chromium` headless on it (a phone-wide window). The
docs get the email of three default rules (spend, no-answer surge, Wangiri callbacks) at phone
width, with their Block Kit JSON beside them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from email.message import EmailMessage
from pathlib import Path

from detector.alerting.notifiers.email import build_message
from detector.alerting.render import slack_payload
from tools import goldens

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "alerts"
DOC_RULES = ("irsf-spend-velocity-5m", "no-answer-surge", "wangiri-callback")
WIDTH, HEIGHT = 430, 1900
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--hide-scrollbars", "--virtual-time-budget=3000")  # fmt: skip


def browser() -> str | None:
    """The Chromium binary, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def page(message: EmailMessage, directory: Path) -> Path:
    """The message's HTML part as a local page, its `cid:` images saved beside it."""
    html_part = message.get_body(("html",))
    if html_part is None:
        raise ValueError("the message has no HTML part")
    text = html_part.get_content()
    for part in message.walk():
        if part.get_content_maintype() != "image":
            continue
        cid = str(part.get("Content-ID", "")).strip("<>")
        name = part.get_filename() or f"{cid}.png"
        (directory / name).write_bytes(part.get_content())
        text = text.replace(f"cid:{cid}", name)
    out = directory / "email.html"
    out.write_text(text)
    return out


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    chromium = browser()
    if chromium is None:
        raise RuntimeError("chromium is not installed (make test installs it)")
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)  # noqa: S603


def screenshot(
    html: Path, png: Path, width: int = WIDTH, height: int = HEIGHT, *, dark: bool = False
) -> Path:
    """A PNG of the page in a `width` × `height` window (`dark`: prefers-color-scheme dark)."""
    scheme = ["--blink-settings=preferredColorScheme=0"] if dark else []
    with tempfile.TemporaryDirectory() as profile:
        _run([*scheme, f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri()],
             Path(profile))  # fmt: skip
    return png


def dom(html: Path) -> str:
    """The page's DOM after loading (and running its scripts)."""
    with tempfile.TemporaryDirectory() as profile:
        return _run(["--dump-dom", html.as_uri()], Path(profile)).stdout


def main() -> None:
    """Write the docs' screenshots and Block Kit JSON for `DOC_RULES`."""
    rules = goldens.ruleset()
    DOCS.mkdir(parents=True, exist_ok=True)
    by_id = {r.id: r for r in rules.rules}
    for rule_id in DOC_RULES:
        if rule_id not in by_id:
            print(f"{rule_id}: not in the rule pack, skipped")
            continue
        notice = goldens.notice_of(by_id[rule_id], rules)
        message = build_message(notice, "cdr-detector@example.com", ["noc@example.com"])
        with tempfile.TemporaryDirectory() as tmp:
            html = page(message, Path(tmp))
            shot = screenshot(html, DOCS / f"{rule_id}.email.png")
            if rule_id == DOC_RULES[0]:
                screenshot(html, DOCS / f"{rule_id}.email-dark.png", dark=True)
        (DOCS / f"{rule_id}.slack.json").write_text(
            json.dumps(slack_payload(notice), indent=2, ensure_ascii=False) + "\n"
        )
        print(f"{shot.relative_to(ROOT)} and {rule_id}.slack.json")


if __name__ == "__main__":
    main()
