"""What is due now: the one question the scheduler's recurring job asks the core.

Scheduled announcements are published; due reminders are queued in small chunks, each its
own transaction, so a large batch never holds the database (or the event loop) for long.
Dedupe keys and status changes make a rerun, or two overlapping runs, queue nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.broadcast import publish, queue_reminders
from bot.context import Services

REMINDER_CHUNK = 200


@dataclass(frozen=True)
class DueReport:
    announcements: int
    reminders: int


def run_due(services: Services, now: datetime) -> DueReport:
    published = 0
    while True:
        with services.uow_factory() as uow:
            due = uow.announcements.due(now, 1)
            if not due:
                break
            publish(uow, services.network, services.catalogs, due[0], now)
            uow.commit()
            published += 1
    reminders = 0
    while True:
        with services.uow_factory() as uow:
            count = queue_reminders(uow, services.network, now, REMINDER_CHUNK)
            uow.commit()
        if count == 0:
            break
        reminders += count
    return DueReport(announcements=published, reminders=reminders)
