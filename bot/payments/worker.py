"""The payment worker: makes the due calls out to Stripe after each commit (like the outbox
dispatcher), and on the scheduler's retries. Never inside a transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discord import Client

    from bot.services.payments import PaymentService

log = logging.getLogger(__name__)

KICK_EVENT = "payments_kick"


class PaymentWorker:
    def __init__(self, client: Client, payments: PaymentService) -> None:
        self.client = client
        self.payments = payments
        self._task: asyncio.Task[None] | None = None
        self._pending = False
        self._stopping = False

    def kick(self) -> None:
        if self._stopping or self.payments.gateway is None:
            return
        self._pending = True
        self.client.dispatch(KICK_EVENT)

    def start(self) -> None:
        if self.payments.gateway is None:
            return
        if self._task is None or self._task.done():
            self._pending = True
            self._task = asyncio.create_task(self._run(), name="payment-worker")

    async def run_once(self) -> int:
        """One pass (the scheduler's retry; tests call it). Never raises."""
        if self._stopping:
            return 0
        try:
            return await self.payments.process_calls()
        except Exception:
            log.exception("payment calls pass failed; the scheduler retries")
            return 0

    async def reconcile(self) -> int:
        """Apply the Stripe events the webhook missed (daily, and once at start-up). Never raises."""
        if self._stopping or self.payments.gateway is None:
            return 0
        try:
            applied = await self.payments.reconcile()
        except Exception:
            log.exception("stripe reconciliation failed; it runs again tomorrow")
            return 0
        await self.run_once()
        return applied

    async def _run(self) -> None:
        while not self._stopping:
            if not self._pending:
                # a Client.wait_for listener: woken by kick(); idle for test harnesses
                await self.client.wait_for(KICK_EVENT)
            self._pending = False
            await self.run_once()

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.payments.gateway is not None:
            await self.payments.gateway.close()
