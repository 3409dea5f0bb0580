"""The notification path: the outbox dispatcher (``dispatcher.py``), the contract thread
resolver (``threads.py``) and the table of message kinds with their renderers and follow-ups
(``registry.py``), wired once in ``MarketBot.setup_hook``."""
