from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.config import ConfigError, Settings, parse_database_url
from bot.models.policies import POLICY_SPECS

TOKEN = {"DISCORD_TOKEN": "abc.def.ghi"}


def from_env(env: dict[str, str], **kwargs: object) -> Settings:
    return Settings.from_env(env, env_file=None, **kwargs)  # type: ignore[arg-type]


def refused(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as error:
        from_env({**TOKEN, **env})
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("env", [{}, {"DISCORD_TOKEN": ""}, {"DISCORD_TOKEN": "   "}])
def test_missing_token_is_one_clear_line(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as error:
        from_env(env)
    assert "DISCORD_TOKEN" in str(error.value)
    assert "\n" not in str(error.value)


def test_token_not_required_for_db_commands() -> None:
    assert from_env({}, require_token=False).discord_token == ""


def test_defaults() -> None:
    settings = from_env(dict(TOKEN))
    assert settings.discord_token == "abc.def.ghi"
    assert settings.database_path == Path("data/bot.db")
    assert settings.files_dir == Path("data/files")
    assert settings.dev_guild_id is None
    assert settings.log_level == "INFO"
    assert settings.scheduler_tick == timedelta(seconds=60)
    assert settings.currency == "JPY"
    assert settings.max_file_bytes == 25 * 1024 * 1024
    assert dict(settings.policy_defaults) == {name: spec.default for name, spec in POLICY_SPECS.items()}


def test_values_are_read() -> None:
    settings = from_env(
        {
            **TOKEN,
            "DATABASE_URL": "sqlite:////var/lib/crowdwork/bot.db",
            "FILES_DIR": "/srv/files",
            "DEV_GUILD_ID": "123456789012345678",
            "LOG_LEVEL": "debug",
            "SCHEDULER_TICK": "5m",
            "CURRENCY": "usd",
            "MAX_FILE_SIZE_MB": "8",
            "ESCROW_ESCALATE_AFTER": "36h",
            "FEE_PERCENT": "12",
        }
    )
    assert settings.database_path == Path("/var/lib/crowdwork/bot.db")
    assert settings.files_dir == Path("/srv/files")
    assert settings.dev_guild_id == 123456789012345678
    assert settings.log_level == "DEBUG"
    assert settings.scheduler_tick == timedelta(minutes=5)
    assert settings.currency == "USD"
    assert settings.max_file_bytes == 8 * 1024 * 1024
    assert settings.policy_defaults["escrow_escalate_after"] == "1d12h"
    assert settings.policy_defaults["fee_percent"] == "12"


def test_metrics_are_off_unless_a_port_is_set() -> None:
    assert (from_env(TOKEN).metrics_port, from_env(TOKEN).metrics_host) == (None, "127.0.0.1")
    settings = from_env({**TOKEN, "METRICS_PORT": "9464", "METRICS_HOST": "0.0.0.0"})
    assert (settings.metrics_port, settings.metrics_host) == (9464, "0.0.0.0")


def test_empty_values_mean_the_default() -> None:
    settings = from_env({**TOKEN, "SCHEDULER_TICK": "", "CURRENCY": " ", "FEE_PERCENT": ""})
    assert settings.scheduler_tick == timedelta(seconds=60)
    assert settings.currency == "JPY"
    assert settings.policy_defaults["fee_percent"] == "10"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCHEDULER_TICK", "soon"),
        ("SCHEDULER_TICK", "0s"),
        ("ESCROW_ESCALATE_AFTER", "soon"),
        ("REMINDER_REPEAT_EVERY", "0s"),
        ("FEE_PERCENT", "101"),
        ("MAX_OPEN_JOBS", "lots"),
        ("CURRENCY", "DOGE"),
        ("LOG_LEVEL", "LOUD"),
        ("DEV_GUILD_ID", "my-server"),
        ("DEV_GUILD_ID", "²"),
        ("MAX_FILE_SIZE_MB", "0"),
        ("MAX_FILE_SIZE_MB", "2.5"),
        ("DATABASE_URL", "postgres://localhost/bot"),
        ("METRICS_PORT", "http"),
        ("METRICS_PORT", "0"),
        ("METRICS_PORT", "70000"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    assert name in refused({name: value})


DURATIONS = "90s, 15m, 2h, 3d or 1d12h"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FEE_PERCENT", "150", "FEE_PERCENT='150': expected a whole percent from 0 to 100"),
        ("FEE_PERCENT", "7.5", "FEE_PERCENT='7.5': expected a whole percent from 0 to 100"),
        ("FEE_PERCENT", "-1", "FEE_PERCENT='-1': expected a whole percent from 0 to 100"),
        ("ESCROW_ESCALATE_AFTER", "3x", f"ESCROW_ESCALATE_AFTER='3x': expected a duration such as {DURATIONS}"),
        ("POST_COOLDOWN", "1h1d", f"POST_COOLDOWN='1h1d': expected a duration such as {DURATIONS}"),
        ("RATING_REVEAL_AFTER", "7", f"RATING_REVEAL_AFTER='7': expected a duration such as {DURATIONS}"),
        (
            "REMINDER_REPEAT_EVERY",
            "0s",
            f"REMINDER_REPEAT_EVERY='0s': expected a duration above zero such as {DURATIONS}",
        ),
        ("MAX_BUDGET", "0", "MAX_BUDGET='0': expected a whole number from 1 to 1000000000000"),
        ("MAX_OPEN_JOBS", "lots", "MAX_OPEN_JOBS='lots': expected a whole number from 1 to 10000"),
        ("MAX_OPEN_APPLICATIONS", "10001", "MAX_OPEN_APPLICATIONS='10001': expected a whole number from 1 to 10000"),
        ("SCHEDULER_TICK", "soon", "SCHEDULER_TICK='soon': expected a duration of at least 1s such as 30s, 60s or 5m"),
        ("SCHEDULER_TICK", "0s", "SCHEDULER_TICK='0s': expected a duration of at least 1s such as 30s, 60s or 5m"),
    ],
)
def test_a_bad_value_says_what_is_expected(name: str, value: str, message: str) -> None:
    assert refused({name: value}) == message


@pytest.mark.parametrize("name", list(POLICY_SPECS))
def test_every_policy_variable_says_what_it_expects(name: str) -> None:
    spec = POLICY_SPECS[name]
    message = refused({spec.env_name: "soon!"})
    assert message.startswith(f"{spec.env_name}='soon!': expected a ")
    if spec.kind == "duration":
        assert message.endswith(f"duration such as {DURATIONS}") or "above zero" in message
    else:
        word = "percent" if spec.kind == "percent" else "number"
        assert message.endswith(f"whole {word} from {spec.minimum} to {spec.maximum}")


def test_every_policy_has_its_variable() -> None:
    for name, spec in POLICY_SPECS.items():
        value = "7d" if spec.kind == "duration" else "7"
        assert from_env({**TOKEN, name.upper(): value}).policy_defaults[name] == value


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/bot.db", Path("data/bot.db")),
        ("sqlite:////var/lib/bot.db", Path("/var/lib/bot.db")),
        ("sqlite:///bot.db", Path("bot.db")),
    ],
)
def test_database_url(url: str, path: Path) -> None:
    assert parse_database_url(url) == path


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://data/bot.db", "data/bot.db", "postgresql://x/y", ""])
def test_database_url_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        parse_database_url(url)


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nDISCORD_TOKEN=from-file\nCURRENCY=USD\nFEE_PERCENT=15\nDEV_GUILD_ID=\n", encoding="utf-8"
    )
    settings = Settings.from_env({"FEE_PERCENT": "20"}, env_file=env_file)
    assert settings.discord_token == "from-file"
    assert settings.currency == "USD"
    assert settings.policy_defaults["fee_percent"] == "20"
    assert settings.dev_guild_id is None


