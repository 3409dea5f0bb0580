"""crowdwork-bot: a crowdsourcing marketplace inside a Discord server."""
