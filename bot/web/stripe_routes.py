"""``POST /stripe/webhook`` and the pages Stripe sends people back to.

The webhook verifies Stripe's signature on the raw body (400 and nothing changed when it is
bad or stale), then hands the event to the payment service, which records its id once and
does database work only; the calls out (transfers, refunds) are made after commit by the
payment worker, so the answer comes well within Stripe's timeout."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import stripe
from aiohttp import web

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
PAGE = "<!doctype html><meta charset=utf-8><title>crowdwork</title><p>{text}</p>"


def stripe_routes(app: web.Application, bot: MarketBot) -> None:
    async def webhook(request: web.Request) -> web.Response:
        payments = bot.services.payments
        if payments.gateway is None:
            raise web.HTTPNotFound()
        payload = await request.read()
        try:
            event = payments.verify(payload, request.headers.get(SIGNATURE_HEADER))
        except (ValueError, stripe.SignatureVerificationError) as error:
            log.warning("stripe webhook refused: %s", type(error).__name__)
            return web.json_response({"error": "bad signature"}, status=400)
        outcome = await payments.handle_event(event)
        return web.json_response({"received": True, "outcome": outcome})

    async def returned(request: web.Request) -> web.Response:
        paid = request.query.get("paid") == "1"
        text = ("Payment received: you can close this tab and go back to Discord."
                if paid else "Payment not made: go back to Discord to try again.")
        return web.Response(text=PAGE.format(text=text), content_type="text/html")

    async def onboarding(request: web.Request) -> web.Response:
        text = ("Your Stripe link expired: ask Discord for a new one (/profile payout)."
                if request.query.get("refresh") else "Thank you: you can close this tab and go back to Discord.")
        return web.Response(text=PAGE.format(text=text), content_type="text/html")

    app.router.add_post("/stripe/webhook", webhook)
    app.router.add_get("/stripe/return", returned)
    app.router.add_get("/stripe/onboarding", onboarding)
