"""The notification path: the outbox dispatcher (``dispatcher.py``) and its send primitives
(``sending.py``: rendered messages, outcomes, the once-only send), the contract thread
resolver (``threads.py``) and the table of message kinds with their renderers and follow-ups
(``registry.py``), wired once in ``MarketBot.setup_hook``."""
