"""Several replicas on one machine, as they run on several: PostgreSQL, N Rasa servers, N action servers, N web apps,
HAProxy in front (`make run-cluster N=2`, `python -m bot cluster --replicas N`).

    PostgreSQL (initdb under var/ when DATABASE_URL is unset; the tracker store, our tables, the lock store)
    replica i: action server :base+10(i+1)+2 <- Rasa :base+10(i+1)+1 <- web app :base+10(i+1)
    HAProxy :base (deploy/haproxy.cfg) -> every web app whose GET /chat/health says its Rasa and actions are up

Each replica's three processes are kept running by a supervisor of their own (bot/supervisor.py: restarted with
backoff, given up on after 5 exits in 2 minutes); PostgreSQL and HAProxy by another. The Rasa servers share one
database and one lock store (bot/store/lock_store.py: PostgreSQL advisory locks), so any replica can take any
message of any conversation and two turns of one conversation run one after the other. The secrets every replica
must share (RASA_TOKEN, CHAT_KEY, WEB_SECRET) are read once here (the variable, else the file kept in the work
folder, as `make run` does) and given to every process. The sweeper and the notifier run once, in this process.

The Python API (tests/cluster/, bench/): `with Cluster(replicas=2) as cluster: cluster.url ...`.
Logs: var/log/cluster.log (PostgreSQL, HAProxy, this launcher) and var/log/cluster-replica-I.log.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

from bot import settings as settings_module
from bot import supervisor
from bot.redact import mask_url
from bot.settings import ROOT

BIN = Path(sys.executable).parent
LB_TEMPLATE = ROOT / "deploy" / "haproxy.cfg"
ENDPOINTS_TEMPLATE = ROOT / "deploy" / "endpoints.yml"
MODEL = ROOT / "models" / "clinic.tar.gz"
LOCK_STORE = "bot.store.lock_store.PostgresLockStore"
POSTGRES_USER = "clinic"
POSTGRES_DB = "clinic"
STEP_SECONDS = 0.25


class ClusterError(RuntimeError):
    """The cluster cannot start or keep running; the message says what to do."""


# ------------------------------------------------------------------------------------------------ configuration


def render_lb_config(listen: str, web: Sequence[Tuple[str, str]], template: Path = LB_TEMPLATE) -> str:
    """deploy/haproxy.cfg with its marks filled: `listen` (address:port) and one server line per (name, host:port)."""
    servers = "\n".join(f"    server {name} {address} check" for name, address in web)
    text = template.read_text(encoding="utf-8")
    for mark, value in (("{{ listen }}", listen), ("{{ web_servers }}", servers)):
        if mark not in text:
            raise ClusterError(f"{template}: the mark {mark} is missing")
        text = text.replace(mark, value)
    return text


def render_endpoints(actions_url: str, template: Path = ENDPOINTS_TEMPLATE, lock_store: str = LOCK_STORE) -> str:
    """deploy/endpoints.yml with the replica's action server: the Rasa server's endpoints in the cluster.

    `lock_store="in_memory"` is Rasa's per-process lock, for showing what goes wrong without ours (never shipped)."""
    import yaml

    config = yaml.safe_load(template.read_text(encoding="utf-8"))
    config["action_endpoint"]["url"] = actions_url
    if (config.get("lock_store") or {}).get("type") != LOCK_STORE:
        raise ClusterError(
            f"{template}: lock_store.type must be {LOCK_STORE} (several Rasa servers share conversations)"
        )
    if lock_store == "in_memory":
        config["lock_store"] = {"type": "in_memory"}
    elif lock_store != LOCK_STORE:
        raise ClusterError(f"lock_store must be {LOCK_STORE} or in_memory, not {lock_store!r}")
    return yaml.safe_dump(config, sort_keys=False)


