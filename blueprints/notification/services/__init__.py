"""The notification domain's public face: send, templates, the in-app inbox, preferences, delivery tracking.

``send`` writes rows in the caller's transaction; delivery happens in a job after commit, so nothing
is sent from inside a web request and a rolled-back change sends nothing. One module per concept:
templates (with the built-in defaults and the rendering sandbox), sending, batches and delivery (the job's side),
delivery_log, tracking (admins), inbox, user_preferences, workers (the jobs page).
"""

from blueprints.notification.services.batches import (
    Claimed,
    Outcome,
    claim,
    claim_for_delivery,
    commit_claim,
    record,
    record_batch_handover,
    record_handover,
)
from blueprints.notification.services.defaults import ADMIN_ALERTS, CODES
from blueprints.notification.services.delivery import due_for_retry, record_receipt
from blueprints.notification.services.delivery_log import history
from blueprints.notification.services.inbox import get_inbox_item, inbox_query, mark_read, unread_count
from blueprints.notification.services.push import (
    expired,
    public_key,
    push_enabled,
    pushed,
    subscribe,
    subscription_count,
    subscriptions_for,
    unsubscribe,
)
from blueprints.notification.services.sending import (
    EMAIL,
    PHONE,
    Recipient,
    enqueue_deliveries,
    enqueue_delivery,
    send,
)
from blueprints.notification.services.templates import (
    CODE,
    TemplateText,
    active_template,
    catalogue,
    channels_for,
    get_template,
    preview,
    save_template,
    template_versions,
    templates_query,
)
from blueprints.notification.services.tracking import delivery_query, get_notification, mark_sent, receipts, resend
from blueprints.notification.services.user_preferences import preferences, set_preference
from blueprints.notification.services.waiting import work_waiting
from blueprints.notification.services.workers import Overview, failed_jobs, jobs_overview, retry_failed_job

__all__ = [
    "expired",
    "public_key",
    "push_enabled",
    "pushed",
    "subscribe",
    "subscription_count",
    "subscriptions_for",
    "unsubscribe",
    "CODE",
    "ADMIN_ALERTS",
    "CODES",
    "EMAIL",
    "PHONE",
    "Overview",
    "Recipient",
    "TemplateText",
    "active_template",
    "catalogue",
    "channels_for",
    "Claimed",
    "Outcome",
    "claim",
    "record",
    "claim_for_delivery",
    "commit_claim",
    "record_batch_handover",
    "record_handover",
    "delivery_query",
    "due_for_retry",
    "enqueue_deliveries",
    "enqueue_delivery",
    "failed_jobs",
    "get_inbox_item",
    "get_notification",
    "get_template",
    "history",
    "inbox_query",
    "jobs_overview",
    "mark_read",
    "preferences",
    "preview",
    "receipts",
    "record_receipt",
    "mark_sent",
    "resend",
    "retry_failed_job",
    "save_template",
    "send",
    "set_preference",
    "template_versions",
    "templates_query",
    "unread_count",
    "work_waiting",
]
