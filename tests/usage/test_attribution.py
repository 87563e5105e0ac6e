"""The one rule for whose a record is when its name changed hands (no database): the holder at
the record's start, else the first to take it during the record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ispcore.domain.usage.attribution import AMBIGUOUS, Holding, holder

T = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def held(account: int, since: float, until: float | None = None, company: int = 1) -> Holding:
    return Holding(company, account, at(since), None if until is None else at(until))


def owner(holdings: list[Holding], start: float, end: float) -> object:
    found = holder(holdings, at(start), at(end))
    return found if found is None or found is AMBIGUOUS else found.account_id  # type: ignore[union-attr]


def test_a_change_of_holder_during_the_record_leaves_it_with_the_holder_at_its_start() -> None:
    handover = [held(1, -3600, 10), held(2, 10)]
    assert owner(handover, 0, 60) == 1          # 1 held it 10 s of the 60, 2 the other 50
    assert owner(handover, 10, 70) == 2         # the change at the start: the new holder
    assert owner(handover, -60, 0) == 1
    assert owner(list(reversed(handover)), 0, 60) == 1  # whatever order they come in


def test_nobody_at_the_start_gives_it_to_the_first_who_took_it_during_the_record() -> None:
    assert owner([held(2, 30)], 0, 60) == 2
    assert owner([held(2, 30), held(3, 40)], 0, 60) == 2
    assert owner([held(2, 10, 20), held(3, 40)], 0, 60) == 2  # took it first, gave it back
    assert owner([held(2, 60)], 0, 60) is None   # taken as the record ends: not during it
    assert owner([held(2, -60, 0)], 0, 60) is None  # given back as it starts
    assert owner([], 0, 60) is None


def test_two_accounts_at_the_deciding_instant_is_ambiguous() -> None:
    assert owner([held(1, -10), held(2, -5, company=2)], 0, 60) is AMBIGUOUS
    assert owner([held(1, 30), held(2, 30, company=2)], 0, 60) is AMBIGUOUS
    # Only the deciding instant counts: someone else later in the record is no ambiguity.
    assert owner([held(1, -10), held(2, 30, company=2)], 0, 60) == 1
    # Two holdings of one account (an address and the prefix it is in) are one holder.
    assert owner([held(1, -10), held(1, -5)], 0, 60) == 1


def test_a_record_without_duration_takes_the_holder_at_its_instant() -> None:
    assert owner([held(1, -10, 0), held(2, 0)], 0, 0) == 2
    assert owner([held(2, 1)], 0, 0) is None


def test_the_holding_found_names_its_assignment_or_login() -> None:
    found = holder([Holding(1, 7, at(0), None, holding_id=42)], at(5), at(6))
    assert found == Holding(1, 7, at(0), None, 42)
