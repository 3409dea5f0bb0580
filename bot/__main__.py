"""``python -m bot [run | check | health | invite | db upgrade | db current | db backup [PATH] |
db restore PATH]`` (default: run).

A missing or invalid setting, a bad database path, or a token Discord rejects, ends with one
line on stderr per problem and exit code 2 (no traceback). SIGINT / SIGTERM close the bot
cleanly. The admin commands live in bot/ops/.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import discord

from bot.config import ConfigError, Settings
from bot.db import Database, DatabaseTooNewError
from bot.logs import setup_logging
from bot.models.durations import format_duration
from bot.ops import backup
from bot.ops import check as checks
from bot.ops.database import creatable_folder_problem, database_version, latest_version
from bot.ops.errors import OpsError
from bot.ops.health import health_path, read_health
from bot.ops.lock import RunLock, lock_path

log = logging.getLogger("bot")

EXIT_USAGE = 2

# Exactly what the bot's Discord calls need, and nothing else (README, "Setting up in
# Discord"; /setup checks the same per channel, bot/cogs/setup.py). Answers to commands and
# DMs need no permission.
PERMISSIONS = discord.Permissions(
    view_channel=True,  # see the jobs, mod and contracts channels
    send_messages=True,  # job embeds, case cards and notes; a forum post is a message too
    embed_links=True,  # job posts, case cards and the terms card are embeds
    attach_files=True,  # delivered files are attached in the contract thread
    read_message_history=True,  # re-read a sent message to grey out its buttons
    create_private_threads=True,  # one private thread per contract
    send_messages_in_threads=True,  # post in contract threads and add the parties to them
    manage_threads=True,  # lock/archive a filled forum job post (and reopen it); add members to a non-invitable thread
    pin_messages=True,  # pin the terms card (discord.py 2.7 Message.pin; Manage Messages no longer pins)
    manage_channels=True,  # add a missing category tag to a forum jobs channel
)


class Fatal(Exception):
    """Ends the program with its message on one line and exit code 2 (or one line per
    problem, ``problems``)."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems) or [message]


def application_id_from_token(token: str) -> int:
    """A bot token's first segment is the base64 of the application (bot user) id."""
    application_id = checks.application_id(token)
    if application_id is None:
        raise Fatal("DISCORD_TOKEN does not look like a bot token (its first part is not an id)")
    return application_id


def invite_url(application_id: int) -> str:
    query = urlencode(
        {"client_id": application_id, "scope": "bot applications.commands", "permissions": PERMISSIONS.value}
    )
    return f"https://discord.com/oauth2/authorize?{query}"


def _settings(*, require_token: bool) -> Settings:
    try:
        return Settings.from_env(require_token=require_token)
    except ConfigError as error:
        raise Fatal(str(error), error.problems) from None


def _db_current(settings: Settings) -> int:
    """Read-only: never creates the database."""
    try:
        return database_version(settings.database_path)
    except OpsError as error:
        raise Fatal(str(error)) from None


async def _db_upgrade(settings: Settings) -> int:
    path = settings.database_path
    if path.exists():
        _db_current(settings)  # a folder, an unreadable or non-SQLite file: one line
    else:
        problem = creatable_folder_problem(path.parent, "the database's folder")
        if problem:
            raise Fatal(problem)
    db = Database(path)
    try:
        await db.connect()
        try:
            return await db.migrate()
        finally:
            await db.close()
    except DatabaseTooNewError as error:
        raise Fatal(str(error)) from None
    except (sqlite3.Error, OSError) as error:
        raise Fatal(f"database {path}: {error}") from None


def _db_command(args: argparse.Namespace, settings: Settings) -> None:
    if args.db_command in ("upgrade", "current"):
        version = asyncio.run(_db_upgrade(settings)) if args.db_command == "upgrade" else _db_current(settings)
        print(f"database {settings.database_path}: version {version} (latest {latest_version()})")
        return
    try:
        if args.db_command == "backup":
            done = asyncio.run(backup.backup(settings, args.path or backup.default_backup_dir()))
            print(f"backed up {settings.database_path} (version {done.version}) to {done.database}, "
                  f"{_files(done)} from {settings.files_dir} to {done.files_dir}")
        else:
            done = backup.restore(settings, args.path)
            aside = f"; the previous ones are in {done.moved_aside}" if done.moved_aside else ""
            print(f"restored {done.database} (version {done.version}) from {args.path}, "
                  f"{_files(done)} to {done.files_dir}{aside}")
    except OpsError as error:
        raise Fatal(str(error)) from None


