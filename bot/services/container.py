"""The services the bot and the tests share, built once over one database and clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.payments.stripe_provider import StripeGateway
from bot.services.cases import CaseService
from bot.services.contracts import ContractService
from bot.services.deliveries import DeliveryService
from bot.services.escrow import EscrowService, PaymentProvider
from bot.services.evidence import EvidenceService
from bot.services.files import FileStore
from bot.services.guilds import GuildService
from bot.services.history import HistoryService
from bot.services.jobs import JobService
from bot.services.outbox import OutboxService
from bot.services.payments import PaymentService
from bot.services.profiles import ProfileService
from bot.services.reputation import ReputationService
from bot.services.stats import StatsService
from bot.services.suspensions import SuspensionService
from bot.services.timers import TimerService


@dataclass
class Services:
    db: Database
    clock: Clock
    settings: Settings
    guilds: GuildService
    outbox: OutboxService
    profiles: ProfileService
    jobs: JobService
    contracts: ContractService
    escrow: EscrowService
    files: FileStore
    deliveries: DeliveryService
    reputation: ReputationService
    cases: CaseService
    history: HistoryService
    evidence: EvidenceService
    timers: TimerService
    stats: StatsService
    suspensions: SuspensionService
    payments: PaymentService

    @classmethod
    def build(cls, db: Database, clock: Clock, settings: Settings,
              provider: PaymentProvider | None = None) -> Services:
        guilds = GuildService(db, clock, settings)
        contracts = ContractService(db, clock, guilds)
        files = FileStore(settings.files_dir)
        deliveries = DeliveryService(db, clock, settings, files)
        cases = CaseService(db, clock, guilds, contracts)
        escrow = EscrowService(db, clock, guilds, provider)
        gateway = StripeGateway(settings.stripe_secret_key, api_base=settings.stripe_api_base,
                                webhook_secret=settings.stripe_webhook_secret) if settings.stripe_secret_key else None
        return cls(
            db=db,
            clock=clock,
            settings=settings,
            guilds=guilds,
            outbox=OutboxService(db, clock),
            profiles=ProfileService(db, clock, guilds),
            jobs=JobService(db, clock, guilds),
            contracts=contracts,
            escrow=escrow,
            files=files,
            deliveries=deliveries,
            reputation=ReputationService(db, clock, guilds),
            cases=cases,
            history=HistoryService(db, clock, messages_recorded=settings.record_thread_messages),
            evidence=EvidenceService(db, clock, enabled=settings.record_thread_messages,
                                     max_file_bytes=settings.max_file_bytes),
            timers=TimerService(db, clock, guilds, contracts, deliveries, cases),
            stats=StatsService(db, clock),
            suspensions=SuspensionService(db, clock, guilds),
            payments=PaymentService(db, clock, settings, escrow, cases, gateway),
        )
