"""One aiohttp server in the bot process (ARCHITECTURE.md "When the bot grows"): started by
``setup_hook`` when ``WEB_PORT`` is set, stopped by ``close()``. Feature modules add their
routes in bot/web/routes.py; handlers are adapters like cogs: authenticate, call one
service, render."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web.routes import add_routes

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

BOT_KEY: web.AppKey[MarketBot] = web.AppKey("bot")


def make_app(bot: MarketBot) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)  # webhooks are small; refuse floods early
    app[BOT_KEY] = bot
    add_routes(app, bot)
    return app


class WebServer:
    def __init__(self, bot: MarketBot, host: str, port: int) -> None:
        self.app = make_app(bot)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        # port 0 (tests): the one the system chose
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break
        log.info("web server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("web server stopped")
