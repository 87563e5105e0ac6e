"""Scheduled events: an action on an account on a future date, run once by a job."""
