"""Every event type ispcore records, with one line on when it happens: what integrators pick
from when they subscribe a webhook. A test scans the source (``record_event`` calls and the
``"type"`` of ``record_events`` rows) and fails when a type is missing here."""

from __future__ import annotations


def _crud(prefix: str, what: str, verbs: tuple[str, ...] = ("created", "updated", "deleted")
          ) -> dict[str, str]:
    return {f"{prefix}.{verb}": f"{what} {verb}." for verb in verbs}


EVENT_TYPES: dict[str, str] = {
    "company.created": "A company (brand) was created.",
    "company.updated": "A company's details changed.",
    "company.deleted": "A company was deleted.",
    # accounts
    "account.created": "An account (or lead) was created.",
    "account.updated": "An account's details changed.",
    "account.deleted": "An account was deleted.",
    "account.status_changed": "An account moved to another account status.",
    "account.disconnected": "An account was disconnected.",
    "account.reactivated": "A disconnected account was reactivated.",
    "account.lead_converted": "A lead became a customer account.",
    "account.moved_in": "An account moved in at a serviceable address.",
    "account.moved_out": "An account moved out of a serviceable address.",
    "account.postal_address_set": "An account's postal address was set.",
    "account.postal_address_cleared": "An account's postal address was removed.",
    "account.billing_updated": "An account's billing terms changed.",
    "account.balance_changed": "An account's balance changed (a ledger entry was posted).",
    "account.late_fee_charged": "A late fee was charged to an account.",
    "account.delinquent": "An account became delinquent.",
    "account.delinquency_cleared": "A delinquent account is in good standing again.",
    **_crud("account_type", "An account type was"),
    **_crud("account_status", "An account status was"),
    **_crud("account_group", "An account group was"),
    **_crud("phone_number_type", "A phone number type was"),
    **_crud("custom_field", "A custom field was"),
    "contact.created": "A contact was added to an account.",
    "contact.updated": "A contact's details changed.",
    "contact.deleted": "A contact was removed.",
    "contact.primary_changed": "An account's primary contact changed.",
    "contact.portal_login_set": "A contact was given a customer portal login.",
    "contact.portal_login_removed": "A contact's customer portal login was removed.",
    **_crud("serviceable_address", "A serviceable address was"),
    # notes, tasks, calls, scheduled events
    **_crud("note", "A note was"),
    **_crud("task", "A task was"),
    "task.completed": "A task was completed.",
    "task.reopened": "A completed task was reopened.",
    **_crud("call_log", "A call log was"),
    "scheduled_event.created": "An event was scheduled on an account.",
    "scheduled_event.cancelled": "A scheduled event was cancelled.",
    "scheduled_event.succeeded": "A scheduled event ran.",
    "scheduled_event.failed": "A scheduled event could not run.",
    # billing
    "billing_settings.updated": "A company's billing settings changed.",
    "billing_defaults.updated": "An account type's billing defaults changed.",
    **_crud("gl_code", "A general ledger code was"),
    **_crud("service", "A service was"),
    **_crud("package", "A package was"),
    **_crud("discount", "A discount was"),
    **_crud("tax_rate", "A tax rate was"),
    **_crud("invoice_message", "An invoice message was"),
    "account_service.added": "A service or package was added to an account.",
    "account_service.changed": "A service on an account changed.",
    "account_service.removed": "A service or package was removed from an account.",
    "account_discount.added": "A discount was added to an account.",
    "account_discount.removed": "A discount was removed from an account.",
    **_crud("tax_exemption", "A tax exemption was"),
    "account_vacation.created": "A vacation hold was set on an account.",
    "account_vacation.deleted": "A vacation hold was removed.",
    "billing_run.completed": "A billing run finished.",
    "invoice.issued": "An invoice (or a credit note) was issued.",
    "invoice.voided": "An invoice was voided.",
    "invoice.written_off": "What an invoice had left to pay was written off.",
    "invoice_template.updated": "A company's invoice template changed.",
    "document_batch.requested": "A batch of invoice documents was requested.",
    "document_batch.completed": "A batch of invoice documents is ready.",
    **_crud("delinquency_exclusion", "A delinquency exclusion was"),
    "delinquency_settings.updated": "A company's delinquency settings changed.",
    # payments
    "payment.received": "A payment was received.",
    "payment.failed": "A payment attempt failed.",
    "payment.refunded": "A payment was refunded.",
    "payment_method.added": "A payment method was added to an account.",
    "payment_method.updated": "A payment method changed.",
    "payment_method.removed": "A payment method was removed.",
    "payment_batch.closed": "A payment batch was closed.",
    "payment_settings.updated": "A company's payment settings changed.",
    "ach_file.created": "An ACH file was generated.",
    # messages
    "email_settings.updated": "A company's outbound email (SMTP) settings changed.",
    "sms_settings.updated": "A company's SMS provider settings changed.",
    **_crud("message_category", "A message category was"),
    **_crud("message_template", "A message template was"),
    **_crud("message_trigger", "A message trigger was"),
    **_crud("saved_message", "A saved message was"),
    "mass_message.created": "A mass message was requested (its accounts are fixed).",
    "mass_message.cancelled": "A mass message was cancelled (messages queued stay).",
    "mass_message.done": "A mass message has queued its last batch.",
    "contact.notification_preferences_updated": "A contact's opt-outs (channels, categories) "
                                                "changed.",
    # network
    "network_settings.updated": "A company's network settings changed.",
    **_crud("network_site", "A network site was"),
    **_crud("supernet", "A supernet was"),
    **_crud("subnet", "A subnet was"),
    **_crud("ip_pool", "An IP pool was"),
    "ip_assignment.created": "An IP address was assigned.",
    "ip_assignment.released": "An IP address assignment was released.",
    **_crud("nas_client", "A NAS client was"),
    **_crud("radius_group", "A RADIUS group was"),
    "radius_credential.created": "RADIUS credentials were created.",
    "radius_credential.updated": "RADIUS credentials changed.",
    "radius_credential.removed": "RADIUS credentials were removed.",
    "radius_action.ack": "A NAS acknowledged a CoA or Disconnect-Request.",
    "radius_action.nak": "A NAS refused a CoA or Disconnect-Request.",
    "radius_action.timeout": "A NAS did not answer a CoA or Disconnect-Request.",
    "radius_action.error": "A CoA or Disconnect-Request could not be sent.",
    # usage
    **_crud("usage_policy", "A usage policy was"),
    **_crud("usage_free_period", "A usage free period was"),
    "usage.threshold_reached": "An account's usage reached a notification threshold.",
    "usage.throttled": "An account went over its allowance and is throttled.",
    "usage.throttle_lifted": "A throttled account is back at full speed.",
    "usage.top_up_purchased": "A data top-up was bought.",
    **_crud("netflow_exporter", "A NetFlow exporter was"),
    "preseem_settings.updated": "A company's Preseem connection changed.",
    # webhooks
    **_crud("webhook", "A webhook endpoint was"),
    "webhook.secret_rotated": "A webhook endpoint's signing secret was rotated.",
    "webhook.disabled": "A webhook endpoint was disabled (it answered 410 Gone or failed for "
                        "days); its creator is told.",
    "webhook.test": "Sent by sendTestWebhook to one endpoint only.",
    # monitoring
    **_crud("device", "A network device was"),
    **_crud("monitoring_template", "A monitoring template was"),
    **_crud("poller", "A poller was"),
    "poller.token_rotated": "A poller's token was replaced (the old one stops working).",
    "poller.down": "A poller stopped reporting (no heartbeat for three intervals).",
    "poller.up": "A poller that was down reports again.",
    "device.down": "A monitored device stopped answering.",
    "device.up": "A device that was down (or never polled) answers.",
    "device.threshold_breached": "A device's check went past its warning or critical "
                                 "threshold.",
    "device.threshold_cleared": "A device's check is back inside its thresholds.",
    **_crud("alerting_rotation", "An alerting rotation was"),
    "alert.opened": "An alert opened (a device down, a critical threshold, a silent poller).",
    "alert.acknowledged": "Someone on call acknowledged an alert.",
    "alert.escalated": "Nobody acknowledged an alert in time; the next level was notified.",
    "alert.closed": "An alert's subject recovered.",
    "alert.notified": "Sent to an alerting rotation's own webhook when it is notified.",
}

#: Types that exist only to be delivered to one chosen endpoint, never fanned out.
TARGETED_TYPES = frozenset({"webhook.test", "alert.notified"})


def unknown_patterns(patterns: list[str]) -> list[str]:
    """The ``patterns`` that name no event type: exact names, or ``prefix.*`` wildcards whose
    prefix no type has."""
    prefixes = {name.split(".", 1)[0] for name in EVENT_TYPES}
    return [p for p in patterns if not (
        p in EVENT_TYPES or (p.endswith(".*") and p[:-2] in prefixes) or p == "*")]


def matches(patterns: list[str], event_type: str) -> bool:
    return any(p == event_type or p == "*" or (p.endswith(".*") and
                                               event_type.startswith(p[:-1]))
               for p in patterns)
