"""A local fake of the Stripe API endpoints the bot calls, served by aiohttp in the test
process; the official ``stripe`` library is pointed at it (``Settings.stripe_api_base``).
Webhooks are signed with the real scheme (``t=...,v1=HMAC-SHA256``) and secret, so the bot's
``stripe.Webhook.construct_event`` does the real verification. Never talks to Stripe.

- ``checkout.sessions``, ``payment_intents`` (retrieve), ``transfers``, ``refunds``,
  ``accounts``, ``account_links``, ``events`` (list);
- ``Idempotency-Key`` honoured like Stripe: the same key returns the first answer;
- ``fail(kind, status, code)`` queues a failure for the next call of that kind
  (``transfers``, ``refunds``, ``checkout``...): 500 for a transient fault, 400 for a refusal;
- money coming back: ``refund_in_dashboard`` (``charge.refunded``, counting the bot's own
  refunds too, as Stripe does) and ``reverse`` (``transfer.reversed``);
- :func:`assert_paid_once`: every transfer and refund the bot made matches exactly one
  settled ``payment_calls`` row (its key, id and amount), and each such row one object here.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.db import Database

WEBHOOK_SECRET = "whsec_test_local_fake"
SECRET_KEY = "sk_test_local_fake"


def sign(payload: str, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass
class StripeFake:
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    failures: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    url: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    def fail(self, kind: str, status: int = 500, code: str = "api_error") -> None:
        self.failures[kind].append((status, code))

    def _id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids)}"

    # -- server -------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self._create_session)
        app.router.add_get("/v1/payment_intents/{id}", self._payment_intent)
        app.router.add_post("/v1/transfers", self._transfer)
        app.router.add_post("/v1/refunds", self._refund)
        app.router.add_post("/v1/accounts", self._account)
        app.router.add_post("/v1/account_links", self._account_link)
        app.router.add_get("/v1/events", self._events)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = next(a for a in self._runner.addresses if isinstance(a, tuple))[:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, request: web.Request, kind: str, make: Any) -> web.Response:
        self.requests.append((request.method, request.path))
        key = request.headers.get("Idempotency-Key")
        if key and key in self._idempotent:
            status, body = self._idempotent[key]
            return web.json_response(body, status=status)
        if self.failures[kind]:
            status, code = self.failures[kind].pop(0)
            kind_ = "api_error" if status >= 500 else "invalid_request_error"
            return web.json_response({"error": {"type": kind_, "code": code, "message": f"fake {code}"}},
                                     status=status)
        params = dict(await request.post())
        body = make(request, params)
        if key:
            self._idempotent[key] = (200, body)
        return web.json_response(body)

    async def _create_session(self, request: web.Request) -> web.Response:
        def make(_: web.Request, params: dict[str, Any]) -> dict[str, Any]:
            session_id = self._id("cs")
            session = {
                "id": session_id, "object": "checkout.session", "status": "open", "payment_status": "unpaid",
                "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                "amount_total": int(params["line_items[0][price_data][unit_amount]"]),
                "currency": params["line_items[0][price_data][currency]"],
                "expires_at": int(params["expires_at"]),
                "metadata": {k.split("[")[1].rstrip("]"): v for k, v in params.items() if k.startswith("metadata[")},
                "transfer_group": params.get("payment_intent_data[transfer_group]"),
                "success_url": params["success_url"], "payment_intent": None, "params": params,
            }
            self.sessions[session_id] = session
            return {k: v for k, v in session.items() if k != "params"}

        return await self._answer(request, "checkout", make)

    async def _payment_intent(self, request: web.Request) -> web.Response:
        intent = request.match_info["id"]
        return await self._answer(request, "payment_intents", lambda *_: {
            "id": intent, "object": "payment_intent", "status": "succeeded", "latest_charge": f"ch_of_{intent}"})

    async def _transfer(self, request: web.Request) -> web.Response:
        def make(_: web.Request, params: dict[str, Any]) -> dict[str, Any]:
            transfer = {"id": self._id("tr"), "object": "transfer", "amount": int(params["amount"]),
                        "currency": params["currency"], "destination": params["destination"],
                        "source_transaction": params.get("source_transaction"),
                        "transfer_group": params.get("transfer_group"),
                        "idempotency_key": request.headers.get("Idempotency-Key")}
            self.transfers.append(transfer)
            return transfer

        return await self._answer(request, "transfers", make)

    async def _refund(self, request: web.Request) -> web.Response:
        def make(_: web.Request, params: dict[str, Any]) -> dict[str, Any]:
            refund = {"id": self._id("re"), "object": "refund", "amount": int(params["amount"]),
                      "payment_intent": params["payment_intent"], "status": "succeeded",
                      "idempotency_key": request.headers.get("Idempotency-Key")}
            self.refunds.append(refund)
            return refund

        return await self._answer(request, "refunds", make)

    async def _account(self, request: web.Request) -> web.Response:
        def make(_: web.Request, params: dict[str, Any]) -> dict[str, Any]:
            account = {"id": self._id("acct"), "object": "account", "type": params.get("type"),
                       "payouts_enabled": False}
            self.accounts.append(account)
            return account

        return await self._answer(request, "accounts", make)

    async def _account_link(self, request: web.Request) -> web.Response:
        return await self._answer(request, "account_links", lambda _, params: {
            "object": "account_link", "url": f"https://connect.stripe.test/setup/{params['account']}",
            "expires_at": int(time.time()) + 300})

    async def _events(self, request: web.Request) -> web.Response:
        types = {value for key, value in request.query.items() if key.startswith("types[")}
        since = int(request.query.get("created[gt]", "0"))
        found = [e for e in reversed(self.events) if (not types or e["type"] in types) and e["created"] > since]
        return await self._answer(request, "events", lambda *_: {
            "object": "list", "data": found, "has_more": False, "url": "/v1/events"})

    # -- events -------------------------------------------------------------------------------

    def event(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {"id": self._id("evt"), "object": "event", "type": type_, "created": int(time.time()),
                 "api_version": "2025-01-01", "livemode": False, "data": {"object": obj}}
        self.events.append(event)
        return event

    def completed(self, session_id: str, *, paid: bool = True) -> dict[str, Any]:
        """A customer paid the session: the ``checkout.session.completed`` event."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid" if paid else "unpaid",
                       payment_intent=self._id("pi") if paid else None)
        return self.event("checkout.session.completed", {k: v for k, v in session.items() if k != "params"})

    def expired(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        session.update(status="expired")
        return self.event("checkout.session.expired", {k: v for k, v in session.items() if k != "params"})

    def account_ready(self, account_id: str) -> dict[str, Any]:
        return self.event("account.updated", {"id": account_id, "object": "account", "payouts_enabled": True,
                                              "charges_enabled": True})

    def refund_in_dashboard(self, payment_intent: str, amount: int) -> dict[str, Any]:
        """Someone refunded part of a payment in Stripe's dashboard: ``charge.refunded`` with
        the charge's cumulative ``amount_refunded`` (the bot's API refunds included)."""
        self.refunds.append({"id": self._id("re"), "object": "refund", "amount": amount,
                             "payment_intent": payment_intent, "status": "succeeded", "idempotency_key": None})
        return self.charge_refunded(payment_intent)

    def charge_refunded(self, payment_intent: str) -> dict[str, Any]:
        session = next(s for s in self.sessions.values() if s["payment_intent"] == payment_intent)
        refunded = sum(r["amount"] for r in self.refunds if r["payment_intent"] == payment_intent)
        return self.event("charge.refunded", {
            "id": f"ch_of_{payment_intent}", "object": "charge", "payment_intent": payment_intent,
            "amount": session["amount_total"], "amount_refunded": refunded,
            "refunded": refunded >= session["amount_total"]})

    def reverse(self, transfer_id: str, amount: int | None = None) -> dict[str, Any]:
        """A transfer reversed (all of it by default): ``transfer.reversed``."""
        transfer = next(t for t in self.transfers if t["id"] == transfer_id)
        reversed_ = transfer.get("amount_reversed", 0) + (transfer["amount"] if amount is None else amount)
        transfer.update(amount_reversed=reversed_, reversed=reversed_ >= transfer["amount"])
        return self.event("transfer.reversed", dict(transfer))

    @staticmethod
    def payload(event: dict[str, Any]) -> str:
        return json.dumps(event)


async def assert_paid_once(db: Database, fake: StripeFake) -> None:
    """Nothing was paid twice: one transfer or refund per idempotency key, each the answer to
    exactly one ``payment_calls`` row now done (same key, id and amount), and every done row
    paid by exactly one of them. Refunds made in the dashboard carry no key and are skipped."""
    made = [o for o in fake.transfers + fake.refunds if o.get("idempotency_key")]
    keys = [o["idempotency_key"] for o in made]
    assert len(keys) == len(set(keys)), f"paid twice under one key: {keys}"
    rows = await db.fetchall("SELECT idempotency_key, stripe_id, amount, status FROM payment_calls")
    done = {r["idempotency_key"]: (r["stripe_id"], r["amount"]) for r in rows if r["status"] == "done"}
    assert {o["idempotency_key"]: (o["id"], o["amount"]) for o in made} == done
