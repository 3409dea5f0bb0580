"""Thin adapters: parse the interaction, call one service, render the answer.

For cog authors:
- Add the module to ``bot.app.COGS``; button modules to ``bot.app.BUTTON_MODULES``.
- ``GroupCog`` per resource; put ``@app_commands.guild_only()`` on the *class*:
  discord.py ignores ``guild_only`` on a subcommand (it only sets the top-level
  command's contexts), and the tree-walk test checks the root commands.
- Moderator commands: ``@is_moderator()`` (bot/checks.py); in buttons and modals
  ``await require_moderator(interaction)``.
- Raise ``MarketError`` (or let the service raise it): the tree renders it ephemeral and
  localized. If a callback defers and may still refuse, defer with ``ephemeral=True``
  (a followup after a public "thinking" defer becomes that public message).
- Every name and description you write needs a ``cmd.*`` entry in both languages (see
  bot/i18n/translator.py), kept with the feature's other messages in
  ``bot/i18n/locales/{en,ja}/<feature>.toml``; tests walk the tree and fail on a missing or
  invalid one.
- Buttons in DMs: the interaction has no ``guild_id``; take the guild from the target.
"""
