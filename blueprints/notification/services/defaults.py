"""Built-in texts: what goes out for an event until an admin saves a version of their own."""

from __future__ import annotations

from dataclasses import dataclass, field

from blueprints.notification.models import Channel


@dataclass(frozen=True)
class DefaultTemplate:
    code: str
    channel: Channel
    subject: str
    body: str
    description: str
    variables: dict[str, str] = field(default_factory=dict)
    mandatory: bool = False


_COMMON = {"recipient_name": "the recipient's name"}
#: variables that carry a day: events send it as ISO 8601 (webhooks pass it on so), messages write it in words
DATES = frozenset({"service_date", "due_date", "paid_on"})


def _vars(**extra: str) -> dict[str, str]:
    return {**_COMMON, **extra}


CLAIM = _vars(
    claim_number="the claim number",
    status="the decision",
    total_billed="amount billed",
    total_approved="amount approved",
    member_number="the member number",
    service_date="date of service",
)
DISPUTE = _vars(
    claim_number="the claim number",
    dispute_id="the dispute number",
    status="the dispute's status",
    resolution="the adjudicator's resolution",
)
APPOINTMENT = _vars(
    patient_name="the patient", clinician="the clinician", starts_at="date and time", institution="the hospital"
)
INVOICE = _vars(
    invoice_number="the invoice number",
    total="invoice total",
    balance="amount due",
    due_date="payment due date",
    institution="the hospital",
)
PAYMENT = _vars(
    amount="amount received", reference="payment reference", paid_on="date paid", description="what was paid"
)

