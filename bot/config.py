"""Settings from the environment and ``.env``, validated at start."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from dotenv import dotenv_values

from bot.models.durations import DurationError, parse_duration
from bot.models.money import CURRENCIES
from bot.models.policies import NON_ZERO, POLICY_SPECS, PolicyKind, PolicySpec, PolicyValueError, normalize


class ConfigError(Exception):
    """A missing or malformed setting; the message is one line naming the variable.

    ``problems`` lists every bad setting found (the message is the first), one line each.
    """

    def __init__(self, message: str, problems: list[str] | None = None, partial: Settings | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]
        # the settings with each bad value replaced by its default, so that ``check`` can
        # go on and test the paths
        self.partial = partial


LOG_FORMATS = ("text", "json")
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class Settings:
    # repr=False: a Settings in a log line or a traceback's locals never shows the token
    # (give every future secret the same treatment)
    discord_token: str = field(default="", repr=False)
    database_path: Path = Path("data/bot.db")
    files_dir: Path = Path("data/files")
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    discord_log_level: str = "INFO"
    log_format: str = "text"
    scheduler_tick: timedelta = timedelta(seconds=60)
    currency: str = "JPY"
    max_file_bytes: int = 25 * 1024 * 1024
    # keep the contract threads' messages as evidence (needs the Message Content intent)
    record_thread_messages: bool = False
    # Prometheus metrics (bot/metrics.py): off unless a port is set
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # Stripe Connect (bot/services/payments.py): secrets from the environment only, never
    # stored or logged; api_base is for tests (a local fake of Stripe's API)
    stripe_secret_key: str = field(default="", repr=False)
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str | None = None
    # the bot's HTTP server (bot/web/server.py): off unless a port is set
    web_port: int | None = None
    web_host: str = "127.0.0.1"
    web_base_url: str = ""
    policy_defaults: Mapping[str, str] = field(
        default_factory=lambda: {name: spec.default for name, spec in POLICY_SPECS.items()}
    )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        env_file: Path | None = Path(".env"),
        require_token: bool = True,
    ) -> Settings:
        """Read ``.env`` (if present) under the process environment, which wins."""
        merged: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        merged.update(os.environ if environ is None else environ)
        return cls._parse(merged, require_token=require_token)

    @classmethod
    def _parse(cls, env: Mapping[str, str], *, require_token: bool) -> Settings:
        """Every bad variable is collected (``python -m bot check`` lists them all); the
        :class:`ConfigError` names the first and carries the rest in ``problems``."""
        problems: list[str] = []

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        def level(name: str, default: str) -> str:
            value = (get(name) or default).upper()
            if value not in logging.getLevelNamesMapping():
                problems.append(f"{name}={value!r} is not one of DEBUG, INFO, WARNING, ERROR")
                return default
            return value

        token = get("DISCORD_TOKEN") or ""
        if require_token and not token:
            problems.append("DISCORD_TOKEN is missing: set it to your bot's token (Developer Portal > Bot)")
        database_path = Path("data/bot.db")
        try:
            database_path = parse_database_url(get("DATABASE_URL") or "sqlite:///data/bot.db")
        except ConfigError as error:
            problems.append(str(error))
        dev_guild = get("DEV_GUILD_ID")
        if dev_guild is not None and not (dev_guild.isascii() and dev_guild.isdigit()):
            problems.append(f"DEV_GUILD_ID={dev_guild!r} is not a guild id (a number)")
            dev_guild = None
        log_level = level("LOG_LEVEL", "INFO")
        discord_log_level = level("DISCORD_LOG_LEVEL", "INFO")
        log_format = (get("LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            problems.append(f"LOG_FORMAT={log_format!r} is not one of {', '.join(LOG_FORMATS)}")
            log_format = "text"
        tick_text = get("SCHEDULER_TICK") or "60s"
        bad_tick = f"SCHEDULER_TICK={tick_text!r}: expected a duration of at least 1s such as 30s, 60s or 5m"
        tick = timedelta(seconds=60)
        try:
            tick = parse_duration(tick_text)
        except DurationError:
            problems.append(bad_tick)
        else:
            if tick < timedelta(seconds=1):
                problems.append(bad_tick)
        currency = (get("CURRENCY") or "JPY").upper()
        if currency not in CURRENCIES:
            problems.append(f"CURRENCY={currency!r} is not one of {', '.join(CURRENCIES)}")
        max_mb = get("MAX_FILE_SIZE_MB") or "25"
        if not (max_mb.isascii() and max_mb.isdigit()) or int(max_mb) < 1:
            problems.append(f"MAX_FILE_SIZE_MB={max_mb!r} is not a whole number of megabytes")
            max_mb = "25"
        record_text = (get("RECORD_THREAD_MESSAGES") or "false").lower()
        if record_text not in TRUE_WORDS | FALSE_WORDS:
            problems.append(f"RECORD_THREAD_MESSAGES={record_text!r} is not true or false")
            record_text = "false"
        metrics_port = get("METRICS_PORT")
        if metrics_port is not None and not (
            metrics_port.isascii() and metrics_port.isdigit() and 1 <= int(metrics_port) <= 65535
        ):
            problems.append(f"METRICS_PORT={metrics_port!r} is not a port number (1-65535); leave it empty for none")
            metrics_port = None
        web_port = get("WEB_PORT")
        if web_port is not None and not (web_port.isascii() and web_port.isdigit() and 1 <= int(web_port) <= 65535):
            problems.append(f"WEB_PORT={web_port!r} is not a port number (1-65535); leave it empty for none")
            web_port = None
        defaults: dict[str, str] = {}
        for name, spec in POLICY_SPECS.items():
            raw = get(spec.env_name) or spec.default
            try:
                defaults[name] = normalize(name, raw)
            except PolicyValueError:
                problems.append(f"{spec.env_name}={raw!r}: {expected(spec)}")
        settings = cls(
            discord_token=token,
            database_path=database_path,
            files_dir=Path(get("FILES_DIR") or "data/files"),
            dev_guild_id=int(dev_guild) if dev_guild else None,
            log_level=log_level,
            discord_log_level=discord_log_level,
            log_format=log_format,
            scheduler_tick=tick,
            currency=currency,
            max_file_bytes=int(max_mb) * 1024 * 1024,
            record_thread_messages=record_text in TRUE_WORDS,
            metrics_port=int(metrics_port) if metrics_port else None,
            metrics_host=get("METRICS_HOST") or "127.0.0.1",
            stripe_secret_key=get("STRIPE_SECRET_KEY") or "",
            stripe_webhook_secret=get("STRIPE_WEBHOOK_SECRET") or "",
            web_port=int(web_port) if web_port else None,
            web_host=get("WEB_HOST") or "127.0.0.1",
            web_base_url=get("WEB_BASE_URL") or "",
            policy_defaults=defaults,
        )
        if problems:
            raise ConfigError(problems[0], problems, settings)
        return settings


DURATION_EXAMPLES = "90s, 15m, 2h, 3d or 1d12h"


def expected(spec: PolicySpec) -> str:
    """What a policy's variable must hold, for the one-line start-up error."""
    if spec.kind is PolicyKind.DURATION:
        above = " above zero" if spec.name in NON_ZERO else ""
        return f"expected a duration{above} such as {DURATION_EXAMPLES}"
    what = "percent" if spec.kind is PolicyKind.PERCENT else "number"
    if spec.maximum is None:
        return f"expected a whole {what} of at least {spec.minimum}"
    return f"expected a whole {what} from {spec.minimum} to {spec.maximum}"


def parse_database_url(url: str) -> Path:
    """``sqlite:///data/bot.db`` (relative) or ``sqlite:////var/lib/bot.db`` (absolute)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError(f"DATABASE_URL={url!r} is not a SQLite URL like sqlite:///data/bot.db")
    return Path(url[len(prefix) :])
