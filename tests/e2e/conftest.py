"""The end-to-end flows run on the same world as the bot tests: the fixtures of
tests/bot/conftest.py (``market``, ``setup_market`` and what they are built from)."""

from tests.bot.conftest import (  # noqa: F401  (fixtures, found by pytest by name)
    bot_settings,
    built_bots,
    interaction_locales,
    market,
    setup_market,
    simcord_bot,
)
