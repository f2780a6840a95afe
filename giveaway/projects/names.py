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


def normalize_many(names: list[str]) -> list[str]:
    """`normalize` for a whole list at once (the same result, far fewer Python steps).

    The names must not contain a newline; valid names never do.
    """
    if not names:
        return []
    joined = "\n".join(names).replace("_", "-").replace(".", "-").lower()
    if "--" in joined:
        joined = _RUNS_OF_DASHES.sub("-", joined)
    return joined.split("\n")


_RUNS_OF_DASHES = re.compile(r"-{2,}")
