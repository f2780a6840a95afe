"""What the giveaway's pages need to know about the signed-in account, read with it.

The page, the claim and the walkthrough ask the same things about an account:
its critical projects, its claimed code, whether it waits for a restock, its
keys and recovery codes. Each is a SQL form written in its own rule module;
here they are composed into columns that the user loader reads in the same
query as the account (`accounts.loader.load_with`), so a request to these
pages reads the account and all of this in one statement. Outside such a
request (a command, a test) `of` reads them in one query of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from giveaway.accounts import loader
from giveaway.accounts.models import User
from giveaway.claims.models import PromoCode, RestockRequest
from giveaway.projects import maintainers
from giveaway.twofactor import keys, status

# The pages whose requests read these facts with the signed-in account.
ENDPOINTS = ("giveaway.index", "giveaway.claim", "giveaway.notify", "giveaway.setup")


@dataclass(frozen=True)
class AccountFacts:
    critical_projects: list[str]
    claimed_code_id: int | None
    waiting_for_codes: bool
    key_count: int
    recovery_codes_left: int
    recovery_codes_saved: bool
    signed_in_with_key: bool


def claimed_code_id_sql(user_id: Any = None) -> ColumnElement[int | None]:
    """The id of the code the user (User.id, or the given id or column) claimed."""
    owner = User.id if user_id is None else user_id
    return select(PromoCode.id).where(PromoCode.claimed_by_id == owner).scalar_subquery()


def waiting_for_codes_sql(user_id: Any = None) -> ColumnElement[bool]:
    """The user asked to be told when codes return and has not been told yet."""
    owner = User.id if user_id is None else user_id
    return exists().where(RestockRequest.user_id == owner, RestockRequest.notified_at.is_(None))


def columns() -> dict[str, ColumnElement[Any]]:
    """The facts as columns over User, by AccountFacts field."""
    return {
        "critical_projects": maintainers.critical_projects_sql(),
        "claimed_code_id": claimed_code_id_sql(),
        "waiting_for_codes": waiting_for_codes_sql(),
        "key_count": status.key_count_sql(),
        "recovery_codes_left": status.recovery_codes_left_sql(),
        "recovery_codes_saved": status.recovery_codes_saved_sql(),
        "signed_in_with_key": keys.signed_in_with_key_sql(),
    }


def _facts(values: Mapping[str, Any]) -> AccountFacts:
    return AccountFacts(
        critical_projects=list(values["critical_projects"] or []),
        claimed_code_id=values["claimed_code_id"],
        waiting_for_codes=bool(values["waiting_for_codes"]),
        key_count=int(values["key_count"] or 0),
        recovery_codes_left=int(values["recovery_codes_left"] or 0),
        recovery_codes_saved=bool(values["recovery_codes_saved"]),
        signed_in_with_key=bool(values["signed_in_with_key"]),
    )


def of(session: Session, user: User) -> AccountFacts:
    """The facts about `user`: as the loader read them with the account, or read now."""
    loaded = loader.loaded_with(user)
    if loaded is not None:
        return _facts(loaded)
    named = columns()
    row = session.execute(
        select(*(c.label(n) for n, c in named.items())).where(User.id == user.id)
    ).one()
    return _facts(dict(row._mapping))


def init_app(app: Flask) -> None:
    loader.load_with(app, ENDPOINTS, columns)
