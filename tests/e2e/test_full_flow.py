"""One job from a fresh, un-set-up server to a completed, rated contract with the payout
recorded, once per language, driven only by what people do: slash commands, buttons and
modals (docs/architecture.md, "Tests"). At each step the test reads what each person received: the
ephemeral answer, their DMs, the contract thread, the mod channel and the job board.

    admin /setup → client /job post → worker Apply (modal) → client /job applications →
    client /contract offer → worker Accept (DM button) → client Declare the deposit (DM
    button, modal) → moderator /escrow confirm → worker /deliver → client Request a revision
    (DM button, modal) → worker /deliver → client Approve (DM button) → both /rate →
    moderator /mod balance, /mod payout → /contract history
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import discord
import simcord

from bot.i18n import catalogue, t
from bot.ui.format import format_money, format_time
from bot.ui.review_buttons import format_size
from tests.bot.conftest import Market
from tests.bot.helpers import disabled, fields

PRICE, FEE, PAYOUT = 45000, 4500, 40500  # JPY, at a 10% fee


@dataclass(frozen=True)
class Story:
    """What the people type, in their own language."""

    language: str
    title: str
    description: str
    category: str
    proposal: str
    scope: str
    reference: str
    revision: str
    note: str
    client_comment: str
    worker_comment: str
    payout_reference: str
    payout_details: str
    one_day: str  # how the profile shows a median of one day


ENGLISH = Story(
    language="en",
    title="Logo for a ramen shop",
    description="A simple logo for our shop sign and menus, vector files, two colours.",
    category="Design",
    proposal="I have drawn logos for ten shops; three drafts, then we refine one.",
    scope="A logo in two colours, delivered as SVG and PNG.",
    reference="Bank transfer 0042",
    revision="Please use the red of the shop sign, not orange.",
    note="First draft, SVG and PNG.",
    client_comment="Quick, friendly and exactly what we asked for.",
    worker_comment="Clear brief and a fast review.",
    payout_reference="TX-0001",
    payout_details="Bank of Kyoto, account 1234567",
    one_day="1d",
)

JAPANESE = Story(
    language="ja",
    title="ラーメン店のロゴ制作",
    description="お店の看板とメニューに使うシンプルなロゴ。2色、ベクターデータで納品。",
    category="デザイン",
    proposal="飲食店のロゴを10店舗以上制作してきました。3案ご提案のうえ1案を仕上げます。",
    scope="2色のロゴ。SVGとPNGで納品。",
    reference="振込 0042",
    revision="赤はオレンジではなく、看板の赤に合わせてください。",
    note="初稿です。SVGとPNGを添付します。",
    client_comment="対応が早く、イメージどおりでした。",
    worker_comment="指示が明確で、検収も早かったです。",
    payout_reference="振込 0001",
    payout_details="京都銀行 普通 1234567",
    one_day="1日",
)

DRAFT = ("logo.png", b"\x89PNG the first draft of the logo")
REVISED = ("logo-red.png", b"\x89PNG the logo in the red of the shop sign")


# -- reading what people received -------------------------------------------------------------


class Inbox:
    """The messages that arrived in a channel (a DM, the thread, the mod channel) since the
    last look. Ephemeral answers to clicks in a DM and Discord's own notices ("pinned a
    message") are left out: they are not the bot's notifications."""

    def __init__(self) -> None:
        self.seen: dict[int, set[int]] = {}
        self.received: dict[int, list[discord.Message]] = {}  # by channel, everything read

    def new(self, channel: simcord.ChannelHandle) -> list[discord.Message]:
        seen = self.seen.setdefault(channel.id, set())
        fresh = [m for m in channel.history() if m.id not in seen and not (m.flags.ephemeral or m.is_system())]
        seen.update(m.id for m in fresh)
        self.received.setdefault(channel.id, []).extend(fresh)
        return fresh

    def dms(self, member: simcord.MemberActor) -> list[discord.Message]:
        return self.new(member.user.dm_channel)


