"""Load settings: config/default.toml, then a local file, then TWINBOT_* environment variables."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.network import Chapter, Network

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_FILE = CONFIG_DIR / "default.toml"
LOCAL_FILE = CONFIG_DIR / "local.toml"

_LANG_PATTERN = r"^[a-z]{2,3}$"


class ConfigError(Exception):
    """A malformed configuration: the message names the file or key and the reason."""


class ChapterSettings(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    name: str = Field(min_length=1, max_length=80)
    time_zone: str
    languages: list[str] = Field(min_length=1)
    partners: list[str] = Field(default_factory=list)
    telegram_chat_id: int | None = None  # the chapter's Telegram group, for announcements
    discord_channel_id: int | None = None  # the chapter's Discord channel, for announcements
    discord_coordinator_role: str | None = None  # members with this role on the network's server coordinate

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Paris)") from exc
        return value

    @field_validator("languages")
    @classmethod
    def _lang_codes(cls, value: list[str]) -> list[str]:
        return _check_codes(value)


class NetworkSettings(BaseModel):
    name: str = Field(default="twinbot network", min_length=1)
    default_language: str = Field(default="en", pattern=_LANG_PATTERN)
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    max_text_length: int = Field(default=1000, gt=0, le=4000)
    link_code_minutes: int = Field(default=10, gt=0, le=1440)
    #: Survey results per chapter are shown only for chapters with at least this many answers.
    survey_min_group: int = Field(default=5, ge=1, le=1000)
    #: Meetup reminders to those going, this many hours before the start.
    meetup_reminder_hours: list[float] = Field(default_factory=lambda: [24.0, 1.0], max_length=5)
    meetup_remind_maybe: bool = False
    #: Abuse limits: events per user within a window, and announcements per coordinator a day.
    flood_limit: int = Field(default=30, ge=0, le=10_000)
    flood_seconds: float = Field(default=30.0, gt=0, le=3600)
    announcements_per_day: int = Field(default=20, ge=1, le=10_000)
    #: Mentor matching: a mentor must live in a partner city of the mentee's chapter.
    mentor_partner_city_required: bool = False
    #: Erase members not seen (no message, no button, no profile change) for this many
    #: months, as /forget would; 0 keeps everyone until they ask.
    retention_months: int = Field(default=0, ge=0, le=1200)
    #: The follow-up survey sent to those who checked in (a survey file; relative paths are
    #: in config/), or "" for none.
    meetup_followup: str = "surveys/meetup_followup.toml"
    dm_opt_in_platforms: list[str] = Field(default_factory=lambda: ["discord"])

    @field_validator("languages")
    @classmethod
    def _lang_codes(cls, value: list[str]) -> list[str]:
        return _check_codes(value)

    @field_validator("meetup_reminder_hours")
    @classmethod
    def _hours(cls, value: list[float]) -> list[float]:
        if any(not 0 < hours <= 24 * 30 for hours in value):
            raise ValueError("each reminder must be between 0 and 720 hours before the start")
        return value

    @model_validator(mode="after")
    def _default_is_supported(self) -> NetworkSettings:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not in languages {self.languages}")
        return self


class PoolSettings(BaseModel):
    """The connection pool of each process (PostgreSQL; SQLite needs none). Every process
    holds up to ``size + max_overflow`` connections: keep the sum over all processes under
    the server's ``max_connections``."""

    size: int = Field(default=5, ge=1, le=200)
    max_overflow: int = Field(default=10, ge=0, le=500)
    timeout: float = Field(default=30.0, gt=0, le=600)  # seconds to wait for a free connection
    recycle: int = Field(default=1800, ge=-1)  # seconds before a connection is replaced; -1: never
    pre_ping: bool = True  # test a connection before use (survives a database restart)


