"""Accounts: types, statuses, groups, the accounts themselves, their contacts and history."""
