"""Fuzz every importer through its command: never a crash, never half a write.

Each example writes a file, runs the command and checks the outcome: either
it succeeds, or it exits 1 with a message saying what was wrong (row-level
problems name their line or row) and every table holds what it held before.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ, table_counts

# Pieces hostile files are made of: plausible cells and nasty ones.
NASTY = st.sampled_from(
    [
        "",
        " ",
        '"',
        '""',
        ",",
        "\x00",
        "\ufeff",
        "\u202e",
        "é",
        "💥",
        "<script>alert(1)</script>",
        "'; DROP TABLE users; --",
        '=HYPERLINK("http://x")',
        "-1",
        "1e309",
        "NaN",
        "99999999999999999999999",
        "a" * 300,
        "\r",
        "\n",
        "Owner",
        "maintainer",
        "flask",
        "Flask_Tiny",
        "maria",
        "maria@example.org",
    ]
)
CELL = st.one_of(
    NASTY, st.text(max_size=20), st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True)
)


def csv_text(columns: int) -> st.SearchStrategy[str]:
    row = st.lists(CELL, min_size=0, max_size=columns + 2).map(",".join)
    return st.lists(row, max_size=8).map("\n".join)


def rejected_cleanly(result, before, after, *, where: re.Pattern[str] | None) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    if result.exit_code == 1:
        assert after == before, "a rejected file changed the database"
        message = result.output.strip()
        assert message, "rejected without a reason"
        if where is not None:
            # Every listed problem names its line/row, or is about the whole
            # file or an option (a sentence starting with a capital letter).
            lines = message.splitlines()
            start = next(i for i, line in enumerate(lines) if line.startswith("Error:"))
            for item in lines[start + 1 :]:
                item = item.strip()
                assert item, f"an empty problem line in: {message!r}"
                if item.startswith("…"):
                    continue
                assert where.match(item) or item[:1].isupper(), f"no line number: {item!r}"


def run(runner, tmp_path: Path, args: list[str], data: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / "input"
    path.write_bytes(data)
    return runner.invoke(args=[args[0], str(path), *args[1:]])


ROLE_ROW = st.tuples(
    st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,10}", fullmatch=True), CELL),
    st.one_of(st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True), CELL),
    st.one_of(st.emails().map(lambda e: e[:60]), CELL),
    st.one_of(st.sampled_from(["Owner", "Maintainer", "owner"]), CELL),
).map(",".join)


@FUZZ
@given(
    st.one_of(
        csv_text(4),
        st.lists(ROLE_ROW, max_size=6).map("\n".join),
        st.lists(ROLE_ROW, max_size=6).map(
            lambda rows: "\n".join(["project,username,email,role", *rows])
        ),
    ),
    st.sampled_from(["utf-8", "utf-8-sig", "latin-1-garbage"]),
)
def test_import_roles_never_crashes_or_half_writes(any_app, tmp_path, text, encoding):
    if encoding == "latin-1-garbage":
        data = text.encode("utf-8", "surrogatepass") + b"\xff\xfe"
    else:
        data = text.encode(encoding, "surrogatepass")
    before = table_counts(any_app)
    result = run(any_app.test_cli_runner(), tmp_path, ["import-roles"], data)
    rejected_cleanly(result, before, table_counts(any_app), where=re.compile(r"line \d+"))


@FUZZ
@given(st.binary(max_size=200))
def test_import_roles_survives_arbitrary_bytes(any_app, tmp_path, data):
    before = table_counts(any_app)
    result = run(any_app.test_cli_runner(), tmp_path, ["import-roles"], data)
    rejected_cleanly(result, before, table_counts(any_app), where=re.compile(r"line \d+"))


def roles_on_unproven_accounts(app, *, besides: str) -> int:  # type: ignore[no-untyped-def]
    """Roles held by accounts (other than `besides`) registered here and never verified."""
    from giveaway import db
    from giveaway.accounts.models import User
    from giveaway.projects.models import Role

    with app.app_context():
        return db.session().scalar(
            sa.select(sa.func.count())
            .select_from(Role)
            .join(User, User.id == Role.user_id)
            .where(User.email_verified_at.is_(None), User.password_hash.is_not(None))
            .where(User.username != besides)
        )


@pytest.fixture
def squatted(app):  # type: ignore[no-untyped-def]
    """Names and addresses the generated rows use, registered beforehand by others."""
    from tests.conftest import make_user
    from tests.factories import make_project

    stranger = make_user(app, "maria", email="stranger@example.net", email_verified_at=None)
    make_user(app, "decoy", email="maria@example.org", email_verified_at=None)
    verified = make_user(app, "flask", email="someone@example.net")
    make_project(app, "Flask_Tiny", maintainers=[(verified, "Owner"), (stranger, "Owner")])
    return app


@FUZZ
@given(
    st.lists(
        st.one_of(ROLE_ROW, st.sampled_from(["flask_tiny,,,", "flask,,,", "x,,,"])), max_size=6
    ).map(lambda rows: "\n".join(["project,username,email,role", *rows])),
    st.booleans(),
)
def test_import_roles_never_gives_a_role_to_an_unproven_account(
    squatted, runner, tmp_path, text, full
):  # type: ignore[no-untyped-def]
    before = table_counts(squatted)
    flags = ["--full"] if full else []
    result = run(runner, tmp_path, ["import-roles", *flags], text.encode("utf-8", "surrogatepass"))
    rejected_cleanly(result, before, table_counts(squatted), where=re.compile(r"line \d+"))
    # Whatever the file, no import gives an unverified registration a role (the
    # stranger "maria" held one before; it goes when --full names the project).
    assert roles_on_unproven_accounts(squatted, besides="maria") == 0, result.output


DOWNLOAD_ROW = st.tuples(
    st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,10}", fullmatch=True), CELL),
    st.one_of(st.integers(min_value=-5, max_value=10**20).map(str), CELL),
).map(",".join)

JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
JSON_ROW = st.one_of(
    st.fixed_dictionaries(
        {
            "project": st.one_of(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), JSON_VALUE),
            "download_count": st.one_of(st.integers(-3, 10**12), JSON_VALUE),
        }
    ),
    JSON_VALUE,
)
JSON_DOC = st.one_of(
    st.fixed_dictionaries({"rows": st.lists(JSON_ROW, max_size=6)}),
    st.fixed_dictionaries(
        {"last_update": st.text(max_size=10), "rows": st.lists(JSON_ROW, max_size=6)}
    ),
    st.lists(JSON_ROW, max_size=6),
    JSON_VALUE,
)


def json_bytes(doc: object) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


WHERE_DOWNLOADS = re.compile(r"(line|row) \d+")


@FUZZ
@given(
    st.one_of(
        csv_text(2),
        st.lists(DOWNLOAD_ROW, max_size=8).map("\n".join),
        st.lists(DOWNLOAD_ROW, max_size=8).map(lambda r: "\n".join(["project,downloads", *r])),
    )
)
def test_import_downloads_csv(any_app, tmp_path, text):
    before = table_counts(any_app)
    result = run(
        any_app.test_cli_runner(),
        tmp_path,
        ["import-downloads", "--period", "2026-03"],
        text.encode("utf-8", "surrogatepass"),
    )
    rejected_cleanly(result, before, table_counts(any_app), where=WHERE_DOWNLOADS)


@FUZZ
@given(
    st.one_of(JSON_DOC.map(json_bytes), JSON_DOC.map(json_bytes).map(lambda b: b[: len(b) // 2]))
)
def test_import_downloads_json(any_app, tmp_path, data):
    before = table_counts(any_app)
    result = run(
        any_app.test_cli_runner(), tmp_path, ["import-downloads", "--period", "2026-03"], data
    )
    rejected_cleanly(result, before, table_counts(any_app), where=WHERE_DOWNLOADS)


@FUZZ
@given(st.binary(max_size=200), st.sampled_from(["2026-03", "2026-03-14", "March", "2026-13", ""]))
def test_import_downloads_arbitrary_bytes_and_periods(any_app, tmp_path, data, period):
    before = table_counts(any_app)
    result = run(
        any_app.test_cli_runner(), tmp_path, ["import-downloads", "--period", period], data
    )
    rejected_cleanly(result, before, table_counts(any_app), where=WHERE_DOWNLOADS)


CODE_LINE = st.one_of(
    st.from_regex(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", fullmatch=True),
    st.sampled_from(["code", "code,extra", '"ABCD-1234",x', "ABCD-EFGH-IJKL"]),
    CELL,
)
_batches = iter(range(10**9))


@FUZZ
@given(
    st.one_of(st.lists(CODE_LINE, max_size=8).map("\n".join), csv_text(2)),
    st.sampled_from(["2030-01-01", "2020-01-01", "soon", "2030-02-30", ""]),
    st.sampled_from(["1", "2", "0", "11", "-1"]),
    st.one_of(st.just("batch"), CELL),
)
def test_load_codes(any_app, tmp_path, text, expires, keys, name):
    before = table_counts(any_app)
    name = f"{name}-{next(_batches)}" if name == "batch" else name
    result = run(
        any_app.test_cli_runner(),
        tmp_path,
        ["load-codes", "--batch", name, "--expires", expires, "--keys-per-code", keys],
        text.encode("utf-8", "surrogatepass"),
    )
    if result.exit_code == 2:  # click refused an option (e.g. --batch "-x"): said why
        assert "Error" in result.output
        assert table_counts(any_app) == before
        return
    rejected_cleanly(result, before, table_counts(any_app), where=re.compile(r"line \d+"))


@FUZZ
@given(st.binary(max_size=200))
def test_load_codes_arbitrary_bytes(any_app, tmp_path, data):
    before = table_counts(any_app)
    result = run(
        any_app.test_cli_runner(),
        tmp_path,
        ["load-codes", "--batch", f"b{next(_batches)}", "--expires", "2030-01-01"],
        data,
    )
    rejected_cleanly(result, before, table_counts(any_app), where=re.compile(r"line \d+"))
