"""Accounts: users, roles, login, password policy, lockout, revocable sessions."""
