"""Fixtures for the admin commands: a clean environment in a temporary folder.

``cli(...)`` runs ``python -m bot`` in-process (``bot.__main__.main``), ``subprocess_cli``
in a child process with a timeout, for what only a real process shows (a thread left
running keeps it alive; a traceback printed by the interpreter).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import __main__ as cli_module

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
VARIABLES = ("DISCORD_TOKEN", "DATABASE_URL", "FILES_DIR", "DEV_GUILD_ID", "SCHEDULER_TICK", "CURRENCY",
             "LOG_LEVEL", "LOG_FORMAT", "DISCORD_LOG_LEVEL", "FEE_PERCENT", "MAX_FILE_SIZE_MB")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        """stderr's lines, checked to carry no traceback."""
        assert "Traceback" not in self.err, self.err
        return self.err.splitlines()


@dataclass
class Paths:
    root: Path
    database: Path
    files: Path


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Paths:
    monkeypatch.chdir(tmp_path)  # no stray .env; backups/ lands here
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{data / 'bot.db'}")
    monkeypatch.setenv("FILES_DIR", str(data / "files"))
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    return Paths(tmp_path, data / "bot.db", data / "files")


Cli = Callable[..., Result]


@pytest.fixture
def cli(paths: Paths, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*argv: str) -> Result:
        code = cli_module.main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def subprocess_cli(*argv: str, cwd: Path, timeout: float = 30) -> Result:
    """``python -m bot ...`` in a child process, with this process's environment."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", *argv], cwd=cwd, env=dict(os.environ), capture_output=True, text=True,
        timeout=timeout, check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)
