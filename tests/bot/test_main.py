"""``python -m bot``: one clear line and exit code 2 for bad settings; db and invite commands."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import discord
import pytest

from bot import __main__ as cli
from bot.app import MarketBot
from bot.db import migration_files

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("DISCORD_TOKEN", "DATABASE_URL", "DEV_GUILD_ID", "SCHEDULER_TICK", "CURRENCY", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    return tmp_path


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The last line on stderr (log lines may come before it), with no traceback."""
    err = capsys.readouterr().err
    assert err.endswith("\n") and "Traceback" not in err, err
    return err.splitlines()[-1] + "\n"


def test_run_without_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "DISCORD_TOKEN is missing" in one_line_error(capsys)


def test_a_bad_setting(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("SCHEDULER_TICK", "soon")
    assert cli.main(["check"]) == 2
    assert "SCHEDULER_TICK" in one_line_error(capsys)


def test_check(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK") and TOKEN not in out


def test_a_rejected_token(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)

    async def start(self: MarketBot, token: str, *, reconnect: bool = True) -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(MarketBot, "start", start)
    monkeypatch.setattr(cli, "setup_logging", lambda **kwargs: None)  # keep pytest's handlers
    assert cli.main(["run"]) == 2
    assert one_line_error(capsys) == "error: DISCORD_TOKEN was rejected by Discord: Improper token has been passed.\n"


def test_discord_unreachable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """No network: one line and exit code 1 (a service manager may retry), not a traceback."""
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)

    async def start(self: MarketBot, token: str, *, reconnect: bool = True) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(MarketBot, "start", start)
    monkeypatch.setattr(cli, "setup_logging", lambda **kwargs: None)
    assert cli.main(["run"]) == 1
    assert one_line_error(capsys) == (
        "error: cannot reach Discord (OSError: Network is unreachable); check the network\n"
    )


def test_db_upgrade_and_current(capsys: pytest.CaptureFixture[str], environment: Path) -> None:
    latest = migration_files()[-1][0]
    assert cli.main(["db", "current"]) == 2  # never creates the database
    assert one_line_error(capsys) == f"error: no database at {environment / 'bot.db'}\n"
    assert not (environment / "bot.db").exists()
    assert cli.main(["db", "upgrade"]) == 0
    assert f"version {latest} (latest {latest})" in capsys.readouterr().out
    assert cli.main(["db", "current"]) == 0
    assert f"version {latest} (latest {latest})" in capsys.readouterr().out


def test_invite(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["invite"]) == 2
    assert "DISCORD_TOKEN is missing" in one_line_error(capsys)
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    assert cli.main(["invite"]) == 0
    assert capsys.readouterr().out.startswith("https://discord.com/oauth2/authorize?client_id=123456789012345678&")


# The invite asks for exactly these (README, "Setting up in Discord"), each for one feature:
INVITE_PERMISSIONS = {
    "view_channel",  # see the jobs, mod and contracts channels
    "send_messages",  # job embeds in a text jobs channel, case cards and notes in the mod channel, forum posts
    "embed_links",  # job posts, case cards and the contract terms card are embeds
    "attach_files",  # delivered files attached to the delivery message in the contract thread
    "read_message_history",  # fetching a sent message again to grey out its buttons (bot/notifications/dispatcher.py)
    "create_private_threads",  # the private contract thread (bot/notifications/threads.py)
    "send_messages_in_threads",  # messages in contract threads; adding the client and worker to them
    "manage_threads",  # locking/archiving a filled forum job post, reopening it; adding members (not invitable)
    "pin_messages",  # pinning the terms card (discord.py 2.7.1 Message.pin needs Pin Messages)
    "manage_channels",  # creating a missing category tag on a forum jobs channel (bot/ui/job_board.py)
}


def test_the_invite_asks_for_exactly_what_the_bot_uses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    assert cli.main(["invite"]) == 0
    query = parse_qs(urlparse(capsys.readouterr().out.strip()).query)
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == discord.Permissions(**dict.fromkeys(INVITE_PERMISSIONS, True))
    # not used by any call: pins need Pin Messages now, forum posts need only Send Messages
    assert not granted.manage_messages
    assert not granted.create_public_threads
    assert not granted.administrator
