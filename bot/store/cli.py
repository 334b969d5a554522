"""Commands on the store: `consultation show/expire`, `db upgrade`, `data purge/export/erase`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List

from bot import settings


def register(subparsers: Any) -> None:
    consultation = subparsers.add_parser("consultation", help="read and maintain consultations")
    csub = consultation.add_subparsers(dest="command", required=True)

    show = csub.add_parser("show", help="print a consultation (by consultation id or conversation id)")
    show.add_argument("id", metavar="ID", help="consultation id, or a conversation id (its latest consultation)")
    show.add_argument("--json", action="store_true", help="print the contract JSON (docs/architecture.md)")
    show.set_defaults(func=_show)

    expire = csub.add_parser("expire", help="abandon consultations idle for too long")
    expire.add_argument(
        "--idle-minutes",
        type=_positive_int,
        default=None,
        help="idle time before an in-progress consultation is abandoned (default: ABANDON_AFTER_MINUTES)",
    )
    expire.set_defaults(func=_expire)

    database = subparsers.add_parser("db", help="database schema")
    dsub = database.add_subparsers(dest="command", required=True)
    upgrade = dsub.add_parser("upgrade", help="apply the migrations (safe to run on every start)")
    upgrade.add_argument("--revision", default="head", help=argparse.SUPPRESS)
    upgrade.set_defaults(func=_upgrade)

    data = subparsers.add_parser("data", help="retention, export and erasure of personal data")
    asub = data.add_subparsers(dest="command", required=True)
    purge = asub.add_parser("purge", help="delete consultations and transcripts older than N days")
    purge.add_argument("--older-than-days", type=_positive_int, required=True, metavar="N")
    purge.set_defaults(func=_purge)
    export = asub.add_parser("export", help="print one client's consultations and transcript as JSON")
    export.add_argument("conversation_id", metavar="CONVERSATION_ID")
    export.set_defaults(func=_export)
    erase = asub.add_parser("erase", help="delete one client's consultations and transcript")
    erase.add_argument("conversation_id", metavar="CONVERSATION_ID")
    erase.add_argument("--yes", action="store_true", help="confirm: the data cannot be recovered")
    erase.set_defaults(func=_erase)


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _show(args: argparse.Namespace) -> int:
    from bot.web import staff_urls

    shown = staff_urls.show(args.id)
    if shown is None:
        return _error(f"no consultation with id or conversation id {args.id!r}")
    if args.json:
        _print_json(shown)
    else:
        print(_as_text(shown))
    return 0


def _as_text(shown: Dict[str, Any]) -> str:
    lines: List[str] = [
        f"Consultation {shown['id']} (conversation {shown['conversation_id']}, #{shown['sequence']})",
        f"  status:   {shown['status']}" + ("  (client asked for a person)" if shown.get("requested_human") else ""),
        f"  outcome:  {shown['outcome'] or 'not judged yet'}"
        + (f"  (rules {shown['rules_version']})" if shown.get("rules_version") else ""),
        f"  started:  {shown['created_at']}",
        f"  last active: {shown['last_activity_at']}",
    ]
    if shown.get("completed_at"):
        lines.append(f"  completed: {shown['completed_at']}")
    findings = shown.get("findings") or []
    lines.append("Reasons:" if shown["reasons"] else "Reasons: none")
    for finding in findings:
        if finding["outcome"] == "clear":
            continue
        lines.append(f"  - [{finding['outcome']}] {finding['code']}: {finding['rule']}")
        if finding.get("detail"):
            lines.append(f"      what triggered it: {finding['detail']}")
        if finding.get("rationale"):
            lines.append(f"      why it matters: {finding['rationale']}")
    for note in shown.get("notes") or []:
        lines.append(
            f"  - [note] {note['code']}: {note['rule']}" + (f" ({note['detail']})" if note.get("detail") else "")
        )
    lines.append("Answers:" if shown["answers"] else "Answers: none yet")
    for key, value in shown["answers"].items():
        lines.append(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    referral = shown["referral"]
    if referral is None:
        lines.append("Referral: none")
    else:
        lines.append(f"Referral #{referral['id']}: {referral['status']}, severity {referral['severity']}")
        for step in ("claimed", "contacted", "closed"):
            if referral.get(f"{step}_at"):
                lines.append(f"  {step} by {referral.get(f'{step}_by') or '?'} at {referral[f'{step}_at']}")
        if referral.get("outcome_note"):
            lines.append(f"  note: {referral['outcome_note']}")
        lines.append(f"  transcript: {referral['transcript_url']}")
    return "\n".join(lines)


def _expire(args: argparse.Namespace) -> int:
    from bot.store import consultations

    minutes = args.idle_minutes or settings.get().abandon_after_minutes
    count = consultations.expire_idle(minutes)
    print(f"abandoned {count} consultation(s) idle for more than {minutes} minutes")
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    from bot.store import db, migrate

    migrate.upgrade(revision=args.revision)
    url = db.database_url()
    print(f"database at revision {migrate.current_revision(url)} ({db.url_for_display(url)})")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from bot.store import retention

    removed = retention.purge_counts(args.older_than_days)
    print(
        f"purged {removed.consultations} consultation(s) and {removed.events} transcript event(s) "
        f"older than {args.older_than_days} days"
    )
    _scrub()
    return 0


def _scrub() -> None:
    """No copy of what was just deleted left readable in the database's files (SQLite WAL; PostgreSQL VACUUM)."""
    from bot.store import db

    if not db.scrub():
        print(
            "warning: another process kept the write-ahead log busy; the deleted data leaves it at the next "
            "checkpoint (or run this command again)",
            file=sys.stderr,
        )


def _export(args: argparse.Namespace) -> int:
    from bot.web import staff_urls

    exported = staff_urls.export(args.conversation_id)
    if not exported["consultations"] and not exported["transcript"]:
        return _error(f"nothing stored for conversation id {args.conversation_id!r}")
    _print_json(exported)
    return 0


def _erase(args: argparse.Namespace) -> int:
    from bot.store import erasure

    if not args.yes:
        return _error("erasing cannot be undone: add --yes to delete this client's consultations and transcript")
    removed = erasure.erase_counts(args.conversation_id)
    if not removed.consultations and not removed.events:
        return _error(f"nothing stored for conversation id {args.conversation_id!r}")
    print(f"erased {removed.consultations} consultation(s) and {removed.events} transcript event(s)")
    _scrub()
    return 0
