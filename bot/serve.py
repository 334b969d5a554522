"""One supervisor for the whole product: action server, Rasa server, web app and the idle sweeper.

`python -m bot serve` starts them, waits until each answers its health address, prints one line per process (up or
down) and then the URLs, last. Their own output (warnings, logs) goes to var/log/serve.log (SERVE_LOG sets another
path), never the screen. A process that dies is restarted with backoff while the others keep serving; one that keeps
dying (5 times in 2 minutes) is reported with its last log lines and everything stops with exit code 1
(bot/supervisor.py). Ctrl-C stops all.

ACTIONS_MODULE names the action server's package (`actions` unless set; tests use a broken one).

Rasa listens on RASA_HOST (127.0.0.1 unless set); browsers reach only the web app, which proxies the chat channel.
Rasa's HTTP API takes JWTs signed with RASA_TOKEN (made once and kept in var/rasa-token when unset; a known default
or a short one is refused): the secret reaches the Rasa process through its environment / var/, never its command
line (bot/rasa_run.py gives it to Rasa inside the process).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from bot import rasa_api, supervisor
from bot import settings as settings_module
from bot.redact import mask_url
from bot.settings import ROOT

BIN = Path(sys.executable).parent


@dataclass
class Process:
    name: str
    args: List[str]
    port: int
    env: Dict[str, str]


def child_env(settings: settings_module.Settings) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "RASA_PORT": str(settings.rasa_port),
            "ACTIONS_PORT": str(settings.actions_port),
            "WEB_PORT": str(settings.web_port),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONWARNINGS": "ignore",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONUNBUFFERED": "1",  # lines reach the log as they are written
        }
    )
    return env


def render_endpoints(settings: settings_module.Settings) -> Path:
    """endpoints.yml with the action server's port from the settings, written under var/."""
    import yaml

    config = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    config["action_endpoint"]["url"] = f"http://127.0.0.1:{settings.actions_port}/webhook"
    target = settings_module.VAR_DIR / f"endpoints-{settings.rasa_port}.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return target


def processes(settings: settings_module.Settings, model: str, with_web: bool = True) -> List[Process]:
    env = child_env(settings)
    endpoints = render_endpoints(settings)
    actions_env = {**env, "SANIC_HOST": "127.0.0.1"}  # the action server is only for the Rasa server
    procs = [
        Process(
            "actions",
            [
                str(BIN / "rasa"),
                "run",
                "actions",
                "--actions",
                os.environ.get("ACTIONS_MODULE") or "actions",
                "--port",
                str(settings.actions_port),
            ],
            settings.actions_port,
            actions_env,
        ),
        Process(
            "rasa",
            [
                # No token here: bot/rasa_run.py adds the JWT secret inside the process (not visible in `ps`).
                # No --cors: browsers never talk to Rasa, the web app proxies the chat channel.
                sys.executable,
                "-m",
                "bot.rasa_run",
                "run",
                "--enable-api",
                "--interface",
                settings.rasa_host,
                "--port",
                str(settings.rasa_port),
                "--model",
                model,
                "--endpoints",
                str(endpoints),
                "--credentials",
                "credentials.yml",
            ],
            settings.rasa_port,
            env,
        ),
    ]
    if with_web and importlib.util.find_spec("bot.web") is not None:
        procs.append(Process("web", [sys.executable, "-m", "bot", "web", "serve"], settings.web_port, env))
    return procs


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def sweeper(settings: settings_module.Settings, stop: threading.Event, every_seconds: float = 60.0) -> None:
    """Marks idle consultations abandoned, so a half-finished one is kept and labelled, never lost."""
    from bot import store

    while not stop.wait(every_seconds):
        try:
            store.expire_idle(settings.abandon_after_minutes)
        except Exception as exc:  # keep sweeping; the next round tries again
            print(f"[sweeper] could not expire idle consultations: {type(exc).__name__}", file=sys.stderr)
        from bot.store import retention  # conversations without consent: deleted after CONSENTLESS_PURGE_HOURS

        retention.sweep(settings)  # never raises; runs the purge every few minutes, then scrubs the WAL
        from bot.live import service as live  # live chats nobody joined within LIVE_WAIT_MINUTES: the client is told

        live.sweep_safely()


def notifier(stop: threading.Event) -> None:
    """Queues a notice for each new referral and sends the outbox through SMTP_URL (retries with backoff)."""
    from bot.notify import delivery

    delivery.loop(stop)


def log_path() -> Path:
    """Where the children's output goes: SERVE_LOG, else var/log/serve.log."""
    return Path(os.environ.get("SERVE_LOG") or settings_module.VAR_DIR / "log" / "serve.log")