def _check_codes(value: list[str]) -> list[str]:
    import re

    for code in value:
        if not re.match(_LANG_PATTERN, code):
            raise ValueError(f"{code!r} is not a language code like 'fr'")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TWINBOT_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = "sqlite:///./data/twinbot.db"
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    seed_demo: bool = True
    telegram_token: SecretStr | None = None
    telegram_base_url: str = Field(default="https://api.telegram.org/bot", pattern=r"^https?://")
    telegram_webhook_url: str | None = Field(default=None, pattern=r"^https://")
    telegram_webhook_listen: str = Field(default="127.0.0.1:8443", pattern=r"^[^:]+:\d{1,5}$")
    #: Telegram allows 1-256 of A-Z a-z 0-9 _ -; we ask for 16 at least (it is a password).
    telegram_webhook_secret: SecretStr | None = None
    discord_token: SecretStr | None = None
    discord_messages_per_second: int = Field(default=5, gt=0, le=50)  # relay pace; a new DM costs 2 requests
    #: The relay's overall pace on Telegram (its limit is 30/s for a bot): divide it among relay processes.
    telegram_messages_per_second: int = Field(default=30, gt=0, le=30)
    discord_guild_id: int | None = None  # the network's server: commands sync there; roles map there only
    #: Discord sharding (discord.py's AutoShardedBot): on with any of these. Without a count,
    #: Discord recommends one; with ``discord_shard_ids`` this process runs only those shards.
    discord_sharded: bool = False
    discord_shard_count: int | None = Field(default=None, ge=1, le=10_000)
    discord_shard_ids: list[int] | None = None
    database_pool: PoolSettings = Field(default_factory=PoolSettings)
    #: ``twinbot run`` upgrades the schema first when it runs every role (``--role all``);
    #: processes of one role never do (run ``twinbot db upgrade`` once before starting them).
    migrate_on_start: bool = True
    #: "host:port" for the HTTP endpoints /healthz and /metrics (Prometheus); none by default.
    health_listen: str | None = Field(default=None, pattern=r"^[^:]+:\d{1,5}$")
    log_format: Literal["text", "json"] = "text"
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    chapters: list[ChapterSettings] = Field(min_length=1)

    @model_validator(mode="after")
    def _shards(self) -> Settings:
        ids = self.discord_shard_ids
        if ids is not None:
            if self.discord_shard_count is None:
                raise ValueError("discord_shard_ids needs discord_shard_count (the total over all processes)")
            if not ids or any(not 0 <= i < self.discord_shard_count for i in ids) or len(set(ids)) != len(ids):
                raise ValueError(f"discord_shard_ids must be distinct numbers from 0 to {self.discord_shard_count - 1}")
        return self

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()):
            raise ValueError("must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("telegram_webhook_listen", "health_listen")
    @classmethod
    def _port(cls, value: str | None) -> str | None:
        if value is not None and not 0 < int(value.rpartition(":")[2]) < 65536:
            raise ValueError(f"{value!r}: the port must be between 1 and 65535")
        return value

    @property
    def discord_sharding(self) -> bool:
        return self.discord_sharded or self.discord_shard_count is not None or self.discord_shard_ids is not None

    @model_validator(mode="after")
    def _consistent_chapters(self) -> Settings:
        codes = [c.code for c in self.chapters]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"chapter codes must be unique, repeated: {', '.join(duplicates)}")
        for chapter in self.chapters:
            for partner in chapter.partners:
                if partner not in codes:
                    raise ValueError(f"chapter {chapter.code!r} names unknown partner {partner!r}")
            foreign = [lang for lang in chapter.languages if lang not in self.network.languages]
            if foreign:
                raise ValueError(
                    f"chapter {chapter.code!r} uses languages {foreign} not in network.languages"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = [DEFAULT_FILE, _local_file()]
        toml = TomlConfigSettingsSource(settings_cls, toml_file=files, deep_merge=True)
        return (init_settings, env_settings, toml)

    def network_model(self) -> Network:
        """The core's view of the network described by these settings."""
        return Network(
            name=self.network.name,
            default_language=self.network.default_language,
            languages=tuple(self.network.languages),
            dm_opt_in=tuple(self.network.dm_opt_in_platforms),
            chapters=tuple(
                Chapter(
                    code=c.code,
                    name=c.name,
                    time_zone=c.time_zone,
                    languages=tuple(c.languages),
                    partners=tuple(c.partners),
                    group_chats=tuple(
                        (platform, str(chat_id))
                        for platform, chat_id in (("telegram", c.telegram_chat_id), ("discord", c.discord_channel_id))
                        if chat_id is not None
                    ),
                )
                for c in self.chapters
            ),
        )


def _local_file() -> Path:
    named = os.environ.get("TWINBOT_CONFIG")
    return Path(named) if named else LOCAL_FILE


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise ConfigError with one readable message."""
    named = os.environ.get("TWINBOT_CONFIG")
    if named and not Path(named).is_file():
        raise ConfigError(f"TWINBOT_CONFIG names {named}, which is not a file")
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file is not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message}")
    return "configuration error: " + "; ".join(problems)
