"""The bot's one HTTP server (aiohttp): payment webhooks now, the web dashboard later."""
