"""Persistent buttons: ``DynamicItem`` subclasses whose custom id names their target.

Custom ids are ``cw:<resource>:<id>:<action>`` (e.g. ``cw:contract:42:accept``), so a
button keeps working after a restart: discord.py matches the id against the registered
templates and the callback reloads the state from the database.

Writing one (in the feature's ui module)::

    @register_button("contract", "accept")
    class AcceptOfferButton(MarketButton):
        label_key = "button.contract.accept"       # a catalogue key, shown in the reader's language
        style = discord.ButtonStyle.success

        async def run(self, interaction: discord.Interaction[MarketBot]) -> None:
            await interaction.response.defer(ephemeral=True)
            view = await interaction.client.services.contracts.accept(
                interaction.guild_id or 0, self.target_id, actor_id=interaction.user.id)
            await interaction.followup.send(..., ephemeral=True)

``run`` raises ``MarketError`` for refusals like any command; :class:`MarketButton` renders
every error with ``report_error`` (discord.py would only log it) and remembers the
clicker's locale first. Unexpected errors also go to ``bot.on_error``. A click in a DM is
refused first if the clicker is no longer a member of the target's server (one check for
every button: bot/checks.py ``require_member``).

Services name buttons in outbox rows as ``"<resource>:<id>:<action>"``;
:func:`build_view` turns such a list into a ``View`` (the outbox dispatcher does that).
The module with the button classes must be imported before the bot starts: list it in
``bot.app.BUTTON_MODULES``; ``registered_buttons()`` is what the bot registers.
"""

from __future__ import annotations

import logging
import re
import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import discord

from bot.checks import require_member
from bot.i18n import DEFAULT_LANGUAGE, t
from bot.tree import report_error

if TYPE_CHECKING:
    from bot.app import MarketBot

log = logging.getLogger(__name__)

PREFIX = "cw"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ANY_TEMPLATE = rf"{PREFIX}:(?P<resource>[a-z0-9_]+):(?P<id>[0-9]+):(?P<action>[a-z0-9_]+)"
MAX_BUTTONS = 25
# The resource whose guild a button's target id names (the review and escrow buttons carry a
# contract id); a button of any other resource has no guild to be a member of.
GUILD_RESOURCE = {
    "contract": "contract", "review": "contract", "escrow": "contract", "amendment": "amendment",
    "revision": "revision", "case": "case", "job": "job", "application": "application",
    "extension": "extension",
}  # fmt: skip

B = TypeVar("B", bound="type[MarketButton]")

# Filled by @register_button when the button modules are imported (class definitions,
# like discord.py's own command registration); never changed at run time.
_REGISTRY: dict[tuple[str, str], type[MarketButton]] = {}


def custom_id(resource: str, target_id: int, action: str) -> str:
    return f"{PREFIX}:{resource}:{target_id}:{action}"


class MarketButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_ANY_TEMPLATE):
    """Base class of every persistent button. Subclasses set ``label_key`` and ``style``
    and implement :meth:`run`; ``self.target_id`` is the id from the custom id."""

    resource: ClassVar[str] = ""
    action: ClassVar[str] = ""
    label_key: ClassVar[str] = ""
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init_subclass__(cls, **kwargs: Any) -> None:
        kwargs.setdefault("template", _ANY_TEMPLATE)
        super().__init_subclass__(**kwargs)

    def __init__(
        self,
        target_id: int,
        *,
        language: str = DEFAULT_LANGUAGE,
        label: str | None = None,
        row: int | None = None,
    ) -> None:
        if not self.resource:
            raise TypeError(f"{type(self).__name__} is not registered with @register_button")
        super().__init__(
            discord.ui.Button(
                label=label if label is not None else t(language, self.label_key),
                style=self.style,
                custom_id=custom_id(self.resource, target_id, self.action),
            ),
            row=row,
        )
        self.target_id = target_id
        self._guild_id: int | None = None

    async def guild_id(self, interaction: discord.Interaction[Any]) -> int:
        """The guild of the click, or, for a click in a DM, the guild of the button's target
        (looked up once per click; NotFound if the target is gone)."""
        if interaction.guild_id is not None:
            return interaction.guild_id
        if self._guild_id is None:
            owner = GUILD_RESOURCE.get(self.resource, self.resource)
            self._guild_id = await interaction.client.services.contracts.guild_of(owner, self.target_id)
        return self._guild_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MarketButton:
        label = getattr(item, "label", None)
        return cls(int(match["id"]), label=label)

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        bot: MarketBot = interaction.client
        await bot.note_locale(interaction)
        return True

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            if interaction.guild_id is None and self.resource in GUILD_RESOURCE:  # a DM: still a member?
                await require_member(interaction, await self.guild_id(interaction))
            await self.run(interaction)
        except Exception as error:
            code = await report_error(interaction, error)
            if code is not None:
                # Still inside the except block: bot.on_error reads sys.exc_info(), so the
                # error reaches the bot's error hook (and test harnesses) once, with its code.
                await interaction.client.on_error(f"button {self.custom_id}", interaction)
        else:
            interaction.client.metrics.finished(interaction, "ok")

    async def run(self, interaction: discord.Interaction[MarketBot]) -> None:
        raise NotImplementedError


