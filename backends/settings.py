"""The base of every package's settings class: typed fields read from environment variables with one prefix.

Owns `EnvSettings` (a pydantic-settings `BaseSettings`), the translation of validation errors into messages that name
the variable and what it accepts, and the Markdown table README.md's configuration section is generated from.

Building a settings object by keyword arguments (`KBConfig(seed_demo=False)`, as tests do) never reads the
environment; only `from_env(mapping)` does, and only from the mapping it is handed, so the process entry point
decides where configuration comes from and logic never calls `os.environ`. Must never hold a package's own fields.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import AliasChoices, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from backends.exceptions import InvalidSettings

# Shown instead of a field's default in the generated tables (e.g. "(empty: in-process)").
DOC_DEFAULT = "doc_default"


# Values of these are never repeated in an error message.
_SECRET_WORDS = ("token", "secret", "password", "key", "url")


def _config(env_prefix: str) -> SettingsConfigDict:
    # No JSON decoding: every variable is plain text that the field's validators read (`a,b`, `4/24`).
    return SettingsConfigDict(
        env_prefix=env_prefix,
        frozen=True,
        env_ignore_empty=True,
        populate_by_name=True,
        extra="forbid",
        enable_decoding=False,
    )


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class EnvSettings(BaseSettings):
    """A frozen settings object; subclasses set `model_config = EnvSettings.config("FD_KB_")` and their fields.

    A field whose type is another `EnvSettings` is a section with its own prefix (the front door's `Settings.kb`);
    `from_env` builds it from the same mapping. An empty variable counts as unset.
    """

    model_config = _config("")

    # The table's heading in README.md (None: a section that is not documented on its own).
    doc_title: ClassVar[str | None] = None

    @staticmethod
    def config(env_prefix: str) -> SettingsConfigDict:
        return _config(env_prefix)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keyword arguments only: the environment arrives through from_env, never behind a caller's back.
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Build from `env` (the process environment, given by the entry point); every bad variable is reported
        at once as `InvalidSettings`, each line naming the variable and what it accepts."""
        sections = dict(cls.sections())
        # A section is read from its own prefix only (a stray FD_KB variable must not stand in for all of FD_KB_*).
        values: dict[str, Any] = {k: v for k, v in _MappingEnvSource(cls, env)().items() if k not in sections}
        problems: list[str] = []
        for name, section in sections.items():
            try:
                values[name] = section.from_env(env)
            except InvalidSettings as exc:
                problems.extend(exc.problems)
        try:
            settings = cls(**values)
        except ValidationError as exc:
            problems.extend(cls._describe(error) for error in exc.errors())
        if problems:
            raise InvalidSettings(problems)
        return settings

    @classmethod
    def sections(cls) -> Iterator[tuple[str, type[EnvSettings]]]:
        for name, info in cls.model_fields.items():
            if isinstance(info.annotation, type) and issubclass(info.annotation, EnvSettings):
                yield name, info.annotation

    @classmethod
    def env_names(cls, name: str) -> tuple[str, ...]:
        """The variables a field is read from, first match wins."""
        alias = cls.model_fields[name].validation_alias
        if isinstance(alias, AliasChoices):
            return tuple(str(choice) for choice in alias.choices)
        if isinstance(alias, str):
            return (alias,)
        return (f"{cls.model_config.get('env_prefix', '')}{name}".upper(),)

    @classmethod
    def _describe(cls, error: ErrorDetails) -> str:
        loc = error["loc"]
        field = next((n for n in cls.model_fields if loc and (loc[0] == n or loc[0] in cls._aliases(n))), None)
        message = error["msg"].removeprefix("Value error, ")
        if field is None:
            return message  # a check over several variables names them itself
        variable = cls.env_names(field)[0]
        got = "" if any(word in field for word in _SECRET_WORDS) else f" (got {error['input']!r})"
        ctx = error.get("ctx") or {}
        if error["type"] in ("enum", "literal_error") and "expected" in ctx:
            allowed = re.sub(r"'([^']*)'", r"\1", str(ctx["expected"])).replace(" or ", ", ")
            return f"{variable} must be one of {allowed}{got}"
        return f"{variable}: {message}{got}"

    @classmethod
    def _aliases(cls, name: str) -> tuple[str, ...]:
        alias = cls.model_fields[name].validation_alias
        return cls.env_names(name) if alias is not None else ()

    # ----- the generated documentation -----
    @classmethod
    def markdown_rows(cls) -> list[str]:
        rows = []
        for name, info in cls.model_fields.items():
            if name in dict(cls.sections()):
                continue
            variables = " or ".join(f"`{v}`" for v in cls.env_names(name))
            # A table cell ends at a bare "|", even inside backticks.
            cells = (variables, _shown_default(info), info.description or "")
            rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        return rows

    @classmethod
    def markdown_table(cls) -> str:
        return "\n".join(["| variable | default | meaning |", "|---|---|---|", *cls.markdown_rows()])


def _shown_default(info: FieldInfo) -> str:
    extra = info.json_schema_extra
    if isinstance(extra, dict) and DOC_DEFAULT in extra:
        return str(extra[DOC_DEFAULT])
    default = info.get_default(call_default_factory=True)
    text = _env_text(default)
    return f"`{text}`" if text else "(empty)"


def _env_text(value: Any) -> str:
    """A value written the way the environment variable spells it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple | list | frozenset | set):
        return ",".join(_env_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Path):
        return str(value)
    return "" if value is None else str(value)


def comma_separated(value: Any) -> Any:
    """A before-validator: `"a, b,,c"` -> `("a", "b", "c")`; other values pass through."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value
