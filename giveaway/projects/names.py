"""Project names as the index compares them (PEP 503)."""

import re

_SEPARATORS = re.compile(r"[-_.]+")
# PEP 508 names: letters, digits, and . _ - inside, starting and ending alphanumeric.
_VALID = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def normalize(name: str) -> str:
    """Lowercase, with every run of -, _ and . turned into a single -."""
    return _SEPARATORS.sub("-", name).lower()


def is_valid(name: str) -> bool:
    return bool(_VALID.match(name))
