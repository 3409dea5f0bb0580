"""The Dockerfile and compose.yaml, checked without a container engine (none on CI).

scripts/docker-steps.sh runs the Dockerfile's pip steps and the image's commands in a
throwaway venv; it installs from the package index, so it is run by hand, not here.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: continuation lines joined, comments dropped."""
    joined: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1].rstrip() + " "
            continue
        joined.append(current + line)
        current = ""
    assert not current, "a continuation line ends the file"
    result = []
    for line in joined:
        instruction, _, args = line.partition(" ")
        result.append((instruction.upper(), args.strip()))
    return result


def command(args: str) -> list[str]:
    """An exec-form (JSON) or shell-form command as a list of words."""
    return json.loads(args) if args.startswith("[") else shlex.split(args)


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def test_base_image(steps: list[tuple[str, str]]) -> None:
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert [s for s in steps if s[0] == "FROM"] == [steps[0]]


def test_runs_as_a_non_root_user(steps: list[tuple[str, str]]) -> None:
    users = [(i, args) for i, (name, args) in enumerate(steps) if name == "USER"]
    assert users, "no USER: the bot would run as root"
    index, user = users[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert any(name == "RUN" and re.search(rf"\buseradd\b.*\b{user}\b", args) for name, args in steps[:index])
    later = [name for name, _ in steps[index:]]
    assert "RUN" not in later and "CMD" in later  # everything the container runs, runs as the user


def test_the_data_folder_is_a_volume_owned_by_the_user(steps: list[tuple[str, str]]) -> None:
    volumes = [command(args) for name, args in steps if name == "VOLUME"]
    assert ["/app/data"] in volumes
    workdir = [args for name, args in steps if name == "WORKDIR"][-1]
    assert workdir == "/app"  # the default DATABASE_URL and FILES_DIR (data/...) land in the volume
    assert any(name == "RUN" and "chown bot:bot /app/data" in args for name, args in steps)


def test_health_check_and_command(steps: list[tuple[str, str]]) -> None:
    (health,) = [args for name, args in steps if name == "HEALTHCHECK"]
    options, _, check = health.partition("CMD ")
    assert command(check.strip()) == ["python", "-m", "bot", "health"]
    assert "--start-period=" in options  # the first sweep runs only once connected
    (cmd,) = [args for name, args in steps if name == "CMD"]
    assert command(cmd) == ["python", "-m", "bot"]


def test_installs_the_project_and_copies_only_repo_files(steps: list[tuple[str, str]]) -> None:
    assert ("RUN", "pip install .") in steps
    assert not [args for name, args in steps if name == "ADD"], "ADD fetches URLs and unpacks archives: use COPY"
    copied = []
    for name, args in steps:
        if name == "COPY":
            words = shlex.split(args)
            assert not any(w.startswith("--from") for w in words)
            assert all(not re.match(r"^[a-z]+://", w) for w in words)
            copied.extend(words[:-1])
    assert copied
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    assert {"pyproject.toml", "bot", "migrations"} <= set(copied)  # bot/db.py reads migrations/ next to bot/


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".venv/", "data/", ".git/"} <= ignored


def test_compose_runs_the_bot_with_a_named_volume_and_the_env_file() -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert re.search(r"^services:\n  bot:\n", text, re.MULTILINE)
    assert re.search(r"^    build: \.$", text, re.MULTILINE)
    assert re.search(r"^    env_file: \.env$", text, re.MULTILINE)
    mount = re.search(r"^      - ([\w-]+):/app/data$", text, re.MULTILINE)
    assert mount, "no named volume on /app/data"
    assert re.search(rf"^volumes:\n  {mount.group(1)}:", text, re.MULTILINE)  # declared: a named volume


def test_the_parser_joins_continuations() -> None:
    text = "# c\nFROM x\nRUN a \\\n    # inside\n    b\n\nCMD [\"y\"]\n"
    assert instructions(text) == [("FROM", "x"), ("RUN", "a b"), ("CMD", '["y"]')]
