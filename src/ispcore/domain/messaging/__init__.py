"""Messages to customers and staff: email and SMS queued in an outbox (``outbox.py``) and sent
by a job, the templates and triggers that write them, mass messages and saved messages."""
