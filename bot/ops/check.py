"""``python -m bot check``: every reason the bot could not start, one line each.

OK means the settings parse, the token has a bot token's shape, the database can be opened
(or created) and migrated, and the files folder can be written. Whether Discord accepts the
token is only known at login (``run`` says so in one line).
"""

from __future__ import annotations

import base64
import binascii
import re

from bot.config import Settings
from bot.ops.database import creatable_folder_problem, database_problems

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")


def application_id(token: str) -> int | None:
    """A bot token's first part is the base64 of the application (bot user) id."""
    first = token.strip().split(".", 1)[0]
    try:
        text = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)


def token_problem(token: str) -> str | None:
    """Three dot-separated base64url parts, the first an id; a pasted client secret, a
    token with its quotes or a ``Bot `` prefix fail here. Never echoes the token."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(_BASE64URL.match(part) for part in parts):
        return "DISCORD_TOKEN does not look like a bot token (expected three dot-separated parts)"
    if application_id(token) is None:
        return "DISCORD_TOKEN does not look like a bot token (its first part is not an id)"
    return None


_STRIPE_KEY = re.compile(r"^(sk_test_|sk_live_|rk_test_|rk_live_)[A-Za-z0-9]+$")


def stripe_problems(settings: Settings) -> list[str]:
    """With STRIPE_SECRET_KEY set (a guild may choose Stripe): the key's shape, the webhook
    secret, and the web server Stripe's webhooks reach. Never echoes a secret."""
    key, secret = settings.stripe_secret_key, settings.stripe_webhook_secret
    if not key:
        return ["STRIPE_WEBHOOK_SECRET is set but STRIPE_SECRET_KEY is not: set both or neither"] if secret else []
    found: list[str] = []
    if not _STRIPE_KEY.match(key):
        found.append("STRIPE_SECRET_KEY does not look like a Stripe secret key (sk_test_..., sk_live_... or rk_...)")
    if not secret.startswith("whsec_"):
        found.append("STRIPE_WEBHOOK_SECRET is missing or not a webhook signing secret (whsec_...)")
    if settings.web_port is None:
        found.append("WEB_PORT is not set: Stripe's webhooks need the bot's web server")
    if not settings.web_base_url.startswith(("https://", "http://")):
        found.append("WEB_BASE_URL is not set: the public https address of the bot's web server"
                     " (Stripe's webhook URL is WEB_BASE_URL/stripe/webhook)")
    return found


def problems(settings: Settings, *, check_database: bool = True) -> list[str]:
    """Everything that would stop the bot, in the order an admin would fix it."""
    found: list[str] = []
    token = token_problem(settings.discord_token)
    if token:
        found.append(token)
    found.extend(stripe_problems(settings))
    if check_database:
        found.extend(database_problems(settings.database_path))
    files_dir = settings.files_dir
    if files_dir.exists() and not files_dir.is_dir():
        found.append(f"FILES_DIR {files_dir} is a file, not a folder")
    else:
        problem = creatable_folder_problem(files_dir, "FILES_DIR")
        if problem:
            found.append(problem)
    return found
