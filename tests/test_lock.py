"""requirements-dev.lock: the dev/test toolchain pinned for reproducible CI installs.

Regenerate it after changing pyproject's dependencies (the command is in its header):
``pip-compile --extra=dev --no-emit-find-links --no-emit-index-url --output-file=requirements-dev.lock
--strip-extras --unsafe-package=crowdwork-bot pyproject.toml``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-dev.lock"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([0-9][A-Za-z0-9.+!-]*)$")


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in LOCK.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"not an exact pin: {raw!r}"
        found[canonicalize_name(match[1])] = match[2]
    return found


def test_every_line_is_an_exact_pin_of_the_toolchain() -> None:
    pinned = pins()
    assert {"ruff", "mypy", "pytest", "pytest-asyncio", "hypothesis", "simcord", "babel", "prometheus-client"} <= set(
        pinned
    )
    assert "crowdwork-bot" not in pinned  # the project itself is installed from the work tree


def test_the_lock_satisfies_every_declared_dependency() -> None:
    """A dependency added to pyproject without regenerating the lock fails here, not in CI's install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    pinned = pins()
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name == "crowdwork-bot":
            continue
        assert name in pinned, f"{name} is not in requirements-dev.lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (text, pinned[name])


def test_ci_installs_with_the_lock() -> None:
    assert "pip install --quiet -c requirements-dev.lock -e '.[dev]'" in (ROOT / ".ci" / "run").read_text()
