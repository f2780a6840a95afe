"""The claim over HTTP on PostgreSQL: four statements and the commit.

The account is read with its eligibility facts in one statement, then locked,
then the pool is asked, then the claim statement takes a code (and records its
event); the receipt is written after the response.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from giveaway.mail.courier import Courier
from tests.conftest import csrf_token, login
from tests.factories import make_batch, make_maintainer

pytestmark = pytest.mark.postgres


def test_a_claim_over_http_is_four_statements(pg_app, monkeypatch):
    pg_app.config["MAIL_DELIVERY"] = "background"
    held: list[object] = []
    monkeypatch.setattr(Courier, "submit_work", lambda self, work: held.append(work))
    make_batch(pg_app, codes=["PG-HTTP-CODE-1"])
    make_maintainer(pg_app, "maria")
    client = pg_app.test_client()
    login(client, "maria")
    token = csrf_token(client, "/giveaway")
    sent: list[str] = []

    def note(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        sent.append(statement)

    engine = pg_app.extensions["db.engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        response = client.post("/giveaway/claim", data={"csrf_token": token, "region": "FR"})
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert response.status_code == 303
    assert len(sent) == 4, "\n\n".join(sent)
    assert "FOR UPDATE" in sent[1]
    assert len(held) == 1  # the receipt, written after the response
    assert "PG-HTTP-CODE-1" in client.get("/giveaway").get_data(as_text=True)
