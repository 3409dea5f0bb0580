"""User text made safe to repost (bot/models/text.py): table-driven."""

from __future__ import annotations

import pytest

from bot.models.text import defuse_links, is_visible, safe_text, strip_controls


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("[discord.com/gift](https://evil.example)", "discord.com/gift (https://evil.example)"),
        ("see [here](<https://evil.example/a>) now", "see here (https://evil.example/a) now"),
        ('[x]( https://evil.example "Nitro" )', "x (https://evil.example)"),
        ("[[a](https://b.example)](https://evil.example)", "a (https://b.example) (https://evil.example)"),
        ("[empty]()", "empty"),
        ("a [bracket] and (parens) stay", "a [bracket] and (parens) stay"),
        ("https://plain.example is fine", "https://plain.example is fine"),
    ],
)
def test_masked_links_are_spelled_out(typed: str, shown: str) -> None:
    assert defuse_links(typed) == shown


@pytest.mark.parametrize(
    ("typed", "multiline", "kept"),
    [
        ("Logo\u202e gnp.exe", False, "Logo gnp.exe"),
        ("a\x00b\x07c", False, "abc"),
        ("line one\nline two\tend", True, "line one\nline two\tend"),
        ("line one\nline two\tend", False, "line one line two end"),
        ("a\r\nb\u2028c", True, "a\nb\nc"),
        ("\ufeffTitle\u2066x\u2069", False, "Titlex"),
        ("家族 👨\u200d👩\u200d👧 ok", False, "家族 👨\u200d👩\u200d👧 ok"),
    ],
)
def test_controls_and_bidi_overrides_are_removed(typed: str, multiline: bool, kept: str) -> None:
    assert strip_controls(typed, multiline=multiline) == kept


@pytest.mark.parametrize(
    "blank",
    [
        "\u200b",
        "\u2800\u2800",
        "\u3164",
        "\u115f\u1160",
        "\ufeff",
        "\ufe0f\ufe0e",
        "\u200b \u3000 \u200d",
        "\u0301",
        "\U000e0100",
        "\u00a0",
    ],
)
def test_text_that_shows_nothing_is_not_visible(blank: str) -> None:
    assert not is_visible(safe_text(blank, multiline=True))


@pytest.mark.parametrize("text", ["a", "ロゴ", "🍜", "\u200bx", "1"])
def test_text_with_something_to_show_is_visible(text: str) -> None:
    assert is_visible(text)