def _kept(folder: Path, name: str, given: Optional[str]) -> str:
    """`given`, else the secret kept in folder/name (made once, 0600): the same for every replica and every run."""
    if given:
        return given
    path = folder / name
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        raise ClusterError("HAProxy not found: install it (sudo apt-get install haproxy; `make run-cluster` does)")
    return found


def postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise ClusterError(
            "PostgreSQL not found (/usr/lib/postgresql/*/bin): install it (sudo apt-get install "
            "postgresql; `make run-cluster` does), or set DATABASE_URL"
        )
    return Path(found[-1]).parent


# ------------------------------------------------------------------------------------------------ PostgreSQL


class LocalPostgres:
    """A PostgreSQL server of the cluster's own, its data under the work folder, password auth on 127.0.0.1.

    As root, PostgreSQL runs as the `postgres` user (it refuses root), which cannot enter the 0700 var/: its data
    then lives in /var/lib/postgresql/clinic-cluster/<hash of var/'s path> (said on screen). A work folder given to
    Cluster (tests, benches) is made 0711 so the postgres user can reach WORKDIR/postgres."""

    def __init__(self, workdir: Path, port: int, secrets_dir: Path) -> None:
        self.bindir = postgres_bindir()
        self.port = port
        self.workdir = workdir
        self.as_root = os.geteuid() == 0
        if self.as_root and workdir.resolve() != settings_module.VAR_DIR.resolve():
            workdir.mkdir(parents=True, exist_ok=True)
            os.chmod(workdir, 0o711)  # a work folder of the cluster's own: the postgres user may pass through
        if self.as_root and not self._reachable(workdir):
            digest = hashlib.sha256(str(workdir.resolve()).encode()).hexdigest()[:12]
            self.base = Path("/var/lib/postgresql/clinic-cluster") / digest
        else:
            self.base = workdir / "postgres"
        self.data = self.base / "data"
        self.password = _kept(secrets_dir, "postgres-password", None)

    @staticmethod
    def _reachable(folder: Path) -> bool:
        """Every folder from / to `folder` lets others through (o+x)."""
        folder = folder.resolve()
        return all(os.stat(p).st_mode & 0o001 for p in [folder, *folder.parents])

    def _as_postgres(self) -> List[str]:
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] if self.as_root else []

    @property
    def url(self) -> str:
        return f"postgresql://{POSTGRES_USER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{POSTGRES_DB}"

    def init(self) -> None:
        """initdb the first time (password auth), make the clinic database when missing."""
        if (self.data / "PG_VERSION").exists():
            return
        if self.as_root:  # the folder above the data (var/'s stand-in, or WORKDIR): the postgres user passes
            self.base.parent.mkdir(parents=True, exist_ok=True)
            if not self._reachable(self.base.parent):
                os.chmod(self.base.parent, 0o711)
        self.base.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.as_root:
            shutil.chown(self.base, "postgres", "postgres")
        pwfile = self.base / "initdb-password"
        pwfile.write_text(self.password, encoding="utf-8")
        os.chmod(pwfile, 0o600)
        if self.as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            done = subprocess.run(
                self._as_postgres()
                + [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    POSTGRES_USER,
                    f"--pwfile={pwfile}",
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                capture_output=True,
                text=True,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise ClusterError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def args(self) -> List[str]:
        return self._as_postgres() + [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.base),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=400",
            "-c",
            "logging_collector=off",
        ]

    def ready(self) -> bool:
        done = subprocess.run(
            [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
        )
        return done.returncode == 0

    def create_database(self) -> None:
        import sqlalchemy as sa

        admin = sa.create_engine(
            self.url.rsplit("/", 1)[0] + "/postgres", future=True, isolation_level="AUTOCOMMIT", hide_parameters=True
        )
        try:
            with admin.connect() as connection:
                exists = connection.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": POSTGRES_DB}
                ).first()
                if not exists:
                    connection.exec_driver_sql(f"CREATE DATABASE {POSTGRES_DB}")
        finally:
            admin.dispose()


# ------------------------------------------------------------------------------------------------ the cluster


class Cluster:
    """N replicas (Rasa + action server + web app) on one PostgreSQL behind HAProxy; see the module's docstring."""

    def __init__(
        self,
        replicas: int = 2,
        *,
        database_url: Optional[str] = None,
        base_port: int = 8600,
        workdir: Optional[Path] = None,
        smtp_url: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
        model: Optional[Path] = None,
        lock_store: str = LOCK_STORE,
        say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    ) -> None:
        if replicas < 1:
            raise ClusterError("replicas must be at least 1")
        self.replicas = replicas
        self.base_port = base_port
        # the work folder: PostgreSQL's data (WORKDIR/postgres) and, in WORKDIR/var, what `make run` keeps in var/
        # (the shared secrets, logs, the rendered configuration); without one, var/ itself
        self.workdir = Path(workdir) if workdir is not None else settings_module.VAR_DIR
        self.var_dir = self.workdir / "var" if workdir is not None else settings_module.VAR_DIR
        self.extra_env = dict(env or {})
        self.smtp_url = smtp_url
        self.model = Path(model) if model is not None else MODEL
        self.say = say
        self.lock_store = lock_store
        given = database_url or self.extra_env.get("DATABASE_URL") or None
        self.postgres: Optional[LocalPostgres] = (
            None if given else LocalPostgres(self.workdir, base_port + 1, self.var_dir)
        )
        self.database_url: str = given or (self.postgres.url if self.postgres else "")
        if self.database_url.startswith("sqlite"):
            raise ClusterError(
                "the cluster needs PostgreSQL: leave DATABASE_URL unset (one is made under var/) or "
                "give a postgresql:// URL"
            )
        self.url = f"http://localhost:{base_port}"
        self.log_dir = self.var_dir / "log"
        self.config_dir = self.var_dir / "cluster"
        self.infra: Optional[supervisor.Supervisor] = None
        self.replica_supervisors: List[supervisor.Supervisor] = []
        self.failure: Optional[str] = None  # why the cluster stopped keeping itself running (a child kept dying)
        self._stop = threading.Event()
        self._step_lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._workers: List[threading.Thread] = []

    # ports: the load balancer, PostgreSQL, then one block of ten per replica
    def web_port(self, i: int) -> int:
        return self.base_port + 10 * (i + 1)

    def rasa_port(self, i: int) -> int:
        return self.base_port + 10 * (i + 1) + 1

    def actions_port(self, i: int) -> int:
        return self.base_port + 10 * (i + 1) + 2

    def web_url(self, i: int) -> str:
        """Web replica i directly (bypassing the load balancer)."""
        return f"http://127.0.0.1:{self.web_port(i)}"

    def rasa_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.rasa_port(i)}"

    # -------------------------------------------------------------------------------------------- set-up

    def _secrets(self) -> Dict[str, str]:
        source = {**os.environ, **self.extra_env}
        return {
            "RASA_TOKEN": _kept(self.var_dir, "rasa-token", source.get("RASA_TOKEN")),
            "CHAT_KEY": _kept(self.var_dir, "chat-key", source.get("CHAT_KEY")),
            "WEB_SECRET": _kept(self.var_dir, "web-secret", source.get("WEB_SECRET")),
        }

    def _base_env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "PYTHONWARNINGS": "ignore",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                "PYTHONUNBUFFERED": "1",
                "PUBLIC_BASE_URL": self.url,
                "TRUSTED_PROXIES": "127.0.0.1",  # X-Forwarded-For from HAProxy on this machine
            }
        )
        env.update(self.extra_env)
        env.update(self._secrets())
        env["DATABASE_URL"] = self.database_url
        env["VAR_DIR"] = str(self.var_dir)
        if self.smtp_url:
            env["SMTP_URL"] = self.smtp_url
        return env

    def _replica_children(self, i: int, base: Dict[str, str]) -> List[supervisor.Child]:
        env = {
            **base,
            "RASA_PORT": str(self.rasa_port(i)),
            "ACTIONS_PORT": str(self.actions_port(i)),
            "WEB_PORT": str(self.web_port(i)),
        }
        endpoints = self.config_dir / f"endpoints-{i}.yml"
        endpoints.write_text(
            render_endpoints(f"http://127.0.0.1:{self.actions_port(i)}/webhook", lock_store=self.lock_store),
            encoding="utf-8",
        )
        actions_module = base.get("ACTIONS_MODULE") or "actions"
        return [
            supervisor.Child(
                f"actions-{i}",
                f"action server {i}",
                [str(BIN / "rasa"), "run", "actions", "--actions", actions_module, "--port", str(self.actions_port(i))],
                {**env, "SANIC_HOST": "127.0.0.1"},
                f"http://127.0.0.1:{self.actions_port(i)}/health",
            ),
            supervisor.Child(
                f"rasa-{i}",
                f"Rasa server {i}",
                [
                    sys.executable,
                    "-m",
                    "bot.rasa_run",
                    "run",
                    "--enable-api",
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(self.rasa_port(i)),
                    "--model",
                    str(self.model),
                    "--endpoints",
                    str(endpoints),
                    "--credentials",
                    "credentials.yml",
                ],
                env,
                f"{self.rasa_url(i)}/",
            ),
            supervisor.Child(
                f"web-{i}",
                f"web app {i}",
                [sys.executable, "-m", "bot", "web", "serve"],
                env,
                f"{self.web_url(i)}/health",
            ),
        ]

    def _check_can_start(self) -> None:
        if not self.model.exists():
            raise ClusterError(f"No trained model at {self.model}: run `make run-cluster` (it trains first)")
        ports = [self.base_port] + ([self.base_port + 1] if self.postgres else [])
        for i in range(self.replicas):
            ports += [self.web_port(i), self.rasa_port(i), self.actions_port(i)]
        busy = [p for p in ports if port_open(p)]
        if busy:
            raise ClusterError(
                f"Port(s) {', '.join(map(str, busy))} already in use: stop what runs there or pick another --base-port"
            )

    def start(self, timeout: float = 300) -> None:
        """Start everything; returns when every process and the load balancer answer health (ClusterError else)."""
        from bot import rasa_api

        self._check_can_start()
        problem = rasa_api.weak_token_problem(self._secrets()["RASA_TOKEN"])
        if problem:
            raise ClusterError(f"Refusing to start: {problem}")
        haproxy = haproxy_binary()
        self.var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        deadline = time.monotonic() + timeout
        infra_children: List[supervisor.Child] = []
        if self.postgres is not None:
            self.postgres.init()
            infra_children.append(
                supervisor.Child(
                    "postgres",
                    "PostgreSQL",
                    self.postgres.args(),
                    dict(os.environ),
                    f"postgresql://127.0.0.1:{self.postgres.port}",
                    ready=self.postgres.ready,
                )
            )
        lb_config = self.config_dir / "haproxy.cfg"
        lb_config.write_text(
            render_lb_config(
                f"127.0.0.1:{self.base_port}",
                [(f"web-{i}", f"127.0.0.1:{self.web_port(i)}") for i in range(self.replicas)],
            ),
            encoding="utf-8",
        )
        checked = subprocess.run([haproxy, "-c", "-q", "-f", str(lb_config)], capture_output=True, text=True)
        if checked.returncode != 0:
            raise ClusterError(f"HAProxy refuses {lb_config}:\n{checked.stdout}{checked.stderr}")
        infra_children.append(
            supervisor.Child(
                "lb",
                "load balancer (HAProxy)",
                [haproxy, "-db", "-f", str(lb_config)],
                dict(os.environ),
                f"{self.url}/lb-health",
            )
        )
        self.infra = supervisor.Supervisor(infra_children, self.log_dir / "cluster.log", ROOT, say=self.say)
        self.infra.log("cluster", f"starting {self.replicas} replica(s) on {mask_url(self.database_url)}")
        try:
            if self.postgres is not None:
                postgres = self.infra.children[0]
                self.infra.start(postgres)
                self._wait(lambda: self._stepped([self.infra]) and postgres.up, deadline, "PostgreSQL")
                self.postgres.create_database()
            self._migrate()
            base = self._base_env()
            self.replica_supervisors = [
                supervisor.Supervisor(
                    self._replica_children(i, base), self.log_dir / f"cluster-replica-{i}.log", ROOT, say=self.say
                )
                for i in range(self.replicas)
            ]
            for keeper in self.replica_supervisors:
                keeper.start_all()
            for child in self.infra.children:
                if child.popen is None:
                    self.infra.start(child)
            self._wait(
                lambda: self._stepped(self._supervisors()) and all(c.up for c in self._children()),
                deadline,
                "every process",
            )
            self._wait(lambda: supervisor.answers(f"{self.url}/health"), deadline, "the load balancer's web app")
            for keeper in self._supervisors():
                keeper.started = True
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._keep_running, daemon=True, name="cluster")
        self._thread.start()
        self.infra.log("cluster", "up: " + ", ".join(f"{n}={p}" for n, p in self.processes().items()))

    def _migrate(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            cwd=ROOT,
            env={**os.environ, **self.extra_env, "DATABASE_URL": self.database_url, "VAR_DIR": str(self.var_dir)},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise ClusterError(f"database migrations failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def _wait(self, condition: Callable[[], bool], deadline: float, what: str) -> None:
        while True:
            with self._step_lock:
                if condition():
                    return
            if time.monotonic() > deadline:
                late = [c for c in self._children() if not c.up]
                details = "\n".join(f"  {c.label}, its last lines:\n{self._tail(c)}" for c in late)
                raise ClusterError(f"Not ready in time: {what} (logs in {self.log_dir}).\n{details}")
            time.sleep(STEP_SECONDS)

    def _tail(self, child: supervisor.Child) -> str:
        for keeper in self._supervisors():
            if child in keeper.children:
                return keeper.tail_text(child)
        return ""

    def _supervisors(self) -> List[supervisor.Supervisor]:
        return ([self.infra] if self.infra else []) + list(self.replica_supervisors)

    def _children(self) -> List[supervisor.Child]:
        return [child for keeper in self._supervisors() for child in keeper.children]

    def _child(self, name: str) -> supervisor.Child:
        for child in self._children():
            if child.name == name:
                return child
        raise KeyError(f"no process {name!r} in this cluster (names: {', '.join(c.name for c in self._children())})")

    @staticmethod
    def _stepped(keepers: Sequence[Optional[supervisor.Supervisor]]) -> bool:
        """One round of each supervisor (exits noticed, restarts due, who answers); True."""
        for keeper in keepers:
            if keeper is not None:
                keeper.step()
        return True

    def _step_all(self) -> None:
        for keeper in self._supervisors():
            keeper.step()

    def _keep_running(self) -> None:
        """Restart what dies, until stop(); a child that keeps dying ends the cluster (self.failure says why)."""
        while not self._stop.is_set():
            try:
                with self._step_lock:
                    self._step_all()
            except supervisor.GaveUp as gave_up:
                self.failure = str(gave_up)
                self.say(f"Could not keep running: {gave_up}")
                self._stop.set()
                return
            self._stop.wait(STEP_SECONDS)

    def start_workers(self) -> None:
        """The sweeper and the notifier, once for the whole cluster (here), on the shared database."""
        from bot import serve

        os.environ["DATABASE_URL"] = self.database_url
        if self.smtp_url:
            os.environ["SMTP_URL"] = self.smtp_url
        settings_module.reset()
        current = settings_module.get()
        self._workers = [
            threading.Thread(target=serve.sweeper, args=(current, self._stop), daemon=True, name="sweeper"),
            threading.Thread(target=serve.notifier, args=(self._stop,), daemon=True, name="notifier"),
        ]
        for worker in self._workers:
            worker.start()

    # -------------------------------------------------------------------------------------------- control

    def processes(self) -> Dict[str, int]:
        """{"rasa-0": pid, "actions-0": pid, "web-0": pid, ..., "lb": pid, "postgres": pid} of what runs now."""
        return {
            child.name: child.popen.pid
            for child in self._children()
            if child.popen is not None and child.popen.poll() is None
        }

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to one process (e.g. kill("rasa-1")); its supervisor restarts it with backoff."""
        child = self._child(name)
        if child.popen is None:
            raise ProcessLookupError(f"{name} is not running now (it is being restarted)")
        os.kill(child.popen.pid, sig)

    def healthy(self) -> Dict[str, bool]:
        """Each process: running and answering its health check now."""
        return {
            child.name: child.popen is not None and child.popen.poll() is None and child.answers(timeout=1.0)
            for child in self._children()
        }

    def wait_healthy(self, timeout: float = 120) -> float:
        """Seconds until every process answers again (TimeoutError after `timeout`)."""
        started = time.monotonic()
        while True:
            state = self.healthy()
            if all(state.values()) and supervisor.answers(f"{self.url}/health"):
                return time.monotonic() - started
            if self.failure:
                raise ClusterError(self.failure)
            if time.monotonic() - started > timeout:
                raise TimeoutError(
                    f"not healthy after {timeout:.0f} s: "
                    f"{', '.join(n for n, ok in state.items() if not ok) or 'load balancer'}"
                )
            time.sleep(0.2)

    def restart_postgres(self) -> None:
        """Stop PostgreSQL (fast shutdown: its connections are cut) and start it again; returns when it answers.
        An intended restart: not counted as a failure by its supervisor."""
        if self.postgres is None or self.infra is None:
            raise ClusterError("this cluster uses a given DATABASE_URL: it does not run PostgreSQL itself")
        child = self._child("postgres")
        with self._step_lock:
            if child.popen is not None:
                os.kill(child.popen.pid, signal.SIGINT)
                try:
                    child.popen.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(child.popen.pid, signal.SIGKILL)
                    child.popen.wait()
            child.popen = None
            child.next_start = None
            self.infra.log("cluster", "restarting PostgreSQL (asked for)")
            self.infra.start(child)
        deadline = time.monotonic() + 60
        while not self.postgres.ready():
            if time.monotonic() > deadline:
                raise ClusterError("PostgreSQL did not come back within 60 s (var/log/cluster.log)")
            time.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        with self._step_lock:
            for keeper in self.replica_supervisors:  # the replicas first, PostgreSQL last
                keeper.stop_all()
            if self.infra is not None:
                self.infra.stop_all()
        self.replica_supervisors = []
        self.infra = None

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------------------------------------- the screen

    def states(self) -> List[str]:
        """One line per process: its name, up or down, its health address."""
        children = self._children()
        width = max(len(child.label) for child in children)
        return [
            f"  {child.label:<{width}}  {'up' if child.up and child.answers() else 'down':<4}  {child.health_url}"
            for child in children
        ]

    def summary(self) -> str:
        from bot.serve import shown

        if self.postgres is not None:
            url = self.database_url.replace(
                quote(self.postgres.password, safe=""), f"$(cat {shown(self.var_dir / 'postgres-password')})"
            )
            staff = f"DATABASE_URL={url} .venv/bin/python -m bot staff add EMAIL --role admin"
        else:
            staff = ".venv/bin/python -m bot staff add EMAIL --role admin (with this DATABASE_URL)"
        lines = [
            "",
            f"The pre-consultation assistant is running as {self.replicas} replica(s) (Ctrl-C stops everything).",
            f"  Clinic page (through the load balancer): {self.url}/",
            f"  Staff dashboard:  {self.url}/staff  (first user: {staff})",
            f"  Chat (REST):      POST {self.url}/chat/session, then POST {self.url}/webhooks/rest/webhook",
            f"  Database:         {mask_url(self.database_url)}"
            + (f" (data in {self.postgres.data})" if self.postgres else ""),
        ]
        for i in range(self.replicas):
            lines.append(
                f"  Replica {i}:        web app {self.web_url(i)}, Rasa {self.rasa_url(i)}, "
                f"action server http://127.0.0.1:{self.actions_port(i)}"
            )
        lines += [
            f"  Load balancer:    HAProxy, {shown(self.config_dir / 'haproxy.cfg')} (from deploy/haproxy.cfg)",
            f"  Logs:             {shown(self.log_dir / 'cluster.log')}, "
            f"{shown(self.log_dir / 'cluster-replica-I.log')} (restarts are shown here and logged there)",
            "",
        ]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ command line


def _run(args: argparse.Namespace) -> int:
    try:
        cluster = Cluster(
            args.replicas,
            database_url=os.environ.get("DATABASE_URL") or None,
            base_port=args.base_port,
            smtp_url=os.environ.get("SMTP_URL") or None,
        )
    except ClusterError as exc:
        print(f"Could not start: {exc}", file=sys.stderr, flush=True)
        return 1

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    from bot.serve import shown

    print(
        f"Starting PostgreSQL, {args.replicas} replica(s) (Rasa server, action server, web app) and HAProxy "
        f"(their output goes to {shown(cluster.log_dir)}/; the Rasa servers load the model: a minute or two)...",
        flush=True,
    )
    try:
        cluster.start(timeout=args.timeout)
        cluster.start_workers()
        print("\n".join(cluster.states()), flush=True)
        print(cluster.summary(), flush=True)
        while not cluster._stop.wait(1.0):
            pass
        return 1 if cluster.failure else 0
    except ClusterError as exc:
        print(f"Could not start: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    finally:
        # a second Ctrl-C (or a signal to the whole process group) must not cut the stopping short: the children
        # run in sessions of their own and would be left running
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        cluster.stop()


def _lb_config(args: argparse.Namespace) -> int:
    web = [(f"web-{i}", address) for i, address in enumerate(args.web)]
    if not web:
        print("give each web app as --web HOST:PORT", file=sys.stderr)
        return 2
    sys.stdout.write(render_lb_config(args.listen, web))
    return 0


def _endpoints(args: argparse.Namespace) -> int:
    sys.stdout.write(render_endpoints(args.actions_url))
    return 0


def _worker(args: argparse.Namespace) -> int:
    """The sweeper and notifier alone (systemd: clinic-worker.service, one per cluster)."""
    from bot import serve

    stop = threading.Event()

    def terminate(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    current = settings_module.get()
    threading.Thread(target=serve.notifier, args=(stop,), daemon=True, name="notifier").start()
    print(f"sweeper and notifier running on {mask_url(current.database_url)}", flush=True)
    serve.sweeper(current, stop)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cluster", help="run N replicas behind HAProxy on PostgreSQL (one machine)")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument(
        "--base-port",
        type=int,
        default=8600,
        help="HAProxy listens here; PostgreSQL on +1; replica i on +10(i+1) .. +10(i+1)+2",
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.set_defaults(func=_run)
    sub = parser.add_subparsers(dest="cluster_command")
    lb = sub.add_parser("lb-config", help="print deploy/haproxy.cfg filled in, for several machines")
    lb.add_argument("--listen", default="0.0.0.0:80")
    lb.add_argument("--web", action="append", default=[], metavar="HOST:PORT")
    lb.set_defaults(func=_lb_config)
    endpoints = sub.add_parser("endpoints", help="print a Rasa server's endpoints.yml for the cluster")
    endpoints.add_argument("--actions-url", default="http://127.0.0.1:5055/webhook")
    endpoints.set_defaults(func=_endpoints)
    worker = subparsers.add_parser("worker", help="run the sweeper and the notifier only (once per cluster)")
    worker.set_defaults(func=_worker)
