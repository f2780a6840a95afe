"""Project names as the index compares them (PEP 503)."""

import re

_SEPARATORS = re.compile(r"[-_.]+")
# PEP 508 names: letters, digits, and . _ - inside, starting and ending alphanumeric.
_VALID = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


_ALLOWED = re.compile(r"[A-Z0-9._-]", re.IGNORECASE)
VALID_NAME_HINT = (
    "a project name uses only letters, digits, '.', '_' and '-', and starts and ends "
    "with a letter or digit (for example 'requests' or 'zope.interface')"
)


def problem(name: str, max_length: int = 200) -> str | None:
    """Why `name` is not a valid project name, with what a valid one looks like; None if valid."""
    if not name:
        return "the project name is empty"
    shown = repr(name[:80])
    if len(name) > max_length:
        return f"{shown} is not a valid project name: it is longer than {max_length} characters"
    if is_valid(name):
        return None
    odd = sorted({c for c in name if not _ALLOWED.fullmatch(c)})
    if odd:
        why = "it contains " + ", ".join(repr(c) for c in odd[:5])
    elif not name[0].isalnum():
        why = f"it starts with {name[0]!r}"
    else:
        why = f"it ends with {name[-1]!r}"
    return f"{shown} is not a valid project name: {why}; {VALID_NAME_HINT}"


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
