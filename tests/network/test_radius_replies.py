"""The reply merge (FreeRADIUS's pairmove rules) and the cache's handling of odd data."""

from __future__ import annotations

import logging

from ispcore.domain.network.replies import merge
from ispcore.network.radius.cache import RadiusCache


def test_user_items_come_first_and_group_items_merge_by_operator():
    user = [("Mikrotik-Rate-Limit", ":=", "10M/10M"), ("Framed-IP-Address", "=", "10.0.0.5")]
    group = [("Mikrotik-Rate-Limit", "=", "1M/1M"),        # present: not added
             ("Framed-IP-Address", ":=", "10.9.9.9"),      # replaces the user's
             ("Mikrotik-Address-List", "=", "customers"),  # absent: added
             ("Mikrotik-Address-List", "=", "second"),     # compared with the user's only
             ("Reply-Message", "+=", "one"),
             ("Reply-Message", "+=", "two"),
             ("Session-Timeout", "-=", "1")]               # unsupported: skipped
    assert merge(user, group) == [
        ("Mikrotik-Rate-Limit", "10M/10M"), ("Framed-IP-Address", "10.9.9.9"),
        ("Mikrotik-Address-List", "customers"), ("Mikrotik-Address-List", "second"),
        ("Reply-Message", "one"), ("Reply-Message", "two")]


def test_attribute_names_match_regardless_of_case():
    assert merge([("mikrotik-rate-limit", "=", "10M")],
                 [("Mikrotik-Rate-Limit", "=", "1M"), ("SESSION-TIMEOUT", ":=", "60")]) == [
        ("mikrotik-rate-limit", "10M"), ("SESSION-TIMEOUT", "60")]


def test_each_user_item_is_replaced_once():
    user = [("Class", "=", "a"), ("Class", "=", "b")]
    group = [("Class", ":=", "x"), ("Class", ":=", "y"), ("Class", ":=", "z")]
    assert merge(user, group) == [("Class", "x"), ("Class", "y"), ("Class", "z")]


async def test_an_unknown_attribute_is_skipped_with_a_warning(runtime, seeded, caplog):
    cache = RadiusCache(runtime.db, runtime.settings.vault_key)
    with caplog.at_level(logging.WARNING):
        assert await cache.load_users() == 2
    assert "Acme-Not-In-Dictionary" in caplog.text
    alice = cache.users[b"alice"]
    assert b"10M/20M" in alice.reply and b"Acme" not in alice.reply
    assert not cache.users[b"mallory"].accept
    assert await cache.load_users() == 0  # nothing new since
