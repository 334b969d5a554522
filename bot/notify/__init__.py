"""Notifications to practitioners: emails composed here, queued in the outbox (bot.store.outbox), sent by SMTP."""

from bot.notify.delivery import deliver_due, queue_referral_notices, run_once

__all__ = ["deliver_due", "queue_referral_notices", "run_once"]
