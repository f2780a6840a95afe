from tests.factories import make_user


def test_home_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "security keys" in response.get_data(as_text=True)


def test_healthz(client):
    assert client.get("/healthz").status_code == 200


def test_login_logout(app, client, auth):
    make_user(app, "bob")
    response = auth.login("bob")
    assert response.status_code == 302
    assert "Signed in as bob" in client.get("/account/").get_data(as_text=True)
