import subprocess
import sys
from pathlib import Path

import pytest

from backends.exceptions import InvalidSettings
from bot.channels.wechat import EncodingMode, WeChatConfig
from bot.settings import Settings
from handoff.settings import HandoffConfig
from intake.models import Priority
from intake.settings import CalendarConfig, IntakeConfig, SlaTarget
from kb.settings import KBConfig
from server.cli import main, wants_demo_order_service, with_order_system, with_rasa_port

AES_KEY = "a" * 43


def test_defaults_are_the_embedded_ones() -> None:
    settings = Settings.from_env({})
    assert settings.effective_database_url == "sqlite:///var/frontdoor.db"
    assert settings.redis_url == ""
    assert settings.effective_public_url == "http://127.0.0.1:8080"
    assert settings.wechat.account() is None and settings.kb.preload is False


def test_environment_overrides_defaults() -> None:
    settings = Settings.from_env(
        {"FD_PORT": "9000", "FD_DATABASE_URL": "postgresql://db/fd", "FD_REDIS_URL": "redis://r:6379/0"}
    )
    assert (settings.port, settings.effective_database_url, settings.redis_url) == (
        9000,
        "postgresql://db/fd",
        "redis://r:6379/0",
    )


def test_platform_style_database_and_redis_urls_are_honoured() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r/1"})
    assert (settings.effective_database_url, settings.redis_url) == ("postgresql://db/x", "redis://r/1")
    assert Settings.from_env({"DATABASE_URL": "postgresql://a", "FD_DATABASE_URL": "sqlite:///b"}).database_url == (
        "sqlite:///b"
    )
    assert Settings.from_env({"DATABASE_URL": "postgresql://a", "FD_DATABASE_URL": ""}).database_url == (
        "postgresql://a"
    )


def test_each_package_reads_its_own_prefix_into_its_section() -> None:
    settings = Settings.from_env(
        {
            "FD_KB_ENCODERS_EN": "hashing, e5",
            "FD_KB_ADAPT": "0",
            "FD_INTAKE_TICKET_PREFIX": "acme",
            "FD_INTAKE_SLA_URGENT": "0.5/2",
            "FD_HANDOFF_AUTO_ASSIGN": "0",
            "FD_HANDOFF_NOT_FOUND_LIMIT": "3",
            "FD_WECHAT_TOKEN": "t",
            "FD_WECHAT_APP_ID": "wx1",
            "FD_WECHAT_ENCODING_MODE": "safe",
            "FD_WECHAT_ENCODING_AES_KEY": AES_KEY,
            "FD_RASA_URL": "http://rasa:5005/",
        }
    )
    assert settings.kb.encoders_en == ("hashing", "e5") and settings.kb.adapt is False
    assert settings.intake.ticket_prefix == "ACME"
    assert settings.intake.intake_settings().sla_targets[Priority.URGENT] == SlaTarget(0.5, 2)
    assert settings.handoff.routing().assign_on_enqueue is False and settings.handoff.policy().not_found_limit == 3
    account = settings.wechat.account()
    assert account is not None and account.encoding_mode is EncodingMode.SAFE
    assert settings.rasa_url == "http://rasa:5005"


def test_built_directly_the_settings_never_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FD_PORT", "9999")
    monkeypatch.setenv("FD_KB_SEED_DEMO", "0")
    settings = Settings(var_dir=Path("/tmp/x"), kb=KBConfig(adapt=False))
    assert settings.port == 8080 and settings.kb.seed_demo is True and settings.kb.adapt is False


