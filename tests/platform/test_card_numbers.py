"""Card numbers are spotted in the values a mutation decodes to, however they are escaped,
separated or formatted, and nothing of the mutation is stored."""

from __future__ import annotations

import pytest

from ispcore.domain.common.card_numbers import has_card_number

WRITTEN_AS_PEOPLE_DO = [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111.1111.1111.1111",
    "4111/1111/1111/1111", "4111\u00a01111\u00a01111\u00a01111", "4111\n1111\n1111\n1111",
    "4111\u200b1111\u200b1111\u200b1111", "<b>4111</b> <i>1111</i> 1111<br/>1111",
    "4111&nbsp;1111&nbsp;1111&nbsp;1111", "&#52;111 1111 1111 1111",
    "paid with 4111 1111 1111 1111 on 2026-11-02", "ref 12 4111 1111 1111 1111",
    "\uff14\uff11\uff11\uff11 1111 1111 1111", "3782 822463 10005", "5500 0000 0000 0004"]
NOT_CARDS = [
    "4111 1111 1111 1112", "2026-11-02 14:00:00", "100.64.1.20", "+1 (555) 010-2030",
    "invoice 1234567 account 890", "41111111111111111111",
    "4111 1111 - - - - 1111 1111"]


@pytest.mark.parametrize("text", WRITTEN_AS_PEOPLE_DO)
def test_card_numbers_are_found_however_they_are_written(text):
    assert has_card_number(text)


@pytest.mark.parametrize("text", NOT_CARDS)
def test_other_numbers_are_not_card_numbers(text):
    assert not has_card_number(text)


CREATE = 'mutation {{ createCompany(input: {{name: {name}, currency: "USD", timeZone: "UTC"}}) ' \
    '{{ company {{ id }} errors {{ code }} }} }}'


async def test_a_card_number_hidden_in_escapes_or_literals_is_refused(api):
    token = await api.admin_token()
    for name in ('"\\u0034111 1111 1111 1111"', '"4111\\u00a01111\\u00a01111\\u00a01111"',
                 '"""4111\n1111\n1111\n1111"""', '"<b>4111</b> 1111 1111 1111"'):
        body = await api.gql(CREATE.format(name=name), token=token)
        assert body["data"] is None, name
        [error] = body["errors"]
        assert error["extensions"] == {"code": "CARD_NUMBER_REFUSED", "fields": ["input.name"]}
        assert "4111" not in error["message"]
    defaulted = """mutation($name: String = "4111 1111 1111 1111") { createCompany(input: {
      name: $name, currency: "USD", timeZone: "UTC"}) { errors { code } } }"""
    body = await api.gql(defaulted, token=token)
    assert body["errors"][0]["extensions"]["fields"] == ["name"]
    sent = """mutation($name: String!) { createCompany(input: {name: $name, currency: "USD",
      timeZone: "UTC"}) { errors { code } } }"""
    body = await api.gql(sent, {"name": "4111</span> <span>1111 1111 1111"}, token)
    assert body["errors"][0]["extensions"]["fields"] == ["name"]
    companies = await api.data("{ companies { totalCount } }", token=token)
    assert companies == {"companies": {"totalCount": 0}}