def buttons(message: discord.Message) -> list[str]:
    return [c.custom_id or "" for row in message.components for c in getattr(row, "children", [])]


def labels(message: discord.Message) -> list[str]:
    return [c.label or "" for row in message.components for c in getattr(row, "children", [])]


def refetch(channel: simcord.ChannelHandle, message: discord.Message) -> discord.Message:
    [found] = [m for m in channel.history() if m.id == message.id]
    return found


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the flow ---------------------------------------------------------------------------------


class Flow:
    """The people of ``market`` going through one job, each step asserting what they saw."""

    def __init__(self, market: Market, story: Story) -> None:
        self.market = market
        self.story = story
        self.lang = story.language
        self.inbox = Inbox()
        self.job_id = 0
        self.contract_id = 0
        self.thread: simcord.ChannelHandle | None = None
        self.replies: list[simcord.ResponseMessage] = []  # every ephemeral answer read

    # helpers

    def t(self, key: str, **args: Any) -> str:
        assert key in catalogue(self.lang), f"{key} is missing in {self.lang}"
        return t(self.lang, key, **args)

    def answer(self, result: simcord.InteractionResult) -> simcord.ResponseMessage:
        """The ephemeral answer to an interaction (a deferred one's is its last followup)."""
        message = result.followups[-1] if result.followups else result.response
        assert message is not None, result
        assert message.ephemeral, f"not ephemeral: {message.content!r}"
        self.replies.append(message)
        return message

    def reply(self, result: simcord.InteractionResult) -> str:
        return self.answer(result).content

    def yen(self, amount: int) -> str:
        return format_money(amount, "JPY", self.lang)

    def status(self, name: str) -> str:
        return self.t(f"status.{name}")

    def file_line(self, name: str, data: bytes) -> str:
        return self.t("ui.delivery.file_line", filename=name, size=format_size(len(data)), sha256=sha(data))

    async def db_value(self, statement: str, *params: Any) -> Any:
        row = await self.market.services.db.fetchone(statement, params)
        assert row is not None
        return row[0]

    def nothing_new(self, *members: simcord.MemberActor) -> None:
        for member in members:
            assert self.inbox.dms(member) == [], f"unexpected DM to {member.name}"

    def one_dm(self, member: simcord.MemberActor) -> discord.Message:
        [dm] = self.inbox.dms(member)
        return dm

    def board(self) -> discord.Message:
        [post] = self.market.jobs.history()
        return post

    def thread_posts(self) -> list[discord.Message]:
        assert self.thread is not None
        return self.inbox.new(self.thread)

    def client_line(self, *, jobs: int = 1) -> str:
        none = self.t("ui.job.none")
        return self.t("ui.figures.client_line", jobs=jobs, completed=0, cancelled=0, fund=none, review=none,
                      escalations=0, reverts=0, rating=self.t("ui.figures.no_rating"))  # fmt: skip

    # steps

    async def setup(self) -> None:
        m = self.market
        result = await m.run_setup(currency="JPY", fee_percent=10)
        expected = self.t(
            "setup.done", jobs_channel=m.jobs.mention, mod_channel=m.mod.mention,
            moderator_role=m.moderator_role.mention, contracts_channel=m.contracts.mention, currency="JPY",
            fee_percent=10, setup=m.bot.command_mention("setup"), config_show=m.bot.command_mention("config show"),
        )  # fmt: skip
        assert self.reply(result) == expected

    async def post_job(self) -> None:
        m, s = self.market, self.story
        result = await m.client.slash(m.general, "job post", title=s.title, description=s.description,
                                      budget=PRICE, deadline="7d", category=s.category, positions=1)  # fmt: skip
        [choice] = await m.client.autocomplete(m.general, "job applications", "job", "")
        self.job_id = choice["value"]
        assert self.reply(result) == self.t("ui.job.posted", job_id=self.job_id, title=s.title,
                                            channel=m.jobs.mention)  # fmt: skip
        await m.settle()

        post = self.board()
        [embed] = post.embeds
        shown = fields(embed)
        assert embed.title == f"#{self.job_id} {s.title}"
        assert embed.description == s.description
        assert shown[self.t("ui.job.embed.budget")] == self.yen(PRICE)
        assert shown[self.t("ui.job.embed.deadline")] == self.t("ui.job.deadline_days", days=7)
        assert shown[self.t("ui.job.embed.positions")] == self.t("ui.job.positions", filled=0, positions=1)
        assert shown[self.t("ui.job.embed.category")] == s.category
        assert shown[self.t("ui.job.embed.status")] == self.status("open")
        assert shown[self.t("ui.job.embed.client")] == f"{m.client.mention}\n{self.client_line()}"
        assert buttons(post) == [f"cw:job:{self.job_id}:apply"]
        assert labels(post) == [self.t("button.job.apply")]
        self.nothing_new(m.client, m.worker)

    async def apply(self) -> None:
        m, s = self.market, self.story
        shown = await m.worker.click(self.board(), custom_id=f"cw:job:{self.job_id}:apply")
        assert shown.modal is not None
        assert shown.modal["title"] == self.t("ui.job.modal.title", job_id=self.job_id, title=s.title)[:45]
        result = await m.worker.submit_modal(shown, {"proposal": s.proposal, "price": str(PRICE), "days": ""})

        assert self.reply(result) == self.t("ui.job.applied", job_id=self.job_id, title=s.title,
                                            price=self.yen(PRICE))  # fmt: skip
        await m.settle()
        told = self.one_dm(m.client)
        assert told.content == self.t("notify.application_received", worker_id=m.worker.mention,
                                      job_id=self.job_id, title=s.title, price_amount=self.yen(PRICE))  # fmt: skip
        self.nothing_new(m.worker)

    async def read_applications(self) -> None:
        m, s = self.market, self.story
        result = await m.client.slash(m.general, "job applications", job=self.job_id)
        figures = self.t("ui.figures.worker_line", completed=0, on_time=self.t("ui.job.none"),
                         rating=self.t("ui.figures.no_rating"))  # fmt: skip
        entry = self.t("ui.job.application_entry", worker=m.worker.mention, price=self.yen(PRICE),
                       days=self.t("ui.job.days_job"), status=self.status("pending"), figures=figures,
                       proposal=s.proposal)  # fmt: skip
        header = self.t("ui.job.applications_header", job_id=self.job_id, title=s.title, count=1)
        # each proposal carries its number, which names its Reject button
        assert self.reply(result) == f"{header}\n\n`#1` {entry}"

    async def offer(self) -> None:
        m, s = self.market, self.story
        result = await m.client.slash(m.general, "contract offer", job=self.job_id, worker=m.worker, scope=s.scope)
        [choice] = await m.worker.autocomplete(m.general, "contract accept", "contract", "")
        self.contract_id = choice["value"]

        reply = self.answer(result)
        assert reply.content == self.t("ui.contract.offered", contract_id=self.contract_id, job_id=self.job_id,
                                       worker=m.worker.mention)  # fmt: skip
        [card] = reply.embeds
        terms = fields(card)
        assert terms[self.t("ui.contract.field_price")] == self.yen(PRICE)
        assert terms[self.t("ui.contract.field_fee", percent=10)] == self.yen(FEE)
        assert terms[self.t("ui.contract.field_payout")] == self.yen(PAYOUT)
        assert terms[self.t("ui.contract.field_deadline")] == self.t("ui.contract.deadline_days", days=7)
        assert terms[self.t("ui.contract.field_revisions")] == "2"

        await m.settle()
        offer = self.one_dm(m.worker)
        assert offer.content == self.t(
            "notify.offer_received", contract_id=self.contract_id, client_id=m.client.mention, title=s.title,
            price_amount=self.yen(PRICE), deadline=self.t("deadline.days", days=7),
        )  # fmt: skip
        [card] = offer.embeds
        assert s.scope in (card.description or "")
        terms = fields(card)
        assert terms[self.t("ui.contract.field_price")] == self.yen(PRICE)
        assert terms[self.t("ui.contract.field_payout")] == self.yen(PAYOUT)
        assert terms[self.t("ui.contract.field_about_client")] == self.client_line()
        assert buttons(offer) == [f"cw:contract:{self.contract_id}:accept", f"cw:contract:{self.contract_id}:decline"]
        assert labels(offer) == [self.t("button.contract.accept"), self.t("button.contract.decline")]
        self.nothing_new(m.client)
        self.offer_dm = offer

    async def accept(self) -> None:
        m, s = self.market, self.story
        result = await m.worker.user.click(self.offer_dm, custom_id=f"cw:contract:{self.contract_id}:accept")
        assert self.reply(result) == self.t("ui.contract.accepted", contract_id=self.contract_id, title=s.title)
        await m.settle()
        assert disabled(refetch(m.worker.user.dm_channel, self.offer_dm)) == [True, True]

        # the private thread: both parties in it, the terms pinned, nobody else
        [thread] = m.contracts.threads
        self.thread = thread
        assert thread.name == self.t("ui.contract.thread_name", contract_id=self.contract_id, title=s.title)
        card_post, opened = self.thread_posts()
        assert thread.pinned_messages() == [card_post]
        [card] = card_post.embeds
        assert card.title == self.t("ui.contract.card_title", contract_id=self.contract_id, title=s.title)
        assert fields(card)[self.t("ui.contract.field_price")] == self.yen(PRICE)
        assert s.scope in (card.description or "")
        assert opened.content == self.t("thread.opened", contract_id=self.contract_id, title=s.title,
                                        client_id=m.client.mention, worker_id=m.worker.mention)  # fmt: skip
        for party in (m.client, m.worker):
            assert thread.history(viewer=party)
        try:
            thread.history(viewer=m.outsider)
        except simcord.SetupError:
            pass
        else:  # pragma: no cover
            raise AssertionError("an outsider can read the contract thread")

        # the client is asked to pay into escrow
        told = self.one_dm(m.client)
        assert told.content == self.t("notify.offer_accepted_client", contract_id=self.contract_id,
                                      worker_id=m.worker.mention, title=s.title,
                                      price_amount=self.yen(PRICE))  # fmt: skip
        assert buttons(told) == [f"cw:escrow:{self.contract_id}:deposit"]
        assert labels(told) == [self.t("button.escrow.deposit")]
        self.deposit_dm = told
        self.nothing_new(m.worker)

        # one position, now filled: the post says so and takes no more applications
        post = self.board()
        shown = fields(post.embeds[0])
        assert shown[self.t("ui.job.embed.status")] == self.status("filled")
        assert shown[self.t("ui.job.embed.positions")] == self.t("ui.job.positions", filled=1, positions=1)
        assert buttons(post) == []

    async def deposit(self) -> None:
        m, s = self.market, self.story
        m.clock.advance(days=1)  # the client pays the next day
        shown = await m.client.user.click(self.deposit_dm, custom_id=f"cw:escrow:{self.contract_id}:deposit")
        assert shown.modal is not None
        assert shown.modal["title"] == self.t("ui.escrow.deposit_modal_title", contract_id=self.contract_id)
        result = await m.client.user.submit_modal(shown, {"reference": s.reference})

        assert self.reply(result) == self.t("ui.escrow.declared", contract_id=self.contract_id,
                                            amount=self.yen(PRICE))  # fmt: skip
        await m.settle()
        assert disabled(refetch(m.client.user.dm_channel, self.deposit_dm)) == [True]
        [note] = self.inbox.new(m.mod)  # the first thing the moderators hear of this contract
        assert note.id in [post.id for post in m.mod.history(viewer=m.moderator)]
        try:
            m.mod.history(viewer=m.client)
        except simcord.SetupError:
            pass
        else:  # pragma: no cover
            raise AssertionError("a client can read the mod channel")
        assert note.content == m.moderators_pinged + self.t("mod.deposit_declared", client_id=m.client.mention,
                                      deposit_amount=self.yen(PRICE), contract_id=self.contract_id,
                                      reference=s.reference)  # fmt: skip
        assert buttons(note) == [f"cw:escrow:{self.contract_id}:confirm"]
        assert labels(note) == [self.t("button.escrow.confirm")]
        told = self.one_dm(m.worker)
        assert told.content == self.t("notify.deposit_declared_worker", deposit_amount=self.yen(PRICE),
                                      contract_id=self.contract_id)  # fmt: skip
        self.nothing_new(m.client, m.moderator)

    async def confirm(self) -> None:
        m = self.market
        m.clock.advance(hours=2)
        result = await m.moderator.slash(m.general, "escrow confirm", contract=self.contract_id)
        assert self.reply(result) == self.t("ui.escrow.confirmed", contract_id=self.contract_id,
                                            amount=self.yen(PRICE))  # fmt: skip
        await m.settle()
        due = format_time(m.clock.now() + timedelta(days=7))  # counted from the confirmation
        assert self.one_dm(m.worker).content == self.t("notify.funded_worker", contract_id=self.contract_id,
                                                       due_at=due)  # fmt: skip
        assert self.one_dm(m.client).content == self.t("notify.funded_client", contract_id=self.contract_id,
                                                       deposit_amount=self.yen(PRICE), due_at=due)  # fmt: skip
        assert [p.content for p in self.thread_posts()] == [
            self.t("thread.funded", contract_id=self.contract_id, due_at=due)
        ]
        self.nothing_new(m.moderator)

    async def deliver(self, file: tuple[str, bytes], note: str | None) -> None:
        m = self.market
        m.clock.advance(days=1)
        options: dict[str, Any] = {"contract": self.contract_id, "file": file}
        if note is not None:
            options["note"] = note
        result = await m.worker.slash(m.general, "deliver", **options)

        delivery_id = await self.db_value("SELECT MAX(id) FROM deliveries WHERE contract_id = ?", self.contract_id)
        line = self.file_line(*file)
        assert self.reply(result) == self.t("ui.delivery.done", contract_id=self.contract_id,
                                            delivery_id=delivery_id, files=line)  # fmt: skip
        await m.settle()

        # the client: the file's name and hash (the file itself is in the thread), two buttons
        told = self.one_dm(m.client)
        assert told.content == self.t("notify.delivered_client", contract_id=self.contract_id,
                                      delivery_id=delivery_id, files=line, note=note or "-")  # fmt: skip
        assert buttons(told) == [f"cw:review:{self.contract_id}:approve", f"cw:review:{self.contract_id}:revise"]
        assert labels(told) == [self.t("button.review.approve"), self.t("button.review.revise")]
        self.delivery_dm = told

        # the thread: the file itself, re-posted from the bot's storage, with its hash
        [post] = self.thread_posts()
        assert post.content == self.t("thread.delivered", contract_id=self.contract_id, delivery_id=delivery_id,
                                      files=line, note=note or "-")  # fmt: skip
        assert [(a.filename, await a.read()) for a in post.attachments] == [file]
        self.nothing_new(m.worker)

    async def request_revision(self) -> None:
        m, s = self.market, self.story
        m.clock.advance(days=1)
        shown = await m.client.user.click(self.delivery_dm, custom_id=f"cw:review:{self.contract_id}:revise")
        assert shown.modal is not None
        assert shown.modal["title"] == self.t("ui.review.modal_title", contract_id=self.contract_id)
        result = await m.client.user.submit_modal(shown, {"reason": s.revision})

        revision_id = await self.db_value("SELECT id FROM revision_requests WHERE contract_id = ?", self.contract_id)
        assert self.reply(result) == self.t("ui.scope.revised", contract_id=self.contract_id,
                                            revision_id=revision_id, version=1)  # fmt: skip
        await m.settle()
        assert disabled(refetch(m.client.user.dm_channel, self.delivery_dm)) == [True, True]
        # the worker sees the request next to the current terms, and answers it
        told = self.one_dm(m.worker)
        assert told.content == self.t("notify.scope_revision_included", contract_id=self.contract_id,
                                      revision_id=revision_id, used=1, allowed=2, reason=s.revision, reverts="-",
                                      version=1, scope=s.scope)  # fmt: skip
        assert labels(told) == [self.t("button.revision.accept"), self.t("button.revision.scope")]
        assert [p.content for p in self.thread_posts()] == [
            self.t("thread.scope_revision", contract_id=self.contract_id, revision_id=revision_id, used=1, allowed=2,
                   reason=s.revision, reverts="-", version=1)
        ]
        self.nothing_new(m.client)
        result = await m.worker.user.click(told, custom_id=f"cw:revision:{revision_id}:accept")
        assert self.reply(result) == self.t("ui.scope.accepted", contract_id=self.contract_id,
                                            revision_id=revision_id)  # fmt: skip
        await m.settle()
        assert self.one_dm(m.client).content == self.t("notify.scope_revision_accepted", contract_id=self.contract_id,
                                                       revision_id=revision_id)  # fmt: skip

    async def approve(self) -> None:
        m = self.market
        m.clock.advance(days=1)
        result = await m.client.user.click(self.delivery_dm, custom_id=f"cw:review:{self.contract_id}:approve")
        assert self.reply(result) == self.t("ui.review.approved", contract_id=self.contract_id)
        await m.settle()
        assert disabled(refetch(m.client.user.dm_channel, self.delivery_dm)) == [True, True]

        money = {"contract_id": self.contract_id, "payout_amount": self.yen(PAYOUT), "fee_amount": self.yen(FEE)}
        rate = self.t("notify.rate_prompt", contract_id=self.contract_id)
        assert [dm.content for dm in self.inbox.dms(m.worker)] == [self.t("notify.approved_worker", **money), rate]
        assert [dm.content for dm in self.inbox.dms(m.client)] == [self.t("notify.approved_client", **money), rate]
        assert [p.content for p in self.thread_posts()] == [self.t("thread.completed", **money)]

    async def rate(self) -> None:
        m, s = self.market, self.story
        result = await m.client.slash(m.general, "rate", contract=self.contract_id, stars=5, comment=s.client_comment)
        assert self.reply(result) == self.t("ui.rate.done", contract_id=self.contract_id,
                                            user=m.worker.mention, stars="★★★★★")  # fmt: skip
        await m.settle()
        assert self.one_dm(m.worker).content == self.t("notify.rated_by_other", contract_id=self.contract_id)
        self.nothing_new(m.client)

        # blind: the worker's profile does not show the client's rating yet, to anyone
        for viewer in (m.worker, m.client, m.outsider):
            shown = await self.worker_figures(viewer)
            assert shown == self.worker_details(rating=self.t("ui.figures.no_rating")), viewer.name

        result = await m.worker.slash(m.general, "rate", contract=self.contract_id, stars=4, comment=s.worker_comment)
        assert self.reply(result) == self.t("ui.rate.done", contract_id=self.contract_id,
                                            user=m.client.mention, stars="★★★★☆")  # fmt: skip
        await m.settle()
        revealed = self.t("notify.ratings_revealed", contract_id=self.contract_id)
        assert self.one_dm(m.client).content == revealed
        assert self.one_dm(m.worker).content == revealed

        # both rated: both ratings show, with the client's figures a worker reads before applying
        assert await self.worker_figures(m.outsider) == self.worker_details(
            rating=self.t("ui.figures.rating", average="5.0", count=1)
        )
        result = await m.outsider.slash(m.general, "profile view", user=m.client)
        [embed] = self.answer(result).embeds
        assert fields(embed)[self.t("ui.profile.as_client")] == self.t(
            "ui.figures.client_details", jobs=1, completed=1, cancelled=0, fund=s.one_day, review=s.one_day,
            escalations=0, reverts=0, rating=self.t("ui.figures.rating", average="4.0", count=1),
        )  # fmt: skip

    async def worker_figures(self, viewer: simcord.MemberActor) -> str | None:
        m = self.market
        result = await viewer.slash(m.general, "profile view", user=m.worker)
        [embed] = self.answer(result).embeds
        return fields(embed)[self.t("ui.profile.as_worker")]

    def worker_details(self, rating: str) -> str:
        return self.t("ui.figures.worker_details", completed=1, on_time="100%", rating=rating)

    async def pay_out(self) -> None:
        m, s = self.market, self.story
        # the worker leaves private payout details for the moderators
        shown = await m.worker.slash(m.general, "profile payout")
        assert shown.modal is not None
        saved = await m.worker.submit_modal(shown, {"details": s.payout_details})
        assert self.reply(saved) == self.t("ui.profile.payout_saved")

        result = await m.moderator.slash(m.general, "mod balance", user=m.worker)
        assert self.reply(result) == self.t("ui.mod.balance_user", user=m.worker.mention, owed=self.yen(PAYOUT),
                                            refund=self.yen(0), total=self.yen(PAYOUT))  # fmt: skip
        result = await m.moderator.slash(m.general, "mod balance")
        totals = self.t("ui.mod.balance_guild", escrow=self.yen(0), owed=self.yen(PAYOUT), refund=self.yen(0),
                        fees=self.yen(FEE))  # fmt: skip
        assert self.reply(result).startswith(f"{totals}\n\n{self.t('ui.money.owed_header')}\n")  # then who is owed

        result = await m.moderator.slash(m.general, "mod payout", user=m.worker, amount=float(PAYOUT),
                                         reference=s.payout_reference)  # fmt: skip
        assert self.reply(result) == self.t("ui.mod.payout_done", user=m.worker.mention,
                                            reference=s.payout_reference, owed=self.yen(0),
                                            details=s.payout_details)  # fmt: skip
        await m.settle()
        assert self.one_dm(m.worker).content == self.t("notify.payout_recorded", paid_amount=self.yen(PAYOUT),
                                                       reference=s.payout_reference)  # fmt: skip
        self.nothing_new(m.client, m.moderator)

        result = await m.moderator.slash(m.general, "mod balance", user=m.worker)
        assert self.reply(result) == self.t("ui.mod.balance_user", user=m.worker.mention, owed=self.yen(0),
                                            refund=self.yen(0), total=self.yen(0))  # fmt: skip
        # the payout details were only ever in the moderator's ephemeral answer
        for channel in (m.general, m.jobs, m.mod, m.contracts):
            assert all(s.payout_details not in message.content for message in channel.history()
                       if not message.flags.ephemeral)  # fmt: skip

    async def history(self) -> None:
        m, s = self.market, self.story
        result = await m.worker.slash(m.general, "contract history", contract=self.contract_id)
        messages = [result.response, *result.followups]
        assert all(message is not None and message.ephemeral for message in messages)
        first = messages[0]
        assert first is not None
        assert first.content == self.t("ui.contract.history_intro", contract_id=self.contract_id,
                                       pages=len(messages))  # fmt: skip
        text = "\n".join(message.embeds[0].description or "" for message in messages if message is not None)
        assert self.t("ui.contract.history_versions") in text
        assert f"> {s.scope}" in text
        assert self.t("ui.contract.history_revisions") in text and f"> {s.revision}" in text
        for name, data in (DRAFT, REVISED):
            assert sha(data) in text and name in text
        for event in ("contract_offered", "contract_accepted", "escrow_declared", "escrow_confirmed",
                      "delivery_submitted", "revision_requested", "revision_accepted", "delivery_approved",
                      "rating_given"):  # fmt: skip
            assert self.t(f"ui.contract.event.{event}") in text, event

        [attachment] = first.attachments
        assert attachment.filename == f"contract-{self.contract_id}-history.json"
        document = json.loads(await attachment.read())
        assert document["contract"]["status"] == "completed"
        assert [v["scope"] for v in document["terms_versions"]] == [s.scope]
        assert [r["reason"] for r in document["revision_requests"]] == [s.revision]
        hashes = [[f["sha256"] for f in d["files"]] for d in document["deliveries"]]
        assert hashes == [[sha(DRAFT[1])], [sha(REVISED[1])]]
        assert [d["reference"] for d in document["deposits"]] == [s.reference]
        kinds = [e["kind"] for e in document["events"]]
        assert kinds[0] == "contract.offered" and "delivery.approved" in kinds

    async def check_the_database(self) -> None:
        db = self.market.services.db
        contract = await db.fetchone("SELECT status FROM contracts WHERE id = ?", (self.contract_id,))
        assert contract is not None and contract["status"] == "completed"
        job = await db.fetchone("SELECT status FROM jobs WHERE id = ?", (self.job_id,))
        assert job is not None and job["status"] == "filled"
        balances = {
            row["account"]: row["balance"]
            for row in await db.fetchall("SELECT account, SUM(amount) AS balance FROM ledger_entries GROUP BY account")
        }
        worker = self.market.worker.id
        assert balances[f"escrow:{self.contract_id}"] == 0
        assert balances[f"owed:{worker}"] == 0
        assert balances["fees"] == FEE
        assert sum(balances.values()) == 0  # (the conftest checks every invariant at teardown too)


