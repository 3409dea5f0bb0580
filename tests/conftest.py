"""Fixtures for service tests: a real SQLite file with every migration, a fake clock.

After each test that used ``db`` (directly or through ``services``), the ledger
invariants are checked on that database (tests/invariants.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.db import Database
from bot.models.entities import Guild
from bot.services.container import Services
from tests.invariants import assert_ledger_invariants
from tests.services.helpers import setup_guild


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(files_dir=tmp_path / "files")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "bot.db")
    await database.connect()
    try:
        await database.migrate()
        yield database
    finally:
        await database.close()


@pytest.fixture
def services(db: Database, clock: FakeClock, settings: Settings) -> Services:
    return Services.build(db, clock, settings)


@pytest.fixture
async def guild(services: Services) -> Guild:
    return await setup_guild(services)


@pytest.fixture
async def _ledger_check(db: Database) -> AsyncIterator[None]:
    # Depends on ``db``, so this teardown runs while the database is still open.
    yield
    await assert_ledger_invariants(db)


@pytest.fixture(autouse=True)
def _ledger_invariants_after_test(request: pytest.FixtureRequest) -> None:
    """Check the ledger after every test that used the ``db`` fixture.

    Sync on purpose: it pulls in the async ``_ledger_check`` only where ``db`` is used.
    """
    if "db" in request.fixturenames:
        request.getfixturevalue("_ledger_check")
