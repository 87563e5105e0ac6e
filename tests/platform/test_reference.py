"""Countries and subdivisions normalised to the one stored form, and refused when unknown."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ispcore.domain.common.errors import DomainError, Validator
from ispcore.domain.common.reference import clean_jurisdiction, country_code, subdivision_code


@pytest.mark.parametrize("written", ["US-KS", "KS", "ks", " us-ks ", "Us-Ks", "Kansas",
                                     " KANSAS "])
def test_every_spelling_of_a_subdivision_is_stored_as_its_code_after_the_dash(written):
    assert subdivision_code("US", written) == "KS"


@pytest.mark.parametrize(("country", "written", "stored"), [
    ("CA", "CA-ON", "ON"), ("DE", "de-be", "BE"), ("FR", "FR-75C", "75C"),
    ("GB", "England", "ENG"), ("US", "District of Columbia", "DC")])
def test_subdivisions_of_other_countries_and_kinds(country, written, stored):
    assert subdivision_code(country, written) == stored


@pytest.mark.parametrize(("country", "written"), [
    ("US", "US-ZZ"), ("US", "ZZ"), ("US", "Narnia"), ("US", "CA-ON"), ("US", "ON"),
    ("CA", "US-KS"), ("US", "US-"), ("US", "-KS")])
def test_a_subdivision_unknown_in_its_country_is_refused_naming_the_field(country, written):
    with pytest.raises(DomainError) as refused:
        subdivision_code(country, written)
    assert (refused.value.field, refused.value.code) == ("subdivision", "INVALID")
    assert written in refused.value.message and country in refused.value.message


def test_a_name_two_subdivisions_share_is_not_guessed():
    """Spain has a province and a community both called La Rioja (ES-LO and ES-RI)."""
    with pytest.raises(DomainError):
        subdivision_code("ES", "La Rioja")
    assert subdivision_code("ES", "ES-RI") == "RI"


def test_blank_is_no_subdivision_and_a_subdivision_needs_its_country():
    assert subdivision_code("US", "  ") is None
    assert subdivision_code("US", None) is None
    with pytest.raises(DomainError) as refused:
        subdivision_code(None, "KS")
    assert refused.value.field == "subdivision"


def test_countries_are_alpha_2_codes():
    assert country_code(" us ") == "US"
    assert country_code(None, required=False) is None
    assert country_code(" ", required=False) is None
    for bad in ("USA", "ZZ", "", None, "U"):
        with pytest.raises(DomainError) as refused:
            country_code(bad)
        assert refused.value.field == "country"


def test_a_change_is_checked_against_the_row_it_lands_on():
    current = SimpleNamespace(country="US", subdivision="KS")
    v = Validator()
    values = {"subdivision": "texas"}
    clean_jurisdiction(v, values, current)
    assert (v.errors, values) == ([], {"subdivision": "TX"})

    moved = {"country": "ca"}
    clean_jurisdiction(v, moved, current)
    assert [(e.field, e.code) for e in v.errors] == [("subdivision", "INVALID")]

    v = Validator()
    both = {"country": "ca", "subdivision": "Ontario"}
    clean_jurisdiction(v, both, current)
    assert (v.errors, both) == ([], {"country": "CA", "subdivision": "ON"})

    untouched = {"city": "Topeka"}
    clean_jurisdiction(v, untouched, SimpleNamespace(country="US", subdivision="Kansas?"))
    assert (v.errors, untouched) == ([], {"city": "Topeka"})
