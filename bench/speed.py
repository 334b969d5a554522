"""Turn latency and throughput over Rasa's REST channel: the assistant beside a bare `rasa init` starter bot.

Both run in the same session on this machine: 20-turn conversations held by 1, 10 and 50 concurrent simulated
clients; prints p50/p95 turn latency and turns per second for each, and the assistant/starter ratios.

    .venv/bin/python bench/speed.py            # both bots, levels 1, 10, 50
    .venv/bin/python bench/speed.py --levels 1,10 --conversations 2

The assistant runs as `make run` runs it (Rasa server + action server, forms, SQL tracker store and consultation
rows in one SQLite database); the starter bot as `rasa init` makes it (TED + UnexpecTED, in-memory tracker store).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
RASA = str(Path(PY).parent / "rasa")
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}

# 20 turns each. The assistant: the whole questionnaire with two questions asked on the way.
ASSISTANT_TURNS = [
    "hi",
    "/affirm",
    "Jane Doe",
    "jane@example.com",
    "does it hurt?",
    "acne scars",
    "cheeks",
    "none",
    "/deny",
    "/deny",
    "/deny",
    "/deny",
    "how many sessions would I need?",
    "/deny",
    "/deny",
    "/deny",
    "/deny",
    "/deny",
    "/deny",
    "/affirm",
]
STARTER_TURNS = [
    "hi",
    "I am sad",
    "yes",
    "hello",
    "great",
    "bye",
    "are you a bot?",
    "hey",
    "very bad",
    "no",
    "good morning",
    "perfect",
    "goodbye",
    "am I talking to a human?",
    "hi there",
    "unhappy",
    "yes",
    "hello",
    "amazing",
    "bye",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def start_assistant(workdir: Path) -> tuple:
    port = free_port()
    env = {
        **ENV,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "RASA_PORT": str(port),
        "ACTIONS_PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
        "VAR_DIR": str(workdir),
    }
    subprocess.run([PY, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    with open(workdir / "assistant.log", "wb") as log:  # the child keeps its own copy of the file
        proc = subprocess.Popen(
            [PY, "-m", "bot", "serve", "--no-web"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for(f"http://127.0.0.1:{port}/", proc)
    return proc, f"http://127.0.0.1:{port}"


def start_starter(workdir: Path) -> tuple:
    bot_dir = workdir / "starter"
    bot_dir.mkdir()
    began = time.monotonic()
    subprocess.run(
        [RASA, "init", "--no-prompt", "--init-dir", str(bot_dir)], cwd=bot_dir, env=ENV, check=True, capture_output=True
    )
    print(f"starter bot: rasa init + train took {time.monotonic() - began:.0f} s", flush=True)
    port = free_port()
    with open(workdir / "starter.log", "wb") as log:  # the child keeps its own copy of the file
        proc = subprocess.Popen(
            [RASA, "run", "--port", str(port), "--model", "models"],
            cwd=bot_dir,
            env=ENV,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for(f"http://127.0.0.1:{port}/", proc)
    return proc, f"http://127.0.0.1:{port}"


@dataclass
class Result:
    latencies: List[float]
    seconds: float
    errors: int

    @property
    def turns_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def conversation(session: aiohttp.ClientSession, url: str) -> Dict[str, str]:
    """The assistant's REST channel issues each conversation (id and secret); the starter bot takes any sender."""
    async with session.post(f"{url}/webhooks/rest/session") as response:
        if response.status == 200:
            issued = await response.json()
            return {"sender": issued["sender"], "secret": issued["secret"]}
    return {"sender": "bench-" + uuid.uuid4().hex[:12]}


async def client(
    session: aiohttp.ClientSession,
    url: str,
    turns: Sequence[str],
    conversations: int,
    latencies: List[float],
    errors: List[int],
) -> None:
    for _ in range(conversations):
        who = await conversation(session, url)
        for text in turns:
            began = time.perf_counter()
            try:
                async with session.post(
                    f"{url}/webhooks/rest/webhook",
                    json={**who, "message": text},
                    timeout=aiohttp.ClientTimeout(total=120),
                ) as response:
                    await response.read()
                    if response.status != 200:
                        errors.append(1)
                        continue  # a refused turn (503, 429) is quick and would flatter the percentiles
            except (aiohttp.ClientError, asyncio.TimeoutError):
                errors.append(1)
                continue
            latencies.append(time.perf_counter() - began)


async def load(url: str, turns: Sequence[str], clients: int, conversations: int) -> Result:
    latencies: List[float] = []
    errors: List[int] = []
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(client(session, url, turns, conversations, latencies, errors) for _ in range(clients)))
        seconds = time.perf_counter() - began
    return Result(latencies, seconds, len(errors))


def measure(name: str, url: str, turns: Sequence[str], levels: Sequence[int], conversations: int) -> Dict[int, Result]:
    asyncio.run(load(url, turns, 2, 1))  # warm up: first parses load lazily
    results = {}
    for clients in levels:
        per_client = max(1, conversations if clients == 1 else 1)
        result = asyncio.run(load(url, turns, clients, per_client))
        results[clients] = result
        print(
            f"{name:9} {clients:3} clients: p50 {result.percentile(0.5) * 1000:7.0f} ms  "
            f"p95 {result.percentile(0.95) * 1000:7.0f} ms  {result.turns_per_second:6.1f} turns/s  "
            f"({len(result.latencies)} turns, {result.errors} errors)",
            flush=True,
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,10,50")
    parser.add_argument("--conversations", type=int, default=3, help="conversations per client at 1 client")
    parser.add_argument("--only", choices=("assistant", "starter", "both"), default="both")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    if not (ROOT / "models" / "clinic.tar.gz").exists():
        print("No trained model: run `make model` first.", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    procs = []
    try:
        results = {}
        if args.only in ("assistant", "both"):
            proc, url = start_assistant(workdir)
            procs.append(proc)
            results["assistant"] = measure("assistant", url, ASSISTANT_TURNS, levels, args.conversations)
            stop(proc)
        if args.only in ("starter", "both"):
            proc, url = start_starter(workdir)
            procs.append(proc)
            results["starter"] = measure("starter", url, STARTER_TURNS, levels, args.conversations)
            stop(proc)
        if len(results) == 2:
            print("\nassistant / starter (below 1.00 means the assistant is faster; turns/s above 1.00 is better)")
            for clients in levels:
                a, s = results["assistant"][clients], results["starter"][clients]
                print(
                    f"{clients:3} clients: p50 {a.percentile(0.5) / s.percentile(0.5):.2f}  "
                    f"p95 {a.percentile(0.95) / s.percentile(0.95):.2f}  "
                    f"turns/s {a.turns_per_second / s.turns_per_second:.2f}"
                )
        return 0
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
