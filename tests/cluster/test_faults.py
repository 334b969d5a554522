"""Faults under load, the short version of bench/faults.py: a few clients hold whole consultations over the chat
channel while processes are killed, PostgreSQL restarts, the SQLite file is locked and the SMTP server goes away;
then every message a client was answered for is looked up in the database.

On the 2-replica cluster (the `cluster` fixture): kill -9 one Rasa server, one action server and one web app, then
restart PostgreSQL. On one SQLite instance (bot/supervisor.py, its own): an exclusive lock on the database file
for 10 s, and the SMTP server (a real aiosmtpd server) stopped for 15 s and started again.
"""

from __future__ import annotations

import sys

from bot.settings import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from _load_common import ClusterTarget, FaultRun, MailSink, SingleInstance, fault_table, problems, report, run_faults  # noqa: E402,E501

CLIENTS = 4


def explain(run: FaultRun) -> str:
    return "\n".join([fault_table([run]), report([run.summary]), *problems(run.summary)])


def assert_nothing_lost(run: FaultRun) -> None:
    found = run.summary.audit
    why = explain(run)
    assert found.acknowledged > 0, why
    assert found.lost == [], f"acknowledged messages not stored:\n{why}"
    assert found.duplicated == [], f"messages stored twice:\n{why}"
    assert found.out_of_order == [], f"conversations stored out of order:\n{why}"
    assert found.unknown_user_events == 0, f"user events no client sent:\n{why}"
    assert found.expected_finished > 0, f"no consultation was played to the end:\n{why}"
    assert found.unfinished == [], f"consultations played to the end but not complete:\n{why}"
    assert found.wrong_outcome == [], why
    assert found.referral_problems == [], f"a flagged consultation without exactly one referral:\n{why}"
    assert run.summary.desync == 0, f"a reply out of step with the script:\n{why}"
    assert run.summary.forbidden == 0, why
    for result in run.results:
        assert result.error is None, f"{result.name}: {result.error}\n{why}"
        assert result.healthy_after is not None, f"{result.name}: never healthy again\n{why}"
        assert result.served_after > 0, f"{result.name}: no turn answered after the recovery\n{why}"


def test_kills_and_a_postgres_restart_lose_nothing_on_the_cluster(cluster):
    target = ClusterTarget(cluster=cluster)
    run = run_faults(
        target,
        ["kill rasa-0", "kill actions-0", "kill web-0", "restart postgres"],
        CLIENTS,
        warmup=5,
        settle=5,
        health_timeout=240,
    )
    print(explain(run))
    assert_nothing_lost(run)
    # a second replica was there all along: a killed Rasa server or web app is not an outage
    for result in run.results[:3]:
        assert result.failed_turns <= CLIENTS, f"{result.name}: {result.failed_turns} turns failed\n{explain(run)}"


def test_a_locked_sqlite_file_and_smtp_down_lose_nothing_on_one_instance(tmp_path):
    mail = MailSink().start()
    target = SingleInstance(
        "sqlite",
        workdir=tmp_path,
        env={"SMTP_URL": mail.url, "NOTIFY_TO": "practitioners@example.com", "NOTIFY_DIGEST_SECONDS": "0"},
    )
    try:
        with target:
            run = run_faults(
                target, ["lock sqlite", "smtp down"], CLIENTS, mail=mail, warmup=5, settle=5, health_timeout=120
            )
    finally:
        mail.stop()
    print(explain(run))
    assert_nothing_lost(run)
    assert run.mail is not None and run.mail.referrals > 0, explain(run)
    assert run.mail.missing == [], f"referrals whose notice never arrived: {run.mail.missing}"
    assert run.mail.doubled == [], f"referrals notified twice: {run.mail.doubled}"
    assert run.mail.retried > 0, "no notice failed while the SMTP server was away: the outage proved nothing"
    # a 10 s lock is shorter than the database's busy timeout: writers wait, no client sees an error
    assert run.results[0].failed_turns == 0, explain(run)
