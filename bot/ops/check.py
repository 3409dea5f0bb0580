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


def problems(settings: Settings, *, check_database: bool = True) -> list[str]:
    """Everything that would stop the bot, in the order an admin would fix it."""
    found: list[str] = []
    token = token_problem(settings.discord_token)
    if token:
        found.append(token)
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