def test_a_server_preloads_the_index_unless_told_not_to() -> None:
    assert Settings.for_server({}).kb.preload is True
    assert Settings.for_server({"FD_KB_PRELOAD": "0"}).kb.preload is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FD_WECHAT_ENCODING_MODE": "secret"}, "FD_WECHAT_ENCODING_MODE must be one of plaintext, compatible, safe"),
        ({"FD_KB_ENCODER_RUNTIME": "gpu"}, "FD_KB_ENCODER_RUNTIME must be one of onnx, onnx-int8, torch"),
        ({"FD_KB_ENCODERS_ZH": "bert"}, "FD_KB_ENCODERS_ZH must be one of minilm, e5, use, hashing"),
        ({"FD_PORT": "eighty"}, "FD_PORT: Input should be a valid integer"),
        ({"FD_LOG_LEVEL": "chatty"}, "FD_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ({"FD_HANDOFF_AUTO_ASSIGN": "sometimes"}, "FD_HANDOFF_AUTO_ASSIGN: Input should be a valid boolean"),
        ({"FD_HANDOFF_HOURS": "9 to 5"}, "FD_HANDOFF_HOURS: wants opening hours as HH:MM-HH:MM"),
        ({"FD_HANDOFF_HOURS": "18:00-09:00"}, "FD_HANDOFF_HOURS: bad interval 1080-540 on weekday 0"),
        ({"FD_INTAKE_SLA_HIGH": "fast"}, "FD_INTAKE_SLA_HIGH: wants positive first-response/resolution[/next-reply]"),
        (
            {"FD_INTAKE_SLA_HIGH": "4/24/2/1"},
            "FD_INTAKE_SLA_HIGH: wants positive first-response/resolution[/next-reply]",
        ),
        ({"FD_INTAKE_SLA_HIGH": "24/4"}, "FD_INTAKE_SLA_HIGH: wants first-response hours <= resolution hours"),
        ({"FD_INTAKE_SLA_AT_RISK": "1.5"}, "FD_INTAKE_SLA_AT_RISK: Input should be less than or equal to 1"),
        ({"FD_CALENDAR_HOURS": "weekdays"}, "FD_CALENDAR_HOURS: cannot read business hours 'weekdays'"),
        ({"FD_CALENDAR_TIMEZONE": "Mars/Olympus"}, "FD_CALENDAR_TIMEZONE: unknown time zone"),
        ({"FD_CALENDAR_HOLIDAYS": "/nonexistent/holidays.csv"}, "FD_CALENDAR_HOLIDAYS: cannot read holidays file"),
        ({"FD_HANDOFF_ABANDON_AFTER_S": "0"}, "FD_HANDOFF_ABANDON_AFTER_S: Input should be greater than 0"),
        ({"FD_WECHAT_IDLE_CLOSE_S": "soon"}, "FD_WECHAT_IDLE_CLOSE_S: Input should be a valid number"),
        ({"FD_LOG_FORMAT": "xml"}, "FD_LOG_FORMAT: wants json or console"),
        ({"FD_METRICS_PORT": "70000"}, "FD_METRICS_PORT: Input should be less than or equal to 65535"),
        ({"FD_INTAKE_BUSINESS_TZ": "Mars/Olympus"}, "FD_INTAKE_BUSINESS_TZ: unknown time zone"),
        ({"FD_INTAKE_ORDER_PATTERN": "(["}, "FD_INTAKE_ORDER_PATTERN: not a regular expression"),
        ({"FD_INTAKE_TICKET_PREFIX": "FD-"}, "FD_INTAKE_TICKET_PREFIX: String should match pattern"),
        (
            {"FD_INTAKE_DEMO_ORDERS": "1", "FD_INTAKE_ORDER_API_URL": "http://orders"},
            "set FD_INTAKE_ORDER_API_URL or FD_INTAKE_DEMO_ORDERS, not both",
        ),
        ({"FD_WECHAT_TOKEN": "t"}, "FD_WECHAT_APP_ID is required when FD_WECHAT_TOKEN is set"),
        (
            {"FD_WECHAT_TOKEN": "t", "FD_WECHAT_APP_ID": "wx", "FD_WECHAT_ENCODING_MODE": "safe"},
            "FD_WECHAT_ENCODING_AES_KEY: EncodingAESKey must be 43 characters",
        ),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_accepts(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidSettings) as caught:
        Settings.from_env(env)
    assert any(problem.startswith(message) for problem in caught.value.problems), caught.value.problems


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(InvalidSettings) as caught:
        Settings.from_env({"FD_PORT": "x", "FD_KB_ADAPT": "x", "FD_INTAKE_MAX_REASKS": "-1", "FD_HANDOFF_DAYS": "x"})
    variables = sorted(problem.split(":")[0] for problem in caught.value.problems)
    assert variables == ["FD_HANDOFF_DAYS", "FD_INTAKE_MAX_REASKS", "FD_KB_ADAPT", "FD_PORT"]


@pytest.mark.parametrize("command", ["serve", "run"])
def test_the_command_prints_a_bad_setting_and_exits_without_a_traceback(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FD_WECHAT_ENCODING_MODE", "secret")
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert "FD_WECHAT_ENCODING_MODE must be one of plaintext, compatible, safe" in err
    assert "Traceback" not in err


def test_frontdoor_settings_checks_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FD_HANDOFF_TIMEZONE", "Asia/Shanghai")
    assert main(["settings"]) == 0
    monkeypatch.setenv("FD_INTAKE_MAX_REASKS", "many")
    assert main(["settings"]) == 2
    assert "FD_INTAKE_MAX_REASKS" in capsys.readouterr().err


def test_sections_are_built_with_keyword_arguments_and_stay_frozen() -> None:
    config = CalendarConfig(hours="Mon-Fri 09:00-18:00", timezone="Europe/Berlin", holidays="none")
    calendar = config.calendar()
    assert calendar.timezone == "Europe/Berlin" and calendar.days is None
    assert calendar.hours is not None and [bool(calendar.hours.spans(d)) for d in range(7)] == [True] * 5 + [False] * 2
    assert HandoffConfig(abandon_after_s=5).routing(calendar).calendar is calendar
    assert IntakeConfig(ticket_prefix="acme").intake_settings().ticket_prefix == "ACME"
    account = WeChatConfig(token="t", app_id="wx", idle_close_s=60).account()
    assert account is not None and account.idle_close_s == 60
    with pytest.raises(ValueError, match="frozen"):
        config.hours = ""  # type: ignore[misc]


def test_the_calendar_defaults_to_shanghai_round_the_clock_with_china_s_holidays() -> None:
    calendar = Settings.from_env({}).calendar.calendar()
    assert calendar.always_open and calendar.timezone == "Asia/Shanghai"


def test_tickets_and_handoff_count_business_time_on_one_calendar_built_once() -> None:
    settings = Settings.from_env({"FD_CALENDAR_HOURS": "Mon-Fri 09:00-18:00", "FD_INTAKE_SLA_AT_RISK": "0.5"})
    intake = settings.intake_settings()
    routing = settings.handoff.routing(intake.calendar, intake.sla_policy())
    assert routing.calendar is intake.calendar and routing.sla.calendar is intake.calendar
    assert routing.sla.at_risk_share == 0.5


def test_observability_and_the_new_limits_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "FD_LOG_FORMAT": "JSON",
            "FD_METRICS_PORT": "9100",
            "FD_WECHAT_TOKEN": "t",
            "FD_WECHAT_APP_ID": "wx",
            "FD_WECHAT_IDLE_CLOSE_S": "3600",
            "FD_HANDOFF_ABANDON_AFTER_S": "120",
        }
    )
    assert settings.log_format == "json" and settings.metrics_port == 9100
    account = settings.wechat.account()
    assert account is not None and account.idle_close_s == 3600
    assert settings.handoff.abandon_after_s == 120


