"""The front door's settings: built once from the environment (or given by a test) and passed down.

Owns `Settings` (the `FD_*` variables of the front door itself, its logs and metrics included) and its sections, one
per package, each with its own prefix: `kb` (`FD_KB_*`), `intake` (`FD_INTAKE_*`), `calendar` (`FD_CALENDAR_*`, the
one business calendar), `handoff` (`FD_HANDOFF_*`), `wechat` (`FD_WECHAT_*`), `sla` (`FD_INTAKE_SLA_CHECK_S`,
`FD_INTAKE_SLA_BREACH_REASSIGN`: the SLA scheduler's loop, which the program runs), `notify` (`FD_NOTIFY_*`,
customer email), `follow_up` (`FD_FOLLOW_UP_*`, the follow-up after resolution), `record` (`FD_RECORD_*`, the
service record's writer), `analytics` (`FD_ANALYTICS_*`, the reports' time zone and projector) and `limits`
(`FD_LIMITS_*`, the request rate limits). A new
package adds its `EnvSettings` subclass here as a field (with a `doc_title`); `from_env` and README.md's generated
tables pick it up. Nothing else in the project reads `os.environ`: `frontdoor` calls `Settings.from_env(os.environ)`
once; tests build `Settings(var_dir=tmp_path, kb=KBConfig(seed_demo=False), ...)` directly, which reads nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field

from analytics.settings import AnalyticsConfig
from backends.settings import EnvSettings
from bot.channels.email import EmailConfig
from bot.channels.wechat.settings import WeChatConfig
from handoff.settings import HandoffConfig
from intake.settings import CalendarConfig, FollowUpConfig, IntakeConfig, IntakeSettings
from kb.settings import KBConfig
from observability import LogFormat
from record import RecordConfig
from web.rate_limits import RateLimitConfig


def _rasa_urls(value: str) -> str:
    """One Rasa URL or several, comma-separated, each without its trailing slash."""
    urls = [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
    if not urls:
        raise ValueError("wants at least one Rasa URL (several: comma-separated)")
    return ",".join(urls)


def _log_format(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return LogFormat(value.strip().lower())
        except ValueError as exc:
            raise ValueError("wants json or console (empty: console on a terminal, JSON otherwise)") from exc
    return value


class SlaSchedulerConfig(EnvSettings):
    """The SLA scheduler's loop (`bot/sla_scheduler.py`); the targets it checks are `FD_INTAKE_SLA_<PRIORITY>`."""

    model_config = EnvSettings.config("FD_INTAKE_SLA_")
    doc_title = "SLA scheduler (`bot/sla_scheduler.py`)"

    check_s: float = Field(
        30.0,
        ge=0,
        description="Seconds between passes of the SLA watcher, which fires tickets' at-risk and breach events. Every "
        "replica runs the loop; one at a time (a lock in Redis, else PostgreSQL, else in-process) does each pass. "
        "`0`: this replica never checks.",
    )
    breach_reassign: bool = Field(
        False, description="A breached ticket is also reassigned to its team's lead (who is alerted either way)."
    )