def _files(done: backup.Copied) -> str:
    return f"{done.files} file{'' if done.files == 1 else 's'} ({done.bytes} bytes)"


def _check() -> Settings:
    """Every problem that would stop the bot, all of them (``Fatal.problems``)."""
    try:
        settings = Settings.from_env(require_token=True)
        found: list[str] = []
    except ConfigError as error:
        if error.partial is None:
            raise Fatal(str(error), error.problems) from None
        settings, found = error.partial, list(error.problems)
    bad_url = any(problem.startswith("DATABASE_URL") for problem in found)
    token_missing = any(problem.startswith("DISCORD_TOKEN") for problem in found)
    more = checks.problems(settings, check_database=not bad_url)
    if token_missing:
        more = [problem for problem in more if not problem.startswith("DISCORD_TOKEN")]
    found.extend(more)
    if found:
        raise Fatal(found[0], found)
    return settings


async def _run(settings: Settings) -> None:
    settings.database_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with RunLock(lock_path(settings.database_path)):
            await _run_locked(settings)
    except OpsError as error:
        raise Fatal(str(error)) from None


async def _run_locked(settings: Settings) -> None:
    from bot.app import create_bot

    bot = create_bot(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with bot:
        runner = asyncio.create_task(bot.start(settings.discord_token), name="discord")
        stopper = asyncio.create_task(stop.wait(), name="signals")
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            log.info("signal received: shutting down")
            await bot.close()
        else:
            stopper.cancel()
        try:
            await runner
        except discord.LoginFailure as error:
            raise Fatal(f"DISCORD_TOKEN was rejected by Discord: {error}") from None
        except discord.PrivilegedIntentsRequired as error:
            raise Fatal(f"Discord refused the gateway intents: {error}") from None
        except DatabaseTooNewError as error:
            raise Fatal(str(error)) from None
        except sqlite3.Error as error:
            raise Fatal(f"database {settings.database_path}: {error}") from None
        except (aiohttp.ClientError, OSError) as error:
            raise Unreachable(f"cannot reach Discord ({type(error).__name__}: {error}); check the network") from None


class Unreachable(Exception):
    """Discord could not be reached: worth trying again later (exit code 1, not 2)."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="crowdwork-bot")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (default)")
    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations and print the version")
    db_commands.add_parser("current", help="print the database's schema version")
    backup = db_commands.add_parser("backup", help="copy the database (online) and the files folder")
    backup.add_argument("path", nargs="?", type=Path, help="the backup folder (default backups/<UTC time>/)")
    restore = db_commands.add_parser("restore", help="put a backup in place (the bot must be stopped)")
    restore.add_argument("path", type=Path, help="a folder written by db backup")
    commands.add_parser("check", help="validate the settings and print OK")
    commands.add_parser("invite", help="print the URL that adds the bot to a server")
    commands.add_parser("health", help="exit 0 if a running bot is connected and sweeping")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = args.command or "run"
    try:
        if command == "db":
            _db_command(args, _settings(require_token=False))
        elif command == "check":
            settings = _check()
            print(
                f"OK: database {settings.database_path}, files {settings.files_dir}, currency "
                f"{settings.currency}, tick {format_duration(settings.scheduler_tick)}, "
                f"commands synced {'to guild ' + str(settings.dev_guild_id) if settings.dev_guild_id else 'globally'}"
            )
        elif command == "health":
            settings = _settings(require_token=False)
            health = read_health(health_path(settings.database_path), tick=settings.scheduler_tick,
                                 now=datetime.now(UTC))
            print(health.line)
            return 0 if health.healthy else 1
        elif command == "invite":
            settings = _settings(require_token=False)
            if not settings.discord_token:
                raise Fatal("DISCORD_TOKEN is missing: the invite URL needs the bot's application id from it")
            print(invite_url(application_id_from_token(settings.discord_token)))
        else:
            settings = _check()
            setup_logging(level=settings.log_level, discord_level=settings.discord_log_level,
                          log_format=settings.log_format)
            asyncio.run(_run(settings))
    except Fatal as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except Unreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
