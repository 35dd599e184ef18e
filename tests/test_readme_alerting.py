"""The README's alerting example is a working configuration that routes as the README says."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from detector.alerting.receivers import build_destinations
from detector.config import Settings, load_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def example(tmp_path: Path) -> Settings:
    """The first YAML block of the README's alerting section, loaded as a settings file."""
    section = README.read_text().split("## Alerting: routing, grouping, silences, receivers")[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    path = tmp_path / "config.yaml"
    path.write_text(block.group(1))
    assert "alerting" in yaml.safe_load(block.group(1))
    return load_settings(path)


def test_the_readme_example_loads_and_routes_as_documented(tmp_path: Path) -> None:
    """Critical fraud alerts reach the pager and the fraud mail; the lab nowhere; others Slack;
    Alertmanager receivers are re-posted every `resend`."""
    settings = example(tmp_path)
    names = {r.name: None for r in settings.alerting.receivers}
    destinations = build_destinations(settings, names | {"console": None})  # type: ignore[arg-type]

    def receivers(**labels: str) -> list[str]:
        return [leaf.receiver for leaf in destinations.of(labels) if leaf.receiver != "console"]

    assert receivers(severity="critical", team="fraud", account="MA_1") == [
        "oncall-pager", "fraud-mail",
    ]  # fmt: skip
    assert receivers(severity="warning", team="billing", account="MA_1") == ["fraud-mail"]
    assert receivers(severity="warning", team="noc", account="MA_lab7") == []
    assert receivers(severity="warning", team="noc", account="MA_1") == ["noc-slack"]
    assert destinations.resend == {"alertmanager-ha": 900.0}
    assert settings.alerting.receivers[1].email is not None
    assert settings.alerting.receivers[1].email.tls_mode == "implicit"
