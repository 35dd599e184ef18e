"""Settings: the example file covers every setting, environment overrides reach every one,
secrets come from variables or files, every problem is reported at once, a bare API host works."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from detector.assembly import poller_config
from detector.config import Settings, credentials, load_settings
from detector.errors import ConfigError
from detector.overrides import env_overrides
from detector.source.settings import PollerConfig

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "deploy" / "config.example.yaml"


def setting_paths(model: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Every leaf setting of a settings object as dotted path → value."""
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out.update(setting_paths(value, f"{prefix}{name}."))
        else:
            out[prefix + name] = value
    return out


def yaml_paths(node: Any, prefix: str = "") -> set[str]:
    """Every leaf key of a YAML mapping as dotted path (mappings of settings only)."""
    out: set[str] = set()
    for key, value in node.items():
        if isinstance(value, dict) and value and key != "trunk_accounts":
            out |= yaml_paths(value, f"{prefix}{key}.")
        else:
            out.add(prefix + key)
    return out


def test_example_config_names_every_setting_with_a_comment() -> None:
    """deploy/config.example.yaml has every setting, each under a comment, and loads as is."""
    text = EXAMPLE.read_text()
    assert yaml_paths(yaml.safe_load(text)) == set(setting_paths(Settings()))
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not stripped.endswith(":"):
            above = [x.strip() for x in lines[max(0, i - 4) : i]]
            assert any(x.startswith("#") for x in above), f"no comment near: {line}"
    assert setting_paths(load_settings(EXAMPLE, environ={})) == setting_paths(Settings())


def test_every_setting_can_be_overridden_from_the_environment() -> None:
    """CDR_DETECTOR__<SECTION>__<KEY> reaches every setting, at any depth, read as YAML."""
    env = {
        "CDR_DETECTOR__POLL__INTERVAL_S": "5",
        "CDR_DETECTOR__METRICS__CURRENCIES": "[INR, USD]",
        "CDR_DETECTOR__STATE__RETENTION__RESOLVED_ALERTS_S": "1000",
        "CDR_DETECTOR__MODEL__ENABLED": "false",
        "CDR_DETECTOR__ALLOWED_LATENESS_S": "300",
        "CDR_DETECTOR__LOG__FORMAT": "json",
    }
    s = load_settings(None, environ=env)
    assert s.poll.interval_s == 5
    assert s.metrics.currencies == ("INR", "USD")
    assert s.state.retention.resolved_alerts_s == 1000
    assert s.model.enabled is False
    assert s.allowed_lateness_s == 300
    assert s.log.format == "json"
    names = {f"CDR_DETECTOR__{p.replace('.', '__').upper()}" for p in setting_paths(Settings())}
    assert set(env_overrides(dict.fromkeys(names, "1"))) == set(setting_paths(Settings()))


def test_precedence_is_file_then_environment_then_flags(tmp_path: Path) -> None:
    """The environment beats the file and a command-line flag beats both."""
    path = tmp_path / "c.yaml"
    path.write_text("poll: {interval_s: 30}\nstate: {path: from-file.sqlite}\n")
    env = {"CDR_DETECTOR__POLL__INTERVAL_S": "20", "CDR_DETECTOR__STATE__PATH": "env.sqlite"}
    s = load_settings(path, {"state.path": "flag.sqlite"}, environ=env)
    assert s.poll.interval_s == 20
    assert str(s.state.path) == "flag.sqlite"


def test_every_problem_is_reported_at_once_on_one_line(tmp_path: Path) -> None:
    """Two bad values in the file and an unknown override are named together, with the
    variable an override came from."""
    path = tmp_path / "c.yaml"
    path.write_text("poll: {interval_s: -1}\nlog: {format: xml}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={"CDR_DETECTOR__POLL__INTERVL_S": "3"})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: 3 problems: ")
    assert "poll.interval_s: Input should be greater than 0" in message
    assert "log.format: Input should be 'json' or 'console'" in message
    assert "poll.intervl_s (from CDR_DETECTOR__POLL__INTERVL_S): unknown setting" in message


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1/partner"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v1/partner"),
        ("https://api.vobiz.ai/api/v1/partner", "https://api.vobiz.ai/api/v1/partner"),
        ("http://proxy.local/vobiz/api/v1/partner", "http://proxy.local/vobiz/api/v1/partner"),
    ],
)
def test_a_bare_api_host_gets_the_partner_api_path(given: str, used: str) -> None:
    """`--api-url` accepts the API's host and adds /api/v1/partner; a path is kept as given."""
    assert load_settings(None, {"api.url": given}, environ={}).api.url == used


def test_an_api_url_that_is_not_http_is_refused() -> None:
    """A URL without scheme or host is a settings error naming api.url."""
    with pytest.raises(ConfigError, match=r"api\.url: Value error, not an http\(s\) URL"):
        load_settings(None, {"api.url": "127.0.0.1:8080"}, environ={})


def test_auth_id_and_token_can_come_from_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """api.auth_id_file and api.auth_token_file hold the credentials (a file beats a variable)."""
    (tmp_path / "id").write_text("PA_FROM_FILE\n")
    (tmp_path / "token").write_text("t0ken\n")
    monkeypatch.setenv("CDR_DETECTOR_AUTH_ID", "PA_FROM_ENV")
    api = load_settings(
        None,
        {"api.auth_id_file": tmp_path / "id", "api.auth_token_file": tmp_path / "token"},
        environ={},
    ).api
    auth_id, token = credentials(api)
    assert auth_id == "PA_FROM_FILE"
    assert token.reveal() == "t0ken"
    assert "t0ken" not in repr(token)


def test_missing_credentials_name_the_variables_and_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without an id the error says which variables or files to set."""
    monkeypatch.delenv("CDR_DETECTOR_AUTH_ID", raising=False)
    monkeypatch.setenv("CDR_DETECTOR_AUTH_TOKEN", "x")
    with pytest.raises(ConfigError, match=r"api\.auth_id_file and api\.auth_token_file"):
        credentials(load_settings(None, environ={}).api)


def test_every_secret_has_an_env_and_a_file_setting() -> None:
    """Each secret (and the partner id) is read from a named variable or a file."""
    paths = set(setting_paths(Settings()))
    for secret in (
        "api.auth_id", "api.auth_token", "slack.webhook_url", "email.password", "webhook.url",
        "webhook.secret", "metrics.api_token",
    ):  # fmt: skip
        assert {f"{secret}_env", f"{secret}_file"} <= paths, secret


def test_a_settings_file_without_poll_reads_the_feed_with_the_pollers_own_defaults() -> None:
    """The daemon's poller, built from settings that leave `poll:` out, gets every bound the
    poller defaults to (one set of defaults: the two cannot drift apart)."""
    built, own = poller_config(Settings(), None), PollerConfig()
    derived = {"latency_budget", "account", "head_s"}  # from the rate limit / the CLI / fixed
    for name in (f.name for f in fields(PollerConfig) if f.name not in derived):
        assert getattr(built, name) == getattr(own, name), name
