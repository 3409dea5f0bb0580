"""Operations around the running bot: start-up checks, database probes, backups, the run
lock and the health heartbeat. Used by ``python -m bot`` (bot/__main__.py); only the
heartbeat is used by the bot itself."""
