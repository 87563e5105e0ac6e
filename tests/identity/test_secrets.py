"""Token minting with a checksum, and argon2id password hashing."""

from __future__ import annotations

import hashlib
import string

from ispcore.domain.identity.secrets import (
    TokenKind,
    hash_password,
    mint_token,
    token_hash,
    token_kind,
    verify_password,
)

BASE62 = set(string.digits + string.ascii_letters)


def _change_char(token: str, index: int) -> str:
    replacement = "a" if token[index] != "a" else "b"
    return token[:index] + replacement + token[index + 1:]


def test_minted_tokens_round_trip_through_token_kind():
    for kind in TokenKind:
        token = mint_token(kind)
        assert token.startswith(kind.value)
        rest = token[len(kind.value):]
        assert len(rest) == 36
        assert set(rest) <= BASE62
        assert token_kind(token) is kind


def test_minted_tokens_are_random():
    tokens = {mint_token(TokenKind.PERSONAL_ACCESS) for _ in range(200)}
    assert len(tokens) == 200


def test_checksum_rejects_any_changed_character():
    token = mint_token(TokenKind.PERSONAL_ACCESS)
    prefix = len(TokenKind.PERSONAL_ACCESS.value)
    for index in range(prefix, len(token)):
        assert token_kind(_change_char(token, index)) is None, index


def test_token_kind_rejects_malformed_tokens():
    token = mint_token(TokenKind.SESSION)
    body = token[len("isp_ses_"):]
    assert token_kind(token + "0") is None
    assert token_kind(token[:-1]) is None
    assert token_kind(token[:-1] + "!") is None
    assert token_kind("isp_xyz_" + body) is None
    assert token_kind("") is None
    assert token_kind("garbage") is None
    assert token_kind(token.upper()) is None


def test_swapping_the_prefix_keeps_the_checksum_but_changes_the_kind():
    # The checksum covers the random body only; the prefix picks the table looked in.
    token = mint_token(TokenKind.SESSION)
    swapped = "isp_pat_" + token[len("isp_ses_"):]
    assert token_kind(swapped) is TokenKind.PERSONAL_ACCESS
    assert token_hash(swapped) != token_hash(token)


def test_token_hash_is_sha256_hex():
    token = mint_token(TokenKind.PERSONAL_ACCESS)
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert len(token_hash(token)) == 64


async def test_hash_password_is_argon2id_and_salted():
    first = await hash_password("correct horse battery staple")
    second = await hash_password("correct horse battery staple")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert "correct horse" not in first


async def test_verify_password_accepts_the_right_password_only():
    hashed = await hash_password("correct horse battery staple")
    assert await verify_password(hashed, "correct horse battery staple") is True
    assert await verify_password(hashed, "correct horse battery stapler") is False
    assert await verify_password(hashed, "") is False


async def test_verify_password_rejects_a_broken_hash_without_raising():
    assert await verify_password("not a hash", "whatever") is False
    assert await verify_password("", "whatever") is False


def test_allowlists_match_ipv4_addresses_seen_on_dual_stack_sockets():
    from ispcore.domain.identity.validation import address_allowed

    assert address_allowed(["203.0.113.0/24"], "::ffff:203.0.113.7")
    assert not address_allowed(["203.0.113.0/24"], "::ffff:198.51.100.1")
    assert address_allowed(["2001:db8::/32"], "2001:db8::1")
    assert not address_allowed(["203.0.113.0/24"], "not an address")
