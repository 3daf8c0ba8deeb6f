"""The front door's settings: built once from the environment (or given by a test) and passed down.

Nothing else in the project reads `os.environ`. Every variable, its default and its meaning is listed in
`ENVIRONMENT` below, which README.md's configuration table mirrors (a test keeps them in step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.channels.wechat.settings import EncodingMode, WeChatSettings

# name -> (default, meaning)
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "FD_HOST": ("127.0.0.1", "Interface the front door listens on."),
    "FD_PORT": ("8080", "Port of the front door (chat API, widget, console, editor, actions webhook)."),
    "FD_PUBLIC_URL": ("", "Base URL customers' browsers use; defaults to http://FD_HOST:FD_PORT."),
    "FD_VAR_DIR": ("var", "Where the embedded defaults keep their files (SQLite, KB index, secrets)."),
    "FD_DATABASE_URL": ("", "sqlite:///PATH or postgresql://…; empty means sqlite:///FD_VAR_DIR/frontdoor.db."),
    "FD_DATABASE_SCHEMA": ("public", "PostgreSQL schema holding the tables."),
    "FD_REDIS_URL": ("", "redis://… to share live state between replicas; empty means in-process state."),
    "FD_RASA_URL": ("http://127.0.0.1:5005", "Rasa server (REST channel and HTTP API)."),
    "FD_RASA_TIMEOUT_S": ("10", "Seconds to wait for one Rasa turn before the bot counts as failed."),
    "FD_ACTIONS_TOKEN": ("", "Shared secret Rasa sends to the actions webhook; empty means loopback callers only."),
    "FD_CHAT_ALLOWED_ORIGINS": ("*", "Sites allowed to embed the widget (comma-separated origins; * means any)."),
    "FD_MAX_MESSAGE_CHARS": ("2000", "Longest customer message accepted."),
    "FD_MAX_BODY_BYTES": ("65536", "Largest request body accepted."),
    "FD_RASA_TRACKER_URL": ("", "Rasa's tracker store when frontdoor starts Rasa; empty means SQLite in FD_VAR_DIR."),
    "FD_LOG_LEVEL": ("INFO", "Python log level."),
    "FD_LOG_FORMAT": ("", "json or console; empty means console on a terminal, JSON otherwise."),
    "FD_METRICS_TOKEN": ("", "Bearer token /metrics requires; empty means loopback callers only."),
    "FD_METRICS_HOST": ("127.0.0.1", "Interface of the internal metrics port (with FD_METRICS_PORT)."),
    "FD_METRICS_PORT": ("0", "Serve /metrics only on this internal port instead of FD_PORT; 0 means FD_PORT."),
    "FD_WECHAT_TOKEN": ("", "WeChat Official Account token; setting it mounts the WeChat channel at /wechat."),
    "FD_WECHAT_APP_ID": ("", "WeChat AppID."),
    "FD_WECHAT_APP_SECRET": ("", "WeChat AppSecret (for the customer-service message API)."),
    "FD_WECHAT_ENCODING_AES_KEY": ("", "WeChat EncodingAESKey (43 characters; compatible and safe modes)."),
    "FD_WECHAT_ENCODING_MODE": ("plaintext", "plaintext, compatible or safe, as set in the WeChat admin console."),
    "FD_WECHAT_API_BASE_URL": ("https://api.weixin.qq.com", "WeChat API base URL (a fake server in tests)."),
    "FD_WECHAT_IDLE_CLOSE_S": ("86400", "Seconds of customer silence after which a WeChat conversation is closed."),
}


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    var_dir: Path = Path("var")
    database_url: str = ""
    database_schema: str = "public"
    redis_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_s: float = 10.0
    actions_token: str = ""
    chat_allowed_origins: str = "*"
    max_message_chars: int = 2000
    max_body_bytes: int = 65536
    rasa_tracker_url: str = ""
    log_level: str = "INFO"
    log_format: str = ""
    metrics_token: str = ""
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    wechat: WeChatSettings | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'frontdoor.db'}"

    @property
    def effective_rasa_tracker_url(self) -> str:
        return self.rasa_tracker_url or f"sqlite:///{self.var_dir / 'rasa-tracker.db'}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str) -> str:
            return env.get(name, ENVIRONMENT[name][0])

        return cls(
            host=get("FD_HOST"),
            port=int(get("FD_PORT")),
            public_url=get("FD_PUBLIC_URL"),
            var_dir=Path(get("FD_VAR_DIR")),
            # The conventional DATABASE_URL / REDIS_URL of hosting platforms work too.
            database_url=get("FD_DATABASE_URL") or env.get("DATABASE_URL", ""),
            database_schema=get("FD_DATABASE_SCHEMA"),
            redis_url=get("FD_REDIS_URL") or env.get("REDIS_URL", ""),
            rasa_url=get("FD_RASA_URL").rstrip("/"),
            rasa_timeout_s=float(get("FD_RASA_TIMEOUT_S")),
            actions_token=get("FD_ACTIONS_TOKEN"),
            chat_allowed_origins=get("FD_CHAT_ALLOWED_ORIGINS"),
            max_message_chars=int(get("FD_MAX_MESSAGE_CHARS")),
            max_body_bytes=int(get("FD_MAX_BODY_BYTES")),
            rasa_tracker_url=get("FD_RASA_TRACKER_URL"),
            log_level=get("FD_LOG_LEVEL"),
            log_format=get("FD_LOG_FORMAT"),
            metrics_token=get("FD_METRICS_TOKEN"),
            metrics_host=get("FD_METRICS_HOST"),
            metrics_port=int(get("FD_METRICS_PORT")),
            wechat=WeChatSettings(
                token=get("FD_WECHAT_TOKEN"),
                app_id=get("FD_WECHAT_APP_ID"),
                app_secret=get("FD_WECHAT_APP_SECRET"),
                encoding_aes_key=get("FD_WECHAT_ENCODING_AES_KEY"),
                encoding_mode=EncodingMode(get("FD_WECHAT_ENCODING_MODE")),
                api_base_url=get("FD_WECHAT_API_BASE_URL"),
                idle_close_s=float(get("FD_WECHAT_IDLE_CLOSE_S")),
            )
            if get("FD_WECHAT_TOKEN")
            else None,
            # A server builds its FAQ index at start, so the first question never waits for the encoders; Settings
            # built directly (tests) leave it lazy.
            extra={"FD_KB_PRELOAD": "1"}
            | {k: v for k, v in env.items() if k.startswith("FD_") and k not in ENVIRONMENT},
        )
