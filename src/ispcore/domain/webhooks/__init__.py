"""Webhooks: endpoints partners register, the fan-out of outbox events into deliveries, and
their signed delivery (Standard Webhooks) with retries and a log."""
