"""The files the cluster ships (deploy/haproxy.cfg, deploy/endpoints.yml) as the launcher fills them: HAProxy accepts
the configuration, the Rasa servers get the PostgreSQL lock store, and the launcher refuses what cannot work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cluster import LOCK_STORE, Cluster, ClusterError, haproxy_binary, render_endpoints, render_lb_config

ROOT = Path(__file__).resolve().parents[2]


def test_haproxy_accepts_the_shipped_configuration_filled_in(tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        render_lb_config(
            "127.0.0.1:18600", [("web-0", "127.0.0.1:18610"), ("web-1", "10.0.0.2:8000"), ("web-2", "10.0.0.3:8000")]
        ),
        encoding="utf-8",
    )
    checked = subprocess.run([haproxy_binary(), "-c", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = config.read_text(encoding="utf-8")
    assert "{{ listen }}" not in text and "{{ web_servers }}" not in text
    assert text.count("    server web-") == 3
    assert "option httpchk GET /chat/health" in text  # a replica whose Rasa is down leaves the rotation


def test_a_template_without_its_marks_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "haproxy.cfg"
    broken.write_text("frontend x\n    bind {{ listen }}\n", encoding="utf-8")
    with pytest.raises(ClusterError, match="web_servers"):
        render_lb_config("127.0.0.1:1", [("web-0", "127.0.0.1:2")], template=broken)


def test_the_rasa_servers_get_the_postgres_lock_store_and_their_own_action_server() -> None:
    config = yaml.safe_load(render_endpoints("http://127.0.0.1:18612/webhook"))
    assert config["lock_store"] == {"type": LOCK_STORE}
    assert config["action_endpoint"]["url"] == "http://127.0.0.1:18612/webhook"
    assert config["tracker_store"]["type"] == "bot.store.tracker_store.DatabaseTrackerStore"
    # Rasa's own lock only for showing what goes wrong without ours
    assert yaml.safe_load(render_endpoints("http://x/webhook", lock_store="in_memory"))["lock_store"] == {
        "type": "in_memory"
    }
    # the single-instance `make run` keeps Rasa's in-memory lock (no lock_store in endpoints.yml)
    assert "lock_store" not in yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))


def test_the_cluster_refuses_sqlite() -> None:
    with pytest.raises(ClusterError, match="PostgreSQL"):
        Cluster(2, database_url="sqlite:///var/clinic.db")


def test_the_lb_config_command_prints_what_an_operator_installs() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "cluster",
            "lb-config",
            "--listen",
            "0.0.0.0:80",
            "--web",
            "10.0.0.11:8000",
            "--web",
            "10.0.0.12:8000",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "bind 0.0.0.0:80" in done.stdout
    assert "server web-0 10.0.0.11:8000 check" in done.stdout and "server web-1 10.0.0.12:8000 check" in done.stdout
