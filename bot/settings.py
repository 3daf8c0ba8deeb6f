"""The front door's settings: built once from the environment (or given by a test) and passed down.

Nothing else in the project reads `os.environ`. Every variable, its default and its meaning is listed in
`ENVIRONMENT` below, which README.md's configuration table mirrors (a test keeps them in step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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
    "FD_MAX_MESSAGE_CHARS": ("2000", "Longest customer message accepted."),
    "FD_MAX_BODY_BYTES": ("65536", "Largest request body accepted."),
    "FD_SECRET_KEY": ("", "Signs staff sessions; empty means a random key kept in FD_VAR_DIR/secret_key."),
    "FD_LOG_LEVEL": ("INFO", "Python log level."),
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
    max_message_chars: int = 2000
    max_body_bytes: int = 65536
    secret_key: str = ""
    log_level: str = "INFO"
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'frontdoor.db'}"

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
            database_url=get("FD_DATABASE_URL"),
            database_schema=get("FD_DATABASE_SCHEMA"),
            redis_url=get("FD_REDIS_URL"),
            rasa_url=get("FD_RASA_URL").rstrip("/"),
            rasa_timeout_s=float(get("FD_RASA_TIMEOUT_S")),
            max_message_chars=int(get("FD_MAX_MESSAGE_CHARS")),
            max_body_bytes=int(get("FD_MAX_BODY_BYTES")),
            secret_key=get("FD_SECRET_KEY"),
            log_level=get("FD_LOG_LEVEL"),
            extra={k: v for k, v in env.items() if k.startswith("FD_") and k not in ENVIRONMENT},
        )
