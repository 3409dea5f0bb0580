"""Start-up: process start to ready, with 100,000 contracts and 10,000 open jobs, network
excluded (SimCord plays Discord).

    .venv/bin/python bench/startup.py [--runs 5] [--contracts 100000] [--jobs 10000]

The database is seeded once (bench/_common.py). Each run is a fresh ``python -c`` process
that takes ``time.perf_counter()`` as its first statement, imports discord.py, SimCord and
the bot, builds the bot with ``create_bot`` and runs it under ``simcord.run`` until ready,
then prints its marks. On Linux ``perf_counter`` is CLOCK_MONOTONIC, one clock for every
process, so the parent's time just before spawning the child gives the interpreter's own
start-up too.

Marks: interpreter start (spawn -> first statement), imports, ``create_bot``, login and
``setup_hook`` (database open and migrations check, services, cogs, dynamic items,
dispatcher, scheduler, command sync: the command tree's hash is stored in the database on
the first start and compared on later ones), ``on_ready`` (the gateway's READY), and
settled (the start-up sweep over the 100,000 contracts and the outbox pass done). The first
run is the first start on this database (the tree is synced); later runs find the hash
unchanged. Target: process start to ready <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import loadavg, print_machine, seed_and_report

TARGET_S = 2.0
BENCH = Path(__file__).resolve().parent

CHILD = r"""
import time
T0 = time.perf_counter()
import asyncio, json, sys
sys.path.insert(0, {bench!r})
import discord
T_DPY = time.perf_counter()
import bot.app
T_APP = time.perf_counter()
import simcord
from _simcord import make_bot
T_IMPORTS = time.perf_counter()
from pathlib import Path
client = make_bot(Path({db!r}), Path({files!r}), ok_command=False)
T_BOT = time.perf_counter()
marks = {{}}
original_setup_hook = client.setup_hook
async def timed_setup_hook():
    marks["setup_hook_start"] = time.perf_counter()
    await original_setup_hook()
    marks["setup_hook_end"] = time.perf_counter()
client.setup_hook = timed_setup_hook
async def on_ready():
    marks.setdefault("ready", time.perf_counter())
client.add_listener(on_ready, "on_ready")
async def main():
    async with simcord.run(client) as env:
        marks["settled"] = time.perf_counter()
        marks["synced"] = client.synced_commands
        print(json.dumps({{"t0": T0, "dpy": T_DPY, "app": T_APP, "imports": T_IMPORTS, "bot": T_BOT, **marks,
                          "clock": time.get_clock_info("perf_counter").implementation}}), flush=True)
    await client.release()  # SimCord detaches the bot without close(): stop the database thread
asyncio.run(main())
"""


def one_run(db: Path, files: Path) -> dict[str, float]:
    code = CHILD.format(bench=str(BENCH), db=str(db), files=str(files))
    spawn = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=300)
    ended = time.perf_counter()
    marks = json.loads(out.stdout.strip().splitlines()[-1])
    marks["spawn"] = spawn
    marks["exited"] = ended
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    print_machine("at start")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bot.db"
        seed_and_report(db, contracts=args.contracts, open_jobs=args.jobs)
        runs = [one_run(db, Path(tmp) / "files") for _ in range(args.runs)]
    print(f"clock: {runs[0]['clock']}")
    header = (
        "run",
        "interp",
        "imports (discord.py + bot + SimCord)",
        "create",
        "login+setup_hook",
        "-> ready",
        "start->ready",
        "-> settled",
        "synced",
    )
    print("seconds since spawn, per phase: " + "  ".join(header))
    totals = []
    for n, m in enumerate(runs, 1):
        interp = m["t0"] - m["spawn"]
        imports = m["imports"] - m["t0"]
        create = m["bot"] - m["imports"]
        setup = m["setup_hook_end"] - m["bot"]
        ready = m["ready"] - m["setup_hook_end"]
        total = m["ready"] - m["spawn"]
        totals.append((total, m["ready"] - m["t0"]))
        split = f"{m['dpy'] - m['t0']:.3f} + {m['app'] - m['dpy']:.3f} + {m['imports'] - m['app']:.3f}"
        print(
            f"  {n:>3} {interp:7.3f} {imports:8.3f} ({split}) {create:7.3f} {setup:16.3f} {ready:9.3f} {total:12.3f}"
            f" {m['settled'] - m['spawn']:11.3f}  {'yes' if m['synced'] else 'no (hash unchanged)'}"
        )
    median_total = statistics.median(t for t, _ in totals)
    median_inside = statistics.median(i for _, i in totals)
    print(
        f"\nprocess start (spawn) to ready: median {median_total:.3f} s, max {max(t for t, _ in totals):.3f} s;"
        f" from the first statement: median {median_inside:.3f} s"
    )
    simcord_import = statistics.median(m["imports"] - m["app"] for m in runs)
    print(f"of which importing SimCord (not in production): median {simcord_import:.3f} s")
    print(f"target <= {TARGET_S:.0f} s: {'met' if max(t for t, _ in totals) <= TARGET_S else 'MISSED'}")
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
