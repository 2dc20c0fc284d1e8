"""How fast the command line answers, against a bare Typer program, in the same run.

    python bench/cli_startup.py [--rounds 15]

Times (median of interleaved rounds) ``safeguard --help``, ``safeguard lists ls``
on a store holding a list, ``safeguard cases ls`` and ``safeguard --version``,
each as a fresh process, beside a hello-world Typer program (the floor any
Typer command line pays: the interpreter plus Typer and Rich). Prints seconds and
the ratio to that floor; the target is under a second for ``--help`` and
``lists ls``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELLO = """
import typer
app = typer.Typer()
@app.command()
def hello(name: str = "world") -> None:
    print(name)
app()
"""


def _seconds(command: list[str], environment: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        environment = {**os.environ, "SAFEGUARD_INDEX_DIR": str(root / "index")}
        db = str(root / "bench.db")
        safeguard = [sys.executable, "-m", "safeguard"]
        listed = root / "list.txt"
        listed.write_text("\n".join(f"{index:032x}" for index in range(1000)) + "\n")
        subprocess.run([*safeguard, "lists", "import", str(listed), "--list", "bench",
                        "--category", "A", "--create", "--db", db],
                       check=True, capture_output=True, env=environment)  # fmt: skip
        (root / "hello.py").write_text(HELLO)
        commands = {
            "typer hello-world (floor)": [sys.executable, str(root / "hello.py"), "--help"],
            "safeguard --help": [*safeguard, "--help"],
            "safeguard --version": [*safeguard, "--version"],
            "safeguard lists ls": [*safeguard, "lists", "ls", "--db", db],
            "safeguard cases ls": [*safeguard, "cases", "ls", "--db", db],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for command in commands.values():  # warm the page cache and .pyc files
            _seconds(command, environment)
        for _ in range(args.rounds):
            for name, command in commands.items():
                samples[name].append(_seconds(command, environment))
    medians = {name: statistics.median(times) for name, times in samples.items()}
    floor = medians["typer hello-world (floor)"]
    print(f"{'command':28} {'median s':>9} {'x floor':>8}")
    for name, seconds in medians.items():
        print(f"{name:28} {seconds:9.3f} {seconds / floor:8.2f}")
    print("\ntarget: safeguard --help and lists ls under 1 s")


if __name__ == "__main__":
    main()
