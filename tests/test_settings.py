"""One ``Settings``: explicit > ``LLMOBSERVE_*`` env > defaults, one clear line for a bad value, docs/configuration.md in step."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from llmobserve.cli import build_parser
from llmobserve.query_api.services.oidc import oidc_clients
from llmobserve.settings import ENV_ONLY, Settings, SettingsError, load_settings, settings_table, unknown_env
from tests.conftest import ROOT, free_port, run_cli

# The only modules that may read the environment (docs/design.md, decision 10).
ENV_READERS = {"llmobserve/settings.py", "instrumentation/_setup.py"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"LLMOBSERVE_{name.upper()}", raising=False)


def test_explicit_beats_env_beats_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_settings().http_port == 4318 and load_settings().data_dir == Path(".llmobserve").resolve()
    monkeypatch.setenv("LLMOBSERVE_HTTP_PORT", "5000")
    monkeypatch.setenv("LLMOBSERVE_DATA_DIR", str(tmp_path / "env"))
    assert load_settings().http_port == 5000 and load_settings().data_dir == tmp_path / "env"
    given = load_settings(http_port="6000", data_dir=str(tmp_path / "arg"), host=None)
    assert (given.http_port, given.data_dir, given.host) == (6000, tmp_path / "arg", "127.0.0.1")


def test_empty_env_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOBSERVE_CLICKHOUSE_URL", "")
    assert load_settings().clickhouse_url is None and load_settings().store_config().embedded


def test_clickhouse_url_makes_a_server_store_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOBSERVE_CLICKHOUSE_URL", "http://u:p@ch:8123/db")
    config = load_settings().store_config()
    assert not config.embedded and config.url == "http://u:p@ch:8123/db"


@pytest.mark.parametrize(
    ("env", "explicit", "names"),
    [
        ({"LLMOBSERVE_HTTP_PORT": "abc"}, {}, "LLMOBSERVE_HTTP_PORT='abc'"),
        ({"LLMOBSERVE_GRPC_PORT": "70000"}, {}, "LLMOBSERVE_GRPC_PORT='70000'"),
        ({}, {"http_port": "-1"}, "--http-port='-1'"),
        ({"LLMOBSERVE_LOG_LEVEL": "verbose"}, {}, "LLMOBSERVE_LOG_LEVEL='verbose'"),
        ({"LLMOBSERVE_DECODE_WORKERS": "999"}, {}, "LLMOBSERVE_DECODE_WORKERS='999'"),
        ({"LLMOBSERVE_ONLY": "both"}, {}, "LLMOBSERVE_ONLY='both'"),
        ({"LLMOBSERVE_CLICKHOUSE_URL": "ftp://ch/db"}, {}, "LLMOBSERVE_CLICKHOUSE_URL='ftp://ch/db'"),
    ],
)
def test_a_bad_value_names_its_source(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], explicit: dict[str, str], names: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(**explicit)
    assert str(raised.value).startswith(names) and "\n" not in str(raised.value)


def test_a_bad_clickhouse_url_never_echoes_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOBSERVE_CLICKHOUSE_URL", "http://bob:s3cret@ch:99999/db")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "s3cret" not in str(raised.value) and "LLMOBSERVE_CLICKHOUSE_URL='http://***@ch:99999/db'" in str(
        raised.value
    )


def test_serve_stops_at_start_with_one_line(tmp_path: Path) -> None:
    done = run_cli(
        "serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--grpc-port",
        str(free_port()),
        env={"LLMOBSERVE_HTTP_PORT": "http"},
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: LLMOBSERVE_HTTP_PORT='http': Input should be a valid integer, unable to parse string as an integer"
    ]
    assert not (tmp_path / "d").exists()  # nothing was started or created


def test_serve_warns_about_an_unknown_variable() -> None:
    assert unknown_env({"LLMOBSERVE_HTTP_PROT": "1", "LLMOBSERVE_API_KEY": "k", "LLMOBSERVE_HOST": "h"}) == [
        "LLMOBSERVE_HTTP_PROT"
    ]
    done = run_cli(
        "keys",
        "create",
        "--tenant",
        "t",
        "--data-dir",
        "/nonexistent/x",
        env={"LLMOBSERVE_DATADIR": "/tmp/typo"},
        timeout=60,
    )
    assert "warning: LLMOBSERVE_DATADIR is set but llmobserve reads no such variable" in done.stderr


def test_the_configuration_page_lists_every_setting() -> None:
    assert settings_table() in (ROOT / "docs" / "configuration.md").read_text(), (
        "docs/configuration.md's table must be:\n" + settings_table()
    )


def test_every_setting_but_secrets_is_a_serve_flag() -> None:
    parser = build_parser()
    serve = parser._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    flags = {option for action in serve._actions for option in action.option_strings}
    for name in Settings.model_fields:
        flag = "--" + name.replace("_", "-")
        assert (flag in flags) == (name not in ENV_ONLY), flag


def _reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and {"environ", "getenv"} & {alias.name for alias in node.names}
        ):
            return True
    return False


def test_no_module_reads_the_environment_on_its_own() -> None:
    folders = (
        "llmobserve",
        "semconv",
        "pricing",
        "instrumentation",
        "storage",
        "otlp_receiver",
        "query_api",
        "billing",
    )
    readers = {
        str(path.relative_to(ROOT))
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        if _reads_environment(path)
    }
    assert readers == ENV_READERS


def test_openid_connect_providers_are_grouped_by_name_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, issuer in (("GOOGLE", "https://accounts.google.com"), ("KEYCLOAK", "https://kc.example.com/realms/x")):
        monkeypatch.setenv(f"LLMOBSERVE_OIDC_{name}_ISSUER", issuer)
        monkeypatch.setenv(f"LLMOBSERVE_OIDC_{name}_CLIENT_ID", f"id-{name}")
        monkeypatch.setenv(f"LLMOBSERVE_OIDC_{name}_CLIENT_SECRET", "s3cret-value")
    monkeypatch.setenv("LLMOBSERVE_OIDC_GOOGLE_DOMAINS", "Example.com, @corp.example")
    clients = oidc_clients(load_settings().oidc)
    assert sorted(clients) == ["google", "keycloak"]  # a button each
    assert clients["google"].provider.allowed_domains == ("example.com", "corp.example")
    assert unknown_env() == []  # the provider variables are not typos
    monkeypatch.delenv("LLMOBSERVE_OIDC_KEYCLOAK_CLIENT_SECRET")
    with pytest.raises(SettingsError, match="LLMOBSERVE_OIDC_KEYCLOAK_CLIENT_SECRET") as refused:
        load_settings()
    assert "s3cret-value" not in str(refused.value)  # never echoes a secret


def test_billing_is_off_by_default_and_needs_its_webhook_secret_and_price(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not load_settings().billing_on
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_1")
    with pytest.raises(SettingsError) as missing:
        load_settings()
    assert (
        str(missing.value)
        == "billing (STRIPE_SECRET_KEY) also needs STRIPE_WEBHOOK_SECRET and LLMOBSERVE_STRIPE_PRICE_PRO"
    )
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_1")
    monkeypatch.setenv("LLMOBSERVE_STRIPE_PRICE_PRO", "price_1")
    settings = load_settings()
    assert settings.billing_on and settings.free_spans == 100_000 and settings.past_due_grace_days == 7
    assert "sk_test_1" not in repr(settings) and "whsec_1" not in repr(settings)