async def full_flow(market: Market, story: Story) -> Flow:
    flow = Flow(market, story)
    await flow.setup()
    await flow.post_job()
    await flow.apply()
    await flow.read_applications()
    await flow.offer()
    await flow.accept()
    await flow.deposit()
    await flow.confirm()
    await flow.deliver(DRAFT, story.note)
    await flow.request_revision()
    await flow.deliver(REVISED, None)
    await flow.approve()
    await flow.rate()
    await flow.pay_out()
    await flow.history()
    await flow.check_the_database()
    return flow


async def test_the_whole_lifecycle_in_english(market: Market) -> None:
    await full_flow(market, ENGLISH)


async def test_the_whole_lifecycle_in_japanese(market: Market) -> None:
    market.guild_locale = "ja"
    for member in (market.admin, market.moderator, market.client, market.worker, market.outsider):
        market.set_locale(member, "ja")
    flow = await full_flow(market, JAPANESE)

    # every kind of message was in Japanese, not only the ones compared above
    def japanese(text: str) -> bool:
        return any("\u3040" <= ch <= "\u30ff" for ch in text)  # hiragana or katakana

    received = flow.inbox.received
    dms = [m for member in (market.client, market.worker) for m in received[member.user.dm_channel.id]]
    assert flow.thread is not None

    def text(message: discord.Message | simcord.ResponseMessage) -> str:
        return message.content + "".join(str(embed.to_dict()) for embed in message.embeds)

    kinds = {
        "ephemeral answer": [text(m) for m in flow.replies],
        "DM": [text(m) for m in dms],
        "contract thread": [text(m) for m in received[flow.thread.id]],
        "mod channel": [text(m) for m in received[market.mod.id]],
        "job board": [text(m) for m in market.jobs.history()],
    }
    for kind, texts in kinds.items():
        assert texts, kind
        for shown in texts:
            assert japanese(shown), f"{kind} not in Japanese: {shown!r}"
    assert any("40,500円" in m.content for m in received[market.worker.user.dm_channel.id])
