"""Memory of the running bot with 100,000 contracts and 10,000 open jobs in its database.

    .venv/bin/python bench/memory.py [--contracts 100000] [--jobs 10000]

The parent process seeds the database (bench/_common.py); a fresh child process then
measures, reading VmRSS (resident now) and VmHWM (peak) from /proc/self/status:

1. after the imports (Python, discord.py, SimCord, the bot's modules);
2. after ``create_bot`` and start-up under SimCord (logged in, ``setup_hook`` done:
   database opened and migrated, services, cogs, dynamic items, dispatcher, scheduler,
   command sync; ready; the start-up sweep ran);
3. after ``/setup`` and 50 members joining;
4. after a few commands (``/job list``, ``/job post``, ``/contract view``, ``/contract
   list``, autocomplete of ``contract``, 10 each);
5. after 500 more commands in bursts of 50 (do caches stay bounded?).

The same process also holds SimCord (the fake Discord: its state, the transcript of every
event and request), which a production process does not; a reference child runs a bare
``discord.ext.commands.Bot`` with one command through the same steps to show that share.
Target: <= 150 MB for the bot.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import loadavg, print_machine, rss_mb, seed_and_report

TARGET_MB = 150.0


def child(tmp: Path, bare: bool) -> None:
    import asyncio
    import gc
    import random

    marks: list[tuple[str, float, float]] = []

    def mark(label: str) -> None:
        gc.collect()
        rss, hwm = rss_mb()
        marks.append((label, rss, hwm))
        print(f"  {'bare: ' if bare else ''}{label}: {rss:.1f} MB", file=sys.stderr, flush=True)

    import discord
    import simcord
    from _common import GUILD_ID
    from _simcord import autocomplete, build_world, burst, make_bot, quiet_scheduler, seed_member_contracts, slash
    from discord import app_commands
    from discord.ext import commands

    import bot.app  # noqa: F401  (the bot's modules, as `python -m bot` imports them)

    mark("imports (Python, discord.py, SimCord, bot modules)")

    async def run() -> None:
        if bare:
            client = commands.Bot(
                command_prefix="!", intents=discord.Intents.default(), help_command=None, max_messages=None
            )

            @app_commands.command(name="benchok", description="ok")
            async def benchok(interaction: discord.Interaction) -> None:
                await interaction.response.send_message("ok", ephemeral=True)

            client.tree.add_command(benchok)

            async def sync() -> None:
                await client.tree.sync()

            client.setup_hook = sync  # type: ignore[method-assign]
        else:
            client = make_bot(tmp / "bot.db", tmp / "files", ok_command=False)
        async with simcord.run(client, settle_timeout=300) as env:
            mark("started and ready" + (" (bare discord.py bot)" if bare else " (create_bot, setup_hook, sweep)"))
            if bare:
                guild = env.create_guild("Bench", id=GUILD_ID)
                general = guild.create_text_channel("general")
                members = [guild.add_member(env.create_user(f"member{i}")) for i in range(50)]
                mark("guild and 50 members")
                for _ in range(5):
                    await burst(env, [slash(m, general, "benchok") for m in members[:10]])
                mark("a few commands (50 'ok')")
                for _ in range(10):
                    await burst(env, [slash(m, general, "benchok") for m in members])
                mark("500 more commands")
                return
            quiet_scheduler(client)  # its 30 s wake-up timer would hold up every settle (bench/_simcord.py)
            world = await build_world(env, GUILD_ID, 50)
            seed_member_contracts(tmp / "bot.db", world, GUILD_ID)
            mark("/setup and 50 members")
            rng = random.Random(3)
            general = world.general

            def mixed(members: list[simcord.MemberActor], n: int) -> list:
                actions = []
                for i, member in enumerate(members):
                    kind = (i + n) % 5
                    if kind == 0:
                        actions.append(slash(member, general, "job list"))
                    elif kind == 1:
                        actions.append(
                            slash(
                                member,
                                general,
                                "job post",
                                title=f"Memory job {n}-{i}",
                                description="Translate a short manual.",
                                budget=12000,
                                deadline="5d",
                            )
                        )
                    elif kind == 2:
                        actions.append(
                            slash(member, general, "contract view", contract=rng.choice(world.contracts_of[member.id]))
                        )
                    elif kind == 3:
                        actions.append(slash(member, general, "contract list"))
                    else:
                        actions.append(autocomplete(member, general, "contract view", "contract", ""))
                return actions

            await burst(env, mixed(world.members, 0))
            errors = env.errors
            assert not errors, errors
            mark("a few commands (50: job list, job post, contract view, contract list, autocomplete)")
            started = time.perf_counter()
            for n in range(1, 11):
                await burst(env, mixed(world.members, n))
            errors = env.errors
            assert not errors, errors
            mark(f"500 more commands ({time.perf_counter() - started:.0f} s)")

        if not bare:
            await client.release()  # SimCord detaches the bot without close()

    asyncio.run(run())
    print(json.dumps(marks))


def run_child(tmp: Path, bare: bool) -> list[tuple[str, float, float]]:
    command = [sys.executable, __file__, "--child", str(tmp)] + (["--bare"] if bare else [])
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, timeout=600)
    return [tuple(item) for item in json.loads(out.stdout.strip().splitlines()[-1])]  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.bare)
        return
    print_machine("at start")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bot.db"
        seed_and_report(path, contracts=args.contracts, open_jobs=args.jobs)
        marks = run_child(Path(tmp), bare=False)
        bare = run_child(Path(tmp), bare=True)
    print(f"{'the bot (fresh process)':<96} {'VmRSS MB':>9} {'VmHWM MB':>9}")
    for label, rss, hwm in marks:
        print(f"  {label:<94} {rss:9.1f} {hwm:9.1f}")
    print(f"{'reference: a bare discord.py bot with one command, same harness':<96}")
    for label, rss, hwm in bare:
        print(f"  {label:<94} {rss:9.1f} {hwm:9.1f}")
    peak = max(hwm for _, _, hwm in marks)
    final = marks[-1][1]
    print(
        f"\nbot: RSS {final:.1f} MB after the commands, peak {peak:.1f} MB (SimCord included);"
        f" target <= {TARGET_MB:.0f} MB {'met' if peak <= TARGET_MB else 'MISSED'}"
    )
    print(f"the bot's own share over the bare bot at the end: {final - bare[-1][1]:.1f} MB")
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
