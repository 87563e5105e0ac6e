"""A value against a check's warning and critical thresholds."""

from __future__ import annotations

from ispcore.domain.monitoring.models import CheckState, ThresholdDirection


def _past(value: float, threshold: float | None, direction: str) -> bool:
    if threshold is None:
        return False
    return value >= threshold if direction == ThresholdDirection.ABOVE else value <= threshold


def state_of(value: float | None, warning: float | None, critical: float | None,
             direction: str) -> CheckState:
    """CRITICAL past the critical threshold, else WARNING past the warning one, else OK
    (also when the check has no thresholds); UNKNOWN without a value."""
    if value is None:
        return CheckState.UNKNOWN
    if _past(value, critical, direction):
        return CheckState.CRITICAL
    if _past(value, warning, direction):
        return CheckState.WARNING
    return CheckState.OK


def threshold_for(state: str, warning: float | None, critical: float | None) -> float | None:
    """The threshold that puts a value in ``state`` (None for OK and UNKNOWN)."""
    return {CheckState.WARNING: warning, CheckState.CRITICAL: critical}.get(state)
