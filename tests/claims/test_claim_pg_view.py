"""The claim over HTTP on PostgreSQL: the account is read, and locked, with its facts."""

from __future__ import annotations

import pytest

from tests.conftest import login, post_form
from tests.factories import make_batch, make_maintainer

pytestmark = pytest.mark.postgres


def test_a_claim_over_http_on_postgresql(pg_app, caplog):
    make_batch(pg_app, codes=["PG-HTTP-CODE-1"])
    make_maintainer(pg_app, "maria")
    client = pg_app.test_client()
    login(client, "maria")
    response = post_form(client, "/giveaway/claim", {"region": "FR"}, page="/giveaway")
    assert response.status_code == 303, caplog.text
    assert "PG-HTTP-CODE-1" in client.get("/giveaway").get_data(as_text=True)
