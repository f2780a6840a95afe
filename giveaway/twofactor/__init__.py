"""Two-factor authentication: security keys (WebAuthn), TOTP, recovery codes."""
