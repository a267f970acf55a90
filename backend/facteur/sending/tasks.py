"""The sending tasks: each takes ids, runs one service, and the send task schedules its
own next run."""

from __future__ import annotations

from celery import shared_task

from facteur.sending import delivery_reports, services


@shared_task(name="facteur.sending.tasks.message_send")
def message_send(message_id: str, token: str | None = None) -> float | None:
    """Deliver message ``message_id`` (see ``services.message_send``).

    Retries are this task's: when recipients wait for a retry (or the message is
    not due yet) it queues itself again for that moment, unless another chain of
    runs has taken over (``token``, see ``services.message_send_continue``).
    """
    wait = services.message_send(message_id=message_id)
    # Run eagerly (CELERY_TASK_ALWAYS_EAGER), a countdown would not wait: no loop then.
    if wait is not None and not message_send.app.conf.task_always_eager:
        services.message_send_continue(message_id=message_id, token=token, wait=wait)
    return wait


@shared_task(name="facteur.sending.tasks.sends_sweep")
def sends_sweep() -> int:
    """Re-queue sends whose task was lost (Celery beat, every minute)."""
    return len(services.sends_sweep())


@shared_task(name="facteur.sending.tasks.delivery_report_apply")
def delivery_report_apply(message_id: str) -> str:
    """Apply the delivery report (DSN) stored as message ``message_id`` to what it reports on."""
    return delivery_reports.delivery_report_apply(message_id=message_id)
