"""``python -m bot check`` with Stripe: the key's shape, the webhook secret, the web server."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.ops.check import stripe_problems

WEB = {"web_port": 8080, "web_base_url": "https://market.example"}


def test_no_stripe_no_problem() -> None:
    assert stripe_problems(Settings()) == []


@pytest.mark.parametrize("key", ["sk_test_abc123", "sk_live_abc123", "rk_live_abc123", "rk_test_x9"])
def test_good_keys(key: str) -> None:
    assert stripe_problems(Settings(stripe_secret_key=key, stripe_webhook_secret="whsec_x", **WEB)) == []


@pytest.mark.parametrize("key", ["pk_test_abc", "sk_abc", "whsec_abc", "sk_test_ab c", "'sk_test_abc'"])
def test_bad_keys_are_named_without_echoing_them(key: str) -> None:
    [problem] = stripe_problems(Settings(stripe_secret_key=key, stripe_webhook_secret="whsec_x", **WEB))
    assert problem.startswith("STRIPE_SECRET_KEY does not look like") and key not in problem


def test_the_webhook_secret_and_the_web_server_are_needed() -> None:
    found = stripe_problems(Settings(stripe_secret_key="sk_test_abc"))
    assert [line.split(" ")[0] for line in found] == ["STRIPE_WEBHOOK_SECRET", "WEB_PORT", "WEB_BASE_URL"]
    assert stripe_problems(Settings(stripe_webhook_secret="whsec_x"))[0].startswith("STRIPE_WEBHOOK_SECRET is set")


def test_secrets_never_appear_in_the_settings_repr() -> None:
    text = repr(Settings(stripe_secret_key="sk_live_SECRET1", stripe_webhook_secret="whsec_SECRET2"))
    assert "SECRET1" not in text and "SECRET2" not in text