class Settings(EnvSettings):
    model_config = EnvSettings.config("FD_")
    doc_title = "Front door (`bot/settings.py`)"

    host: str = Field("127.0.0.1", description="Interface the front door listens on.")
    port: int = Field(
        8080, ge=1, le=65535, description="Port of the front door (chat API, widget, console, editor, actions webhook)."
    )
    public_url: str = Field(
        "",
        description="Base URL customers' browsers use.",
        json_schema_extra={"doc_default": "(from host and port)"},
    )
    var_dir: Path = Field(
        Path("var"), description="Where the embedded defaults keep their files (SQLite, KB index, secrets)."
    )
    # The conventional DATABASE_URL / REDIS_URL of hosting platforms work too.
    database_url: str = Field(
        "",
        validation_alias=AliasChoices("FD_DATABASE_URL", "DATABASE_URL"),
        description="`sqlite:///PATH` or `postgresql://…`.",
        json_schema_extra={"doc_default": "`sqlite:///var/frontdoor.db`"},
    )
    database_schema: str = Field("public", description="PostgreSQL schema holding the tables.")
    redis_url: str = Field(
        "",
        validation_alias=AliasChoices("FD_REDIS_URL", "REDIS_URL"),
        description="`redis://…` to share live state between replicas.",
        json_schema_extra={"doc_default": "(empty: in-process)"},
    )
    rasa_url: Annotated[str, AfterValidator(_rasa_urls)] = Field(
        "http://127.0.0.1:5005",
        description="Rasa server (REST channel and HTTP API); several, comma-separated: each conversation sticks to "
        "one (by a hash of its id) and moves to the next while that one refuses connections. Several servers share "
        'one tracker store and a Redis lock store (docs/operations.md, "Sizing front doors").',
    )
    rasa_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Seconds to wait for one Rasa turn before the bot counts as failed (→ handoff); a turn waiting "
        "for a free slot (`FD_RASA_MAX_TURNS`) is not counted.",
    )
    rasa_max_turns: int = Field(
        4,
        ge=1,
        description="Turns this front door gives each Rasa server at once; more wait, in arrival order, so a peak "
        "queues customers fairly instead of slowing every turn in Rasa (a Rasa server is one CPU-bound process: "
        "a few at once hide its waits on the tracker store and the actions, more only share its core).",
    )
    rasa_servers: int = Field(
        1,
        ge=1,
        le=16,
        description="Rasa servers `frontdoor run` starts (on consecutive ports from `--rasa-port`); more than one "
        "needs `FD_RASA_LOCK_STORE_URL`.",
    )
    rasa_lock_store_url: str = Field(
        "",
        description="`redis://host:port/db` for Rasa's lock store when `frontdoor run` starts Rasa, so that two "
        "servers never run one conversation's turns at once.",
        json_schema_extra={"doc_default": "(empty: in memory, one server)"},
    )
    typing_after_s: float = Field(
        1.0,
        ge=0,
        description="Seconds a bot turn may take before the customer's chat shows the assistant typing (\"one "
        'moment"); it goes away with the answer.',
    )
    actions_token: str = Field(
        "",
        description="Shared secret Rasa sends to the in-process actions webhook (`token` in endpoints.yml); required "
        "from every caller, loopback included. Replicas with their own var directories must share one.",
        json_schema_extra={"doc_default": "(empty: generated once, kept in `var/actions-token`)"},
    )
    chat_allowed_origins: str = Field(
        "*",
        description="Sites allowed to embed the widget / call the chat API (comma-separated origins; `*` = any).",
    )
    max_message_chars: int = Field(2000, ge=1, description="Longest customer message accepted.")
    max_body_bytes: int = Field(65536, ge=1024, description="Largest request body accepted.")
    rasa_tracker_url: str = Field(
        "",
        description="Rasa's tracker store (SQL) when frontdoor starts Rasa; `postgresql://…` to share it.",
        json_schema_extra={"doc_default": "`sqlite:///var/rasa-tracker.db`"},
    )
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(lambda v: str(v).upper())
    ] = Field("INFO", description="Python log level.")
    log_format: Annotated[LogFormat, BeforeValidator(_log_format)] = Field(
        LogFormat.AUTO,
        description="`json` (one object per line) or `console` (readable).",
        json_schema_extra={"doc_default": "(empty: console on a terminal, else JSON)"},
    )
    metrics_token: str = Field(
        "",
        description="Bearer token `GET /metrics` requires.",
        json_schema_extra={"doc_default": "(empty: loopback only)"},
    )
    metrics_host: str = Field("127.0.0.1", description="Interface of the internal metrics port.")
    metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Serve `/metrics` only on this internal port, not the public one.",
        json_schema_extra={"doc_default": "`0` (on `FD_PORT`)"},
    )

    # Sections, each read with its own prefix (frozen, so one default instance is safe to share).
    kb: KBConfig = KBConfig()
    intake: IntakeConfig = IntakeConfig()
    calendar: CalendarConfig = CalendarConfig()
    handoff: HandoffConfig = HandoffConfig()
    wechat: WeChatConfig = WeChatConfig()
    sla: SlaSchedulerConfig = SlaSchedulerConfig()
    notify: EmailConfig = EmailConfig()
    follow_up: FollowUpConfig = FollowUpConfig()
    record: RecordConfig = RecordConfig()
    analytics: AnalyticsConfig = AnalyticsConfig()
    limits: RateLimitConfig = RateLimitConfig()

    @property
    def rasa_urls(self) -> tuple[str, ...]:
        """`rasa_url`'s servers, in the order given."""
        return tuple(self.rasa_url.split(","))

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'frontdoor.db'}"

    @property
    def effective_rasa_tracker_url(self) -> str:
        return self.rasa_tracker_url or f"sqlite:///{self.var_dir / 'rasa-tracker.db'}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def intake_settings(self) -> IntakeSettings:
        """Intake's policy on the one business calendar (a new calendar per call: the app builds it once, at start,
        and hands it to tickets, the actions and handoff's opening hours and chat SLA)."""
        return self.intake.intake_settings(self.calendar.calendar())

    @classmethod
    def for_server(cls, env: Mapping[str, str]) -> Settings:
        """What `frontdoor serve/run` run with: the environment, plus a server's own defaults (it builds its FAQ
        index at start, so the first question never waits for the encoders). Raises `InvalidSettings`."""
        return cls.from_env({"FD_KB_PRELOAD": "1", **env})


# README.md's configuration section, in this order: the front door, then its sections (bot.settings_docs renders it).
SECTIONS: tuple[type[EnvSettings], ...] = (Settings, *(section for _, section in Settings.sections()))

__all__ = ["SECTIONS", "Settings", "SlaSchedulerConfig"]