def shown(path: Path) -> str:
    """A path as a newcomer reads it: relative to the repo when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def children(procs: List[Process], settings: settings_module.Settings) -> List[supervisor.Child]:
    health = {
        "actions": ("action server", f"http://127.0.0.1:{settings.actions_port}/health"),
        "rasa": ("Rasa server", f"{rasa_api.base_url(settings)}/"),
        "web": ("web app", f"http://127.0.0.1:{settings.web_port}/health"),
    }
    return [supervisor.Child(p.name, health[p.name][0], p.args, p.env, health[p.name][1]) for p in procs]


def serve(args: argparse.Namespace) -> int:
    settings = settings_module.get()
    model = args.model
    if not Path(model).exists():
        print(f"No trained model at {model}: run `make run` (it trains when the data changed).", file=sys.stderr)
        return 1
    problem = rasa_api.weak_token_problem(settings.rasa_token)
    if problem:
        print(
            f"Refusing to start: {problem}. {rasa_api.WEAK_TOKEN_HELP[0].upper()}{rasa_api.WEAK_TOKEN_HELP[1:]}.",
            file=sys.stderr,
        )
        return 1
    busy = [p for p in (settings.rasa_port, settings.actions_port, settings.web_port) if port_open(p)]
    if busy:
        print(
            f"Port(s) {', '.join(map(str, busy))} already in use: stop what runs there or set RASA_PORT, "
            "ACTIONS_PORT, WEB_PORT.",
            file=sys.stderr,
        )
        return 1
    procs = processes(settings, model, with_web=not args.no_web)
    log = log_path()
    keeper = supervisor.Supervisor(children(procs, settings), log, ROOT)

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (and SIGINT, which a background job ignores) stop everything cleanly

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    labels = [child.label for child in keeper.children]
    print(
        f"Starting the {', the '.join(labels[:-1])} and the {labels[-1]} (their output goes to {shown(log)})...",
        flush=True,
    )
    stop = threading.Event()
    try:
        keeper.start_all()
        print("Waiting for them to answer (the Rasa server loads the model: about a minute)...", flush=True)
        keeper.wait_until_up(args.timeout)
        threading.Thread(target=sweeper, args=(settings, stop), daemon=True).start()
        threading.Thread(target=notifier, args=(stop,), daemon=True).start()
        print("\n".join(keeper.states()), flush=True)
        print_urls(settings, [p.name for p in procs], log)
        keeper.run_forever(stop)
        return 0
    except supervisor.GaveUp as gave_up:
        print(
            f"Could not keep running: {gave_up}" if keeper.started else f"Could not start: {gave_up}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    finally:
        stop.set()
        keeper.stop_all()


def print_urls(settings: settings_module.Settings, names: List[str], log: Optional[Path] = None) -> None:
    web = f"http://localhost:{settings.web_port}"
    lines = [
        "",
        "The pre-consultation assistant is running (Ctrl-C stops everything).",
        f"  Database:        {mask_url(settings.database_url)}",
        f"  Rasa server:     {rasa_api.base_url(settings)}  (local only: for the web app and the action server; "
        "its HTTP API takes a JWT signed with RASA_TOKEN or var/rasa-token, in a header: bot/rasa_api.py)",
        f"  Action server:   http://127.0.0.1:{settings.actions_port}",
    ]
    if "web" not in names:
        lines.append(
            f"  Chat (REST, this machine only): POST {rasa_api.base_url(settings)}/webhooks/rest/session, "
            'then POST .../webhooks/rest/webhook {"sender": ID, "secret": SECRET, "message": TEXT}'
        )
    if "web" in names:
        lines += [
            f'  Chat (REST):     POST {web}/chat/session gives {{"sender": ID, "secret": SECRET}}; then POST '
            f'{web}/webhooks/rest/webhook {{"sender": ID, "secret": SECRET, "message": TEXT}}',
            f"  Clinic page:     {web}/",
            f"  Staff dashboard: http://localhost:{settings.web_port}/staff  "
            "(first user: .venv/bin/python -m bot staff add EMAIL --role admin)",
            "  Notifications:   "
            + (
                f"by email through {settings.smtp_url.split('@')[-1]}"
                if settings.smtp_url
                else "SMTP_URL not set: kept in the outbox and shown on the dashboard"
            ),
        ]
    lines += [
        "  Chat in a terminal: .venv/bin/rasa shell --port 5006 --model models/clinic.tar.gz "
        f"--endpoints {render_endpoints(settings)}",
        "    (while this runs: the shell uses its action server)",
        "  A stored consultation: .venv/bin/python -m bot consultation show CONVERSATION_ID --json",
    ]
    if log is not None:
        lines.append(f"  Logs:            {shown(log)} (restarts are shown here and logged there)")
    lines.append("")
    print("\n".join(lines), flush=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="start the Rasa server, action server and web app")
    parser.add_argument("--model", default=str(ROOT / "models" / "clinic.tar.gz"))
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for every process")
    parser.add_argument("--no-web", action="store_true", help="start only the Rasa and action servers")
    parser.set_defaults(func=serve)
