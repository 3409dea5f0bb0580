"""``python -m bot check``: OK only when the bot could really start; every problem listed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.ops.check import token_problem
from bot.ops.database import creatable_folder_problem, latest_version
from tests.ops.conftest import TOKEN, Cli, Paths


def test_ok_without_creating_anything(cli: Cli, paths: Paths) -> None:
    result = cli("check")
    assert result.code == 0, result.err
    assert result.out.startswith("OK: database ")
    assert TOKEN not in result.out
    assert not paths.database.exists() and not paths.files.exists()


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (TOKEN, None),
        ("abc.def.ghi", "its first part is not an id"),
        ("MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE", "three dot-separated parts"),
        ('"MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.xxxx"', "three dot-separated parts"),
        ("Bot MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.xxxx", "three dot-separated parts"),
        ("MTIzNDU2Nzg5MDEyMzQ1Njc4..xxxx", "three dot-separated parts"),
        ("a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4", "three dot-separated parts"),  # a client secret
    ],
)
def test_token_shape(token: str, why: str | None) -> None:
    problem = token_problem(token)
    if why is None:
        assert problem is None
    else:
        assert problem is not None and why in problem and token not in problem


def test_every_problem_is_listed_one_line_each(
    cli: Cli, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = paths.root / "blocker"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{blocker / 'bot.db'}")
    monkeypatch.setenv("FILES_DIR", str(blocker))
    monkeypatch.setenv("SCHEDULER_TICK", "soon")
    monkeypatch.setenv("FEE_PERCENT", "150")
    result = cli("check")
    assert result.code == 2
    lines = result.error_lines
    assert len(lines) == 5, lines
    assert all(line.startswith("error: ") for line in lines)
    joined = "\n".join(lines)
    for expected in ("SCHEDULER_TICK='soon'", "FEE_PERCENT='150'", "DISCORD_TOKEN does not look like a bot token",
                     f"{blocker} is a file, not a folder", f"FILES_DIR {blocker} is a file"):
        assert expected in joined
    assert result.out == ""


def test_a_missing_token_and_a_bad_path_together(cli: Cli, paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN")
    paths.database.parent.mkdir()
    paths.files.write_text("not a folder")
    lines = cli("check").error_lines
    assert len(lines) == 2
    assert "DISCORD_TOKEN is missing" in lines[0]
    assert f"FILES_DIR {paths.files} is a file, not a folder" in lines[1]


def test_a_database_from_a_newer_bot(cli: Cli, paths: Paths) -> None:
    paths.database.parent.mkdir()
    with sqlite3.connect(paths.database) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    result = cli("check")
    assert result.code == 2
    assert result.error_lines == [
        f"error: database {paths.database} is at version 999, this code knows up to "
        f"{latest_version()}: upgrade the bot"
    ]


def test_a_database_path_that_is_a_folder(cli: Cli, paths: Paths) -> None:
    paths.database.mkdir(parents=True)
    assert cli("check").error_lines == [f"error: database {paths.database} is a folder, not a file"]


def test_a_file_that_is_not_a_database(cli: Cli, paths: Paths) -> None:
    paths.database.parent.mkdir()
    paths.database.write_bytes(b"\x93\x11random bytes, not SQLite" * 100)
    assert cli("check").error_lines == [f"error: {paths.database} is not an SQLite database"]


def test_an_upgraded_database_is_ok(cli: Cli, paths: Paths) -> None:
    assert cli("db", "upgrade").code == 0
    assert cli("check").code == 0


def test_the_folder_check_walks_up_to_an_existing_folder(tmp_path: Path) -> None:
    assert creatable_folder_problem(tmp_path / "a" / "b" / "c", "X") is None
    (tmp_path / "f").write_text("")
    assert creatable_folder_problem(tmp_path / "f" / "b", "X") == (
        f"X {tmp_path / 'f' / 'b'} cannot be created: {tmp_path / 'f'} is a file, not a folder"
    )
