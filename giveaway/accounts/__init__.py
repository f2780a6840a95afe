"""Accounts: registration, sign-in, verification, password reset and activation."""
