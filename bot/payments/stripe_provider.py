"""The Stripe adapter: every call the bot makes to Stripe, through the official library's
async API (``StripeClient`` over aiohttp), and the verification of webhook signatures.

Errors are sorted for the callers: :class:`PaymentRetry` (network, 5xx, 429, idempotency
conflicts in flight: try again later with the same idempotency key) or
:class:`PaymentRefused` (Stripe said no for good: invalid request, account not ready,
insufficient balance), each with a short reason for logs and moderator cases. Neither ever
carries the API key. ``api_base`` points the library at another host (the tests' local fake).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
import stripe

log = logging.getLogger(__name__)

# Stripe reads a Checkout Session's expiry in seconds; 24 h is its default and maximum.
SESSION_LIFETIME_SECONDS = 24 * 3600


class PaymentRetry(Exception):
    """A transient failure: the same call (same idempotency key) may succeed later."""


class PaymentRefused(Exception):
    """Stripe refused the call for good; the message says why."""


@dataclass(frozen=True, slots=True)
class Checkout:
    session_id: str
    url: str
    expires_at: int  # epoch seconds


def _reason(error: stripe.StripeError) -> str:
    code = getattr(error, "code", None)
    return f"{type(error).__name__} {error.http_status or '-'} {code or '-'}: {error.user_message or error}"[:300]


class StripeGateway:
    """One client per bot; :meth:`close` releases its HTTP session."""

    def __init__(self, secret_key: str, *, api_base: str | None = None, webhook_secret: str = "") -> None:
        self._webhook_secret = webhook_secret
        # one retry by the library would reuse the key too; the durable rows retry instead
        self._http = stripe.AIOHTTPClient(connector=None)
        bases: Any = {"api": api_base, "connect": api_base} if api_base else {}
        self._client = stripe.StripeClient(secret_key, base_addresses=bases, http_client=self._http,
                                           max_network_retries=0)

    def __repr__(self) -> str:
        return "StripeGateway()"

    async def close(self) -> None:
        try:
            await self._http.close_async()  # type: ignore[no-untyped-call]
        except (RuntimeError, aiohttp.ClientError) as error:  # never opened, or already closed
            log.debug("stripe http client close: %s", error)

    async def _call(self, what: str, call: Any) -> Any:
        try:
            return await call
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.IdempotencyError) as error:
            raise PaymentRetry(f"{what}: {_reason(error)}") from None
        except stripe.StripeError as error:
            if error.http_status is None or error.http_status >= 500:
                raise PaymentRetry(f"{what}: {_reason(error)}") from None
            raise PaymentRefused(f"{what}: {_reason(error)}") from None

    # -- the client pays -------------------------------------------------------------------

    async def create_checkout(self, *, amount: int, currency: str, name: str, contract_id: int, guild_id: int,
                              kind: str, success_url: str, cancel_url: str, expires_at: int) -> Checkout:
        """A Checkout Session for one payment of ``amount`` (the ledger's minor units, which
        are Stripe's for JPY and USD alike), captured at once; transfers come at release."""
        params: Any = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": currency.lower(), "unit_amount": amount, "product_data": {"name": name}}}],
            "payment_intent_data": {"transfer_group": f"contract-{contract_id}",
                                    "metadata": {"guild_id": str(guild_id), "contract_id": str(contract_id)}},
            "metadata": {"guild_id": str(guild_id), "contract_id": str(contract_id), "deposit": kind},
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": expires_at,
        }
        session = await self._call("checkout", self._client.v1.checkout.sessions.create_async(params))
        return Checkout(session_id=session.id, url=session.url, expires_at=int(session.expires_at))

    # -- money out ---------------------------------------------------------------------------

    async def charge_of(self, payment_intent: str) -> str:
        """The charge of a paid PaymentIntent (a transfer's ``source_transaction``)."""
        intent = await self._call("payment intent", self._client.v1.payment_intents.retrieve_async(payment_intent))
        charge = intent.latest_charge
        if not charge:
            raise PaymentRefused(f"payment intent {payment_intent} has no charge")
        return charge if isinstance(charge, str) else str(charge.id)

    async def transfer(self, *, amount: int, currency: str, destination: str, source_charge: str, contract_id: int,
                       key: str) -> str:
        transfer = await self._call("transfer", self._client.v1.transfers.create_async(
            {"amount": amount, "currency": currency.lower(), "destination": destination,
             "source_transaction": source_charge, "transfer_group": f"contract-{contract_id}",
             "metadata": {"contract_id": str(contract_id)}},
            {"idempotency_key": key},
        ))
        return str(transfer.id)

    async def refund(self, *, amount: int, payment_intent: str, contract_id: int | None, key: str) -> str:
        refund = await self._call("refund", self._client.v1.refunds.create_async(
            {"amount": amount, "payment_intent": payment_intent,
             "metadata": {"contract_id": str(contract_id or "-")}},
            {"idempotency_key": key},
        ))
        return str(refund.id)

    # -- workers onboard ---------------------------------------------------------------------

    async def create_express_account(self, user_id: int) -> str:
        account = await self._call("account", self._client.v1.accounts.create_async(
            {"type": "express", "metadata": {"discord_user_id": str(user_id)},
             "capabilities": {"transfers": {"requested": True}}},
            {"idempotency_key": f"account:{user_id}"},
        ))
        return str(account.id)

    async def account_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        link = await self._call("account link", self._client.v1.account_links.create_async(
            {"account": account_id, "type": "account_onboarding", "refresh_url": refresh_url,
             "return_url": return_url},
        ))
        return str(link.url)

    # -- reconciliation ----------------------------------------------------------------------

    async def recent_events(self, since: int, types: list[str]) -> list[dict[str, Any]]:
        """Events created after ``since`` (epoch seconds) of these types, oldest first."""
        found: list[dict[str, Any]] = []
        params: Any = {"created": {"gt": since}, "types": types, "limit": 100}
        while True:
            page = await self._call("events", self._client.v1.events.list_async(params))
            found.extend(event.to_dict() for event in page.data)
            if not page.has_more or not page.data:
                break
            params["starting_after"] = page.data[-1].id
        return sorted(found, key=lambda event: int(event.get("created", 0)))

    # -- webhooks ----------------------------------------------------------------------------

    def verify(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event, if ``signature`` is Stripe's for this raw body and recent; else
        ``ValueError`` (bad JSON) or ``stripe.SignatureVerificationError``."""
        event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        return dict(event.to_dict())