def register_button(resource: str, action: str) -> Callable[[B], B]:
    """Class decorator: bind a ``MarketButton`` subclass to ``cw:<resource>:<id>:<action>``."""
    if not _NAME.match(resource) or not _NAME.match(action):
        raise ValueError(f"button names must be lower-case words: {resource}:{action}")

    def decorator(cls: B) -> B:
        if not issubclass(cls, MarketButton):
            raise TypeError(f"{cls.__name__} must subclass MarketButton")
        key = (resource, action)
        if key in _REGISTRY and _REGISTRY[key].__bases__[0] is not cls:
            raise ValueError(f"button {resource}:{action} is already registered by {_REGISTRY[key].__name__}")
        # DynamicItem takes its template as a class argument only (its public API), and the
        # decorator runs after the class statement: the registered class is a subclass that
        # passes the button's own template, under the same name.
        template = rf"{PREFIX}:{re.escape(resource)}:(?P<id>[0-9]+):{re.escape(action)}"
        namespace = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "resource": resource,
            "action": action,
        }
        registered = types.new_class(cls.__name__, (cls,), {"template": template}, lambda body: body.update(namespace))
        _REGISTRY[key] = registered
        return cast("B", registered)

    return decorator


def registered_buttons() -> list[type[MarketButton]]:
    return list(_REGISTRY.values())


def button_class(resource: str, action: str) -> type[MarketButton] | None:
    return _REGISTRY.get((resource, action))


def parse_spec(spec: str) -> tuple[str, int, str]:
    """``"contract:42:accept"`` -> ("contract", 42, "accept"); ValueError if malformed."""
    parts = spec.split(":")
    if len(parts) != 3 or not parts[1].isascii() or not parts[1].isdigit():
        raise ValueError(f"button spec {spec!r} is not <resource>:<id>:<action>")
    return parts[0], int(parts[1]), parts[2]


def button_items(button_specs: Iterable[str], language: str, *, limit: int = MAX_BUTTONS) -> list[MarketButton]:
    """The named persistent buttons, labelled in ``language`` (at most ``limit``).

    An unknown or malformed spec is logged and left out (the message still goes out).
    """
    items: list[MarketButton] = []
    for spec in button_specs:
        try:
            resource, target_id, action = parse_spec(spec)
        except ValueError:
            log.error("malformed button spec %r", spec)
            continue
        cls = button_class(resource, action)
        if cls is None:
            log.error("no button registered for %s:%s", resource, action)
            continue
        if len(items) >= limit:
            log.error("more than %s buttons; %r left out", limit, spec)
            break
        items.append(cls(target_id, language=language))
    return items


def build_view(button_specs: Iterable[str], language: str) -> discord.ui.View | None:
    """A persistent view with the named buttons, labelled in ``language``; None if empty."""
    view = discord.ui.View(timeout=None)
    for item in button_items(button_specs, language):
        view.add_item(item)
    return view if view.children else None


def button_retired(button: str, specs: Iterable[str]) -> bool:
    """Whether ``button`` (``<resource>:<id>:<action>``) is among the retired ``specs``
    (exact, ``<resource>:<id>:*`` or ``*``); see ``outbox.retire_buttons``."""
    return any(
        spec == "*" or spec == button or (spec.endswith(":*") and button.startswith(spec[:-1])) for spec in specs
    )


def disabled_view(message: discord.Message | None) -> discord.ui.View | None:
    """A copy of the message's buttons, all disabled (None if it has none)."""
    if message is None or not message.components:
        return None
    view = discord.ui.View.from_message(message, timeout=None)
    for item in view.children:
        if isinstance(item, discord.ui.Button):
            item.disabled = True
    view.stop()  # nothing to listen for: the buttons are disabled
    return view if view.children else None


async def disable_buttons(message: discord.Message | None) -> None:
    """Grey out every button of ``message`` (its action is done); a failure is only logged."""
    view = disabled_view(message)
    if message is None or view is None:
        return
    try:
        await message.edit(view=view, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as error:
        log.warning("could not disable the buttons of message %s: %s", message.id, error)
