"""Every route of the bot's HTTP server, one function per feature module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.web.stripe_routes import stripe_routes

if TYPE_CHECKING:
    from bot.app import MarketBot


def add_routes(app: web.Application, bot: MarketBot) -> None:
    stripe_routes(app, bot)