def test_the_domain_packages_settings_import_no_front_door_code() -> None:
    code = (
        "import sys, kb.settings, intake.settings, handoff.settings; "
        "sys.exit(any(m == 'bot' or m.startswith('bot.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_frontdoor_run_starts_the_demo_order_service_unless_the_environment_says_otherwise() -> None:
    assert wants_demo_order_service({})
    assert not wants_demo_order_service({"FD_INTAKE_ORDER_API_URL": "http://orders.internal"})
    assert not wants_demo_order_service({"FD_INTAKE_DEMO_ORDERS": "1"})  # the in-process demo set, asked for
    assert not wants_demo_order_service({"FD_INTAKE_DEMO_ORDERS": "0"})  # no order system at all
    # The demo orders are never on unless asked for; the service is reached through the real adapter.
    assert Settings.for_server({}).intake.demo_orders is False
    demo = with_order_system(Settings.for_server({}), "http://127.0.0.1:8089")
    assert (demo.intake.order_api_url, demo.intake.demo_orders) == ("http://127.0.0.1:8089", False)


def test_frontdoor_run_talks_to_the_rasa_it_starts_on_its_rasa_port() -> None:
    settings = Settings.for_server({"FD_RASA_URL": "http://rasa.internal:5005"})
    assert with_rasa_port(settings, 15005).rasa_url == "http://127.0.0.1:15005"


def test_an_error_never_repeats_a_secret_or_a_url() -> None:
    with pytest.raises(InvalidSettings) as caught:
        Settings.from_env({"FD_INTAKE_ORDER_API_URL": "ftp://user:pw@orders", "FD_REDIS_URL": "redis://x"})
    assert caught.value.problems[0].startswith("FD_INTAKE_ORDER_API_URL: String should match pattern")
    assert "pw@" not in str(caught.value)


def test_several_rasa_servers_are_one_comma_separated_setting() -> None:
    settings = Settings.for_server({"FD_RASA_URL": " http://rasa-1:5005/, http://rasa-2:5005 ,"})
    assert settings.rasa_urls == ("http://rasa-1:5005", "http://rasa-2:5005")
    with pytest.raises(InvalidSettings) as caught:
        Settings.from_env({"FD_RASA_URL": " , "})
    assert caught.value.problems[0].startswith("FD_RASA_URL:")


def test_frontdoor_run_with_several_rasa_servers_talks_to_each_on_the_next_ports() -> None:
    settings = Settings.for_server({"FD_RASA_SERVERS": "3", "FD_RASA_LOCK_STORE_URL": "redis://127.0.0.1:6379/2"})
    assert with_rasa_port(settings, 15005).rasa_urls == tuple(f"http://127.0.0.1:{p}" for p in (15005, 15006, 15007))