DEFAULTS: list[DefaultTemplate] = [
    DefaultTemplate(
        "claim.decided",
        Channel.EMAIL,
        "Claim {{ claim_number }}: {{ status }}",
        "Dear {{ recipient_name }},\n\nClaim {{ claim_number }} for the service of {{ service_date }} "
        "has been decided: {{ status }}.\nBilled: {{ total_billed }}. Approved: {{ total_approved }}.\n\n"
        "The explanation of benefits lists each line and the reason for its amount.\n",
        "A claim was decided",
        CLAIM,
    ),
    DefaultTemplate(
        "claim.decided",
        Channel.IN_APP,
        "Claim {{ claim_number }} {{ status }}",
        "Approved {{ total_approved }} of {{ total_billed }}.",
        "A claim was decided",
        CLAIM,
    ),
    DefaultTemplate(
        "claim.decided",
        Channel.SMS,
        "",
        "MedCover: claim {{ claim_number }} {{ status }}, approved {{ total_approved }}.",
        "A claim was decided",
        CLAIM,
    ),
    DefaultTemplate(
        "dispute.opened",
        Channel.EMAIL,
        "Dispute on claim {{ claim_number }} opened",
        "Dear {{ recipient_name }},\n\nA dispute (#{{ dispute_id }}) was opened on claim {{ claim_number }}. "
        "An adjudicator will review it.\n",
        "A dispute was opened",
        DISPUTE,
    ),
    DefaultTemplate(
        "dispute.opened",
        Channel.IN_APP,
        "Dispute opened on claim {{ claim_number }}",
        "Claim {{ claim_number }} is disputed.",
        "A dispute was opened",
        DISPUTE,
    ),
    DefaultTemplate(
        "dispute.resolved",
        Channel.EMAIL,
        "Dispute on claim {{ claim_number }}: {{ status }}",
        "Dear {{ recipient_name }},\n\nThe dispute on claim {{ claim_number }} was {{ status }}.\n\n{{ resolution }}\n",
        "A dispute was resolved",
        DISPUTE,
    ),
    DefaultTemplate(
        "dispute.resolved",
        Channel.IN_APP,
        "Dispute on claim {{ claim_number }} {{ status }}",
        "{{ resolution }}",
        "A dispute was resolved",
        DISPUTE,
    ),
    DefaultTemplate(
        "appointment.booked",
        Channel.SMS,
        "",
        "{{ institution }}: appointment with {{ clinician }} on {{ starts_at }} is booked.",
        "An appointment was booked",
        APPOINTMENT,
    ),
    DefaultTemplate(
        "appointment.booked",
        Channel.EMAIL,
        "Your appointment on {{ starts_at }}",
        "Dear {{ recipient_name }},\n\nYour appointment with {{ clinician }} at {{ institution }} is on "
        "{{ starts_at }}.\n",
        "An appointment was booked",
        APPOINTMENT,
    ),
    DefaultTemplate(
        "appointment.reminder",
        Channel.SMS,
        "",
        "Reminder: {{ institution }}, {{ clinician }}, {{ starts_at }}.",
        "A day before an appointment",
        APPOINTMENT,
    ),
    DefaultTemplate(
        "appointment.reminder",
        Channel.EMAIL,
        "Reminder: your appointment tomorrow",
        "Dear {{ recipient_name }},\n\nA reminder of your appointment with {{ clinician }} at "
        "{{ institution }} on {{ starts_at }}.\n",
        "A day before an appointment",
        APPOINTMENT,
    ),
    DefaultTemplate(
        "invoice.issued",
        Channel.EMAIL,
        "Invoice {{ invoice_number }} from {{ institution }}",
        "Dear {{ recipient_name }},\n\nInvoice {{ invoice_number }} of {{ total }} was issued. "
        "Amount due: {{ balance }} by {{ due_date }}.\n",
        "An invoice was issued",
        INVOICE,
    ),
    DefaultTemplate(
        "payment.received",
        Channel.EMAIL,
        "Payment received: {{ amount }}",
        "Dear {{ recipient_name }},\n\nWe received {{ amount }} on {{ paid_on }} for {{ description }} "
        "(reference {{ reference }}). Thank you.\n",
        "A payment was recorded",
        PAYMENT,
    ),
    DefaultTemplate(
        "payment.received",
        Channel.IN_APP,
        "Payment {{ amount }} received",
        "{{ description }} ({{ reference }})",
        "A payment was recorded",
        PAYMENT,
    ),
    DefaultTemplate(
        "user.password_changed",
        Channel.EMAIL,
        "Your MedCover password was changed",
        "Dear {{ recipient_name }},\n\nThe password of your MedCover account was changed on "
        "{{ changed_at }} and every session was signed out.\nIf this was not you, contact your "
        "administrator at once.\n",
        "Security notice after a password change",
        _vars(changed_at="when it changed"),
        mandatory=True,
    ),
    DefaultTemplate(
        "notification.test",
        Channel.EMAIL,
        "MedCover test message",
        "This is a test message from MedCover. If you can read it, email delivery works.\n",
        "Sent by `flask notifications test-email`",
        {},
        mandatory=True,
    ),
    DefaultTemplate(
        "notification.dead_lettered",
        Channel.IN_APP,
        "Delivery failed: {{ channel }} message",
        "Notification #{{ notification_id }} ({{ template_code }}) failed {{ attempts }} times: {{ error }}",
        "Alert to admins when delivery gives up",
        {
            "channel": "channel",
            "notification_id": "id",
            "template_code": "kind",
            "attempts": "tries",
            "error": "last error",
        },
        mandatory=True,
    ),
    DefaultTemplate(
        "notification.may_have_been_sent",
        Channel.IN_APP,
        "Check: {{ channel }} message may have been sent",
        "Notification #{{ notification_id }} ({{ template_code }}) lost its worker in the middle of sending: it may"
        " have gone out. It will not be sent again on its own. Check with the recipient, then mark it sent or send"
        " it again from its delivery page.",
        "Alert to admins when a message may or may not have gone out",
        {
            "channel": "channel",
            "notification_id": "id",
            "template_code": "kind",
            "attempts": "tries",
            "error": "last error",
        },
        mandatory=True,
    ),
]

BY_KEY: dict[tuple[str, Channel], DefaultTemplate] = {(t.code, t.channel): t for t in DEFAULTS}
CODES: list[str] = sorted({t.code for t in DEFAULTS})
#: alerts to administrators about delivery itself: not offered for editing beside the business messages
ADMIN_ALERTS = frozenset({"notification.dead_lettered", "notification.may_have_been_sent"})
