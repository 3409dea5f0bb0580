"""The catalogues: every key in every language with the same placeholders.

Iterates whatever catalogue files exist, so it keeps checking as features add messages.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import discord
import pytest
from babel import Locale

from bot import i18n
from bot.errors import (
    CooldownActive,
    InvalidInput,
    LimitReached,
    MarketError,
    NotAllowed,
    NotConfigured,
    NotFound,
    WrongState,
)
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, LOCALES_DIR, catalogue, language_of, placeholders, t
from bot.models.states import CONTRACT_TRANSITIONS, ContractStatus
from bot.services.cases import ALL_ACTIONS
from bot.ui.contract_views import event_label
from bot.ui.format import format_args


def test_every_locale_directory_is_a_known_language() -> None:
    assert {path.name for path in LOCALES_DIR.iterdir() if path.is_dir()} == set(LANGUAGES)


def test_every_language_has_the_same_files() -> None:
    files = {lang: sorted(p.name for p in (LOCALES_DIR / lang).glob("*.toml")) for lang in LANGUAGES}
    assert files[DEFAULT_LANGUAGE], "no catalogue files"
    for lang in LANGUAGES:
        assert files[lang] == files[DEFAULT_LANGUAGE], lang


def test_every_file_parses() -> None:
    for path in LOCALES_DIR.glob("*/*.toml"):
        with path.open("rb") as fh:
            tomllib.load(fh)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE])
def test_same_keys_in_every_language(language: str) -> None:
    reference, other = catalogue(DEFAULT_LANGUAGE), catalogue(language)
    assert sorted(set(reference) - set(other)) == [], f"missing in {language}"
    assert sorted(set(other) - set(reference)) == [], f"only in {language}"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE])
def test_same_placeholders_in_every_language(language: str) -> None:
    reference, other = catalogue(DEFAULT_LANGUAGE), catalogue(language)
    mismatched = {
        key: (sorted(placeholders(reference[key])), sorted(placeholders(other[key])))
        for key in set(reference) & set(other)
        if placeholders(reference[key]) != placeholders(other[key])
    }
    assert mismatched == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_messages(language: str) -> None:
    assert [key for key, text in catalogue(language).items() if not text.strip()] == []


@pytest.mark.parametrize(
    "error", [MarketError, NotFound, NotAllowed, WrongState, InvalidInput, CooldownActive, LimitReached,
              NotConfigured]
)  # fmt: skip
def test_every_error_default_key_is_translated(error: type[MarketError]) -> None:
    for language in LANGUAGES:
        assert error.default_key in catalogue(language)


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("ja", "ja"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("fr", "en"),
        (None, "en"),
        ("", "en"),
        (discord.Locale.japanese, "ja"),
        (discord.Locale.american_english, "en"),
    ],
)
def test_language_of(locale: object, language: str) -> None:
    assert language_of(locale) == language


def test_t_formats_in_the_users_language() -> None:
    english = t("en-US", "error.unexpected", code="E42")
    japanese = t("ja", "error.unexpected", code="E42")
    assert "E42" in english
    assert "E42" in japanese
    assert english != japanese
    assert "{" not in english


def test_placeholders() -> None:
    assert placeholders("Job {job_id} by {user}: {amount}") == {"job_id", "user", "amount"}
    assert placeholders("no fields") == set()


def test_unknown_key_is_returned_as_is() -> None:
    assert t("en", "no.such.key") == "no.such.key"
    assert not i18n.has("no.such.key")
    assert i18n.has("error.not_found")


def test_missing_argument_does_not_raise() -> None:
    assert t("en", "error.unexpected") == catalogue("en")["error.unexpected"]


# -- event labels in /contract history ---------------------------------------------------------

SERVICES_DIR = Path(__file__).resolve().parent.parent / "bot" / "services"


def _reason_kinds() -> set[str]:
    """Every case reason: each one has its card in the mod channel (``case.card.<reason>``)."""
    return {key.removeprefix("case.card.") for key in catalogue(DEFAULT_LANGUAGE) if key.startswith("case.card.")}


# The values an f-string kind takes, from the code's own definitions. A new f-string kind
# fails the test below until it is listed here.
EXPANSIONS: dict[str, Callable[[], set[str]]] = {
    # an offer that ended: decline, withdraw, expire (ContractService._end_offer)
    "contract.{target}": lambda: {
        str(CONTRACT_TRANSITIONS[(ContractStatus.OFFERED, action)].target)
        for action in ("decline", "withdraw", "expire")
    },
    "delivery.{outcome}": lambda: {"approved", "auto_approved"},
    "revision.extra_{kind}": lambda: {"accepted", "declined"},
    "case.opened.{reason_kind}": _reason_kinds,
    "case.{action}": lambda: set(ALL_ACTIONS),
}


def _template(node: ast.JoinedStr) -> str:
    return "".join(
        part.value if isinstance(part, ast.Constant) else "{" + ast.unparse(part.value) + "}"
        for part in node.values
        if isinstance(part, ast.Constant | ast.FormattedValue)
    )


def contract_event_kinds() -> set[str]:
    """Every ``kind`` a ``record_event`` call in bot/services writes with a contract: the
    events ``/contract history`` lists (the others, such as ``guild.setup``, have no contract
    and never show there)."""
    kinds: set[str] = set()
    for path in sorted(SERVICES_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name != "record_event":
                continue
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            contract = keywords.get("contract_id")
            if contract is None or (isinstance(contract, ast.Constant) and contract.value is None):
                continue
            kind = keywords.get("kind")
            where = f"{path.name}:{node.lineno}"
            if isinstance(kind, ast.Constant) and isinstance(kind.value, str):
                kinds.add(kind.value)
            elif isinstance(kind, ast.JoinedStr):
                template = _template(kind)
                assert template in EXPANSIONS, f"{where}: add the values of {template!r} to EXPANSIONS"
                assert template.count("{") == 1, f"{where}: one placeholder per kind template"
                prefix, _, rest = template.partition("{")
                suffix = rest.partition("}")[2]
                kinds.update(f"{prefix}{value}{suffix}" for value in EXPANSIONS[template]())
            else:
                raise AssertionError(f"{where}: record_event kind is not a string or an f-string")
    return kinds


def test_the_collector_finds_the_recorded_kinds() -> None:
    kinds = contract_event_kinds()
    assert {"contract.offered", "contract.declined", "case.settled", "case.release", "delivery.auto_approved",
            "case.opened.overdue"} <= kinds  # fmt: skip
    assert "guild.setup" not in kinds


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_contract_event_has_a_label(language: str) -> None:
    """``/contract history`` shows each event by its label (bot/ui/contract_views.py
    ``event_label``); a kind without one would show as a raw code."""
    messages = catalogue(language)
    missing = sorted(
        kind for kind in contract_event_kinds() if f"ui.contract.event.{kind.replace('.', '_')}" not in messages
    )
    assert missing == []
    for kind in contract_event_kinds():
        assert not event_label(kind, language).startswith("`"), kind


# -- plural forms (CLDR rules from Babel) and every message rendered ---------------------------

COUNTED_NOUNS = (
    "days|hours|minutes|weeks|months|files|revisions|jobs|applications|characters|pages|cases|contracts|"
    "changes|times|messages|workers|items|positions|ratings|reviews|proposals|deliveries|reminders"
)
# a count placeholder followed by a plural noun ("{days} days"); ids are not counts
# ("#{contract_id} reviews the delivery")
COUNT_BEFORE_NOUN = re.compile(rf"\{{(?!\w*_id\}})(\w+)\}}[ -]?(?:open )?(?:{COUNTED_NOUNS})\b")
ONE_BEFORE_PLURAL = re.compile(rf"(?<![\d.,])1 (?:open )?(?:{COUNTED_NOUNS})\b")
SAMPLE_AT = "2026-01-05T09:00:00+00:00"


def plural_messages(language: str) -> dict[str, i18n.Plural]:
    return {key: text for key, text in catalogue(language).items() if isinstance(text, i18n.Plural)}


def test_plural_entries_parse_into_forms() -> None:
    days = catalogue("en")["deadline.days"]
    assert isinstance(days, i18n.Plural)
    assert (days.count_arg, days.forms) == ("days", {"one": "{days} day", "other": "{days} days"})
    assert placeholders(days) == {"days"}
    assert (t("en", "deadline.days", days=1), t("en", "deadline.days", days=2), t("ja", "deadline.days", days=1)) == (
        "1 day", "2 days", "1日",
    )  # fmt: skip
    # a count that is no number takes the ``other`` form, and a missing one does not raise
    assert t("en", "deadline.days", days="many") == "many days"
    assert t("en", "deadline.days") == "{days} days"


@pytest.mark.parametrize(
    "table",
    [{"_count": "n", "one": "{n} day"}, {"_count": "n", "other": "{n}", "several": "{n}"}, {"_count": 3, "other": "x"}],
)
def test_a_broken_plural_entry_is_refused_at_load(table: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="plural message"):
        i18n._flatten("", {"broken": table}, {})


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_entries_have_the_languages_cldr_categories(language: str) -> None:
    """Each plural message has exactly the categories Babel's CLDR rules use for the language
    (English ``one`` and ``other``, Japanese ``other``): none missing, none that never shows."""
    wanted = set(Locale.parse(language).plural_form.tags) | {"other"}
    wrong = {key: sorted(text.forms) for key, text in plural_messages(language).items() if set(text.forms) != wanted}
    assert wrong == {}
    assert plural_messages(language), "no plural messages"


def test_a_count_before_a_noun_is_a_plural_message() -> None:
    """No English message can say "1 days": a count followed by a noun is a plural message,
    whose ``one`` form says the noun in the singular."""
    singular_only = [key for key, text in catalogue("en").items()
                     if not isinstance(text, i18n.Plural) and COUNT_BEFORE_NOUN.search(text)]  # fmt: skip
    assert singular_only == []
    for key, text in plural_messages("en").items():
        assert "one" in text.forms, key
        assert not COUNT_BEFORE_NOUN.search(text.forms["one"]), key


def sample_args(template: str, count: int) -> dict[str, object]:
    """Sample values by placeholder name: amounts are minor units, times ISO, counts ``count``."""
    counted = template.count_arg if isinstance(template, i18n.Plural) else None
    args: dict[str, object] = {"currency": "JPY"}
    for name in placeholders(template):
        if name == counted:
            args[name] = count
        elif name.endswith("_amount"):
            args[name] = 45000
        elif name.endswith("_at"):
            args[name] = SAMPLE_AT
        elif name != "currency":
            args[name] = f"<{name}>"
    return args


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("count", [1, 2, 5])
def test_every_message_renders_with_sample_values(language: str, count: int) -> None:
    """Every key renders in every language with values for all its placeholders: a missing key,
    a broken template or a wrong form fails here, not in front of a user."""
    for key, template in catalogue(language).items():
        text = t(language, key, **format_args(sample_args(template, count), language))
        assert text != key and text.strip(), key
        left = [name for name in placeholders(template) if "{" + name + "}" in text]
        assert left == [], (key, text)
        if language == "en":
            assert not ONE_BEFORE_PLURAL.search(text), (key, text)
