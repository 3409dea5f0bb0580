"""Pure helpers of the Discord layer: money and time formatting, button specs, invite URL."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import discord
import pytest

from bot.__main__ import PERMISSIONS, Fatal, application_id_from_token, invite_url
from bot.ui.buttons import build_view, custom_id, parse_spec
from bot.ui.format import format_args, format_money, format_time


@pytest.mark.parametrize(
    ("minor", "code", "language", "expected"),
    [
        (12000, "JPY", "en", "¥12,000"),
        (12000, "JPY", "ja", "12,000円"),
        (-500, "JPY", "ja", "-500円"),
        (1250, "USD", "en", "$12.50"),
        (1250, "USD", "ja", "$12.50"),
        (100000, "EUR", discord.Locale.japanese, "€1,000.00"),
        (99, "GBP", "en-GB", "£0.99"),
    ],
)
def test_format_money(minor: int, code: str, language: object, expected: str) -> None:
    assert format_money(minor, code, language) == expected


def test_format_time_is_a_discord_timestamp() -> None:
    when = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert format_time(when) == "<t:1767603600:f>"
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 1, 5))  # noqa: DTZ001


def test_format_args_formats_amounts_and_times_only() -> None:
    args = {
        "price_amount": 1250,
        "currency": "USD",
        "due_at": "2026-01-05T09:00:00+00:00",
        "contract_id": 3,
        "note_at": "not a time",
        "fee_amount": None,
    }
    assert format_args(args, "en") == {
        "price_amount": "$12.50",
        "currency": "USD",
        "due_at": "<t:1767603600:f>",
        "contract_id": 3,
        "note_at": "not a time",
        "fee_amount": None,
    }


def test_button_specs() -> None:
    assert parse_spec("contract:42:accept") == ("contract", 42, "accept")
    assert custom_id("contract", 42, "accept") == "cw:contract:42:accept"
    for bad in ("contract:x:accept", "contract:42", "a:1:b:c", "contract:-1:accept"):
        with pytest.raises(ValueError, match="spec"):
            parse_spec(bad)
    assert build_view(["unknown:1:thing", "broken"], "en") is None


def test_invite_url_carries_the_application_scopes_and_permissions() -> None:
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    assert application_id_from_token(token) == 123456789012345678
    query = parse_qs(urlparse(invite_url(123456789012345678)).query)
    assert query["client_id"] == ["123456789012345678"]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == PERMISSIONS
    # the exact set, each permission with the feature that needs it: tests/bot/test_main.py
    with pytest.raises(Fatal):
        application_id_from_token("not-a-token")
