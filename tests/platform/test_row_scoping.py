"""Row-level narrowing applies in SQL: lists, totals and node(id:) agree."""

from __future__ import annotations

TOKENS = "{ personalAccessTokens { totalCount edges { node { id name } } } }"


async def test_a_user_sees_only_their_own_tokens_everywhere(api):
    _, mine = await api.user_with_token("me@example.com")
    _, theirs = await api.user_with_token("them@example.com")
    own = (await api.data(TOKENS, token=mine))["personalAccessTokens"]
    other = (await api.data(TOKENS, token=theirs))["personalAccessTokens"]
    assert own["totalCount"] == other["totalCount"] == 1
    their_id = other["edges"][0]["node"]["id"]
    assert their_id != own["edges"][0]["node"]["id"]

    query = "query($id: ID!) { node(id: $id) { id ... on PersonalAccessToken { name } } }"
    assert (await api.data(query, {"id": their_id}, mine)) == {"node": None}
    assert (await api.data(query, {"id": their_id}, theirs))["node"]["id"] == their_id