def test_missing_env_file_is_fine(tmp_path: Path) -> None:
    settings = Settings.from_env(dict(TOKEN), env_file=tmp_path / "absent.env")
    assert settings.discord_token == "abc.def.ghi"


ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_env_example_lists_every_variable_and_loads() -> None:
    names = set(dotenv_values(ENV_EXAMPLE))
    expected = {
        "DISCORD_TOKEN", "DATABASE_URL", "FILES_DIR", "DEV_GUILD_ID", "LOG_LEVEL", "DISCORD_LOG_LEVEL",
        "LOG_FORMAT", "SCHEDULER_TICK", "CURRENCY", "MAX_FILE_SIZE_MB", "RECORD_THREAD_MESSAGES",
        "METRICS_PORT", "METRICS_HOST",
        "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "WEB_PORT", "WEB_HOST", "WEB_BASE_URL",
        *(spec.env_name for spec in POLICY_SPECS.values()),
    }  # fmt: skip
    assert names == expected
    settings = Settings.from_env({"DISCORD_TOKEN": "x"}, env_file=ENV_EXAMPLE)
    assert settings == Settings(discord_token="x")
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        Settings.from_env({}, env_file=ENV_EXAMPLE)


def test_every_bad_setting_is_listed() -> None:
    with pytest.raises(ConfigError) as error:
        from_env({"SCHEDULER_TICK": "soon", "CURRENCY": "XYZ", "LOG_FORMAT": "xml", "FEE_PERCENT": "150"})
    problems = error.value.problems
    assert [problem.split("=")[0].split(" ")[0] for problem in problems] == [
        "DISCORD_TOKEN", "LOG_FORMAT", "SCHEDULER_TICK", "CURRENCY", "FEE_PERCENT"
    ]
    assert str(error.value) == problems[0]
    assert all("\n" not in problem for problem in problems)


def test_repr_never_shows_the_token() -> None:
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.secretsecretsecret"
    settings = from_env({"DISCORD_TOKEN": token})
    for text in (repr(settings), str(settings), f"{settings!r}"):
        assert token not in text and "secretsecret" not in text and "discord_token" not in text
    assert "database_path=" in repr(settings)  # the rest is still there to debug with
    with pytest.raises(ConfigError) as error:
        from_env({"DISCORD_TOKEN": token, "CURRENCY": "XYZ"})
    assert error.value.partial is not None and token not in repr(error.value.partial)


@pytest.mark.parametrize(("value", "recorded"), [("true", True), ("ON", True), ("1", True), ("yes", True),
                                                 ("false", False), ("0", False), ("off", False), ("", False)])
def test_record_thread_messages_is_an_opt_in(value: str, recorded: bool) -> None:
    assert from_env({**TOKEN, "RECORD_THREAD_MESSAGES": value}).record_thread_messages is recorded
    assert from_env(dict(TOKEN)).record_thread_messages is False


def test_record_thread_messages_refuses_other_words() -> None:
    assert refused({**TOKEN, "RECORD_THREAD_MESSAGES": "sometimes"}) == (
        "RECORD_THREAD_MESSAGES='sometimes' is not true or false"
    )
