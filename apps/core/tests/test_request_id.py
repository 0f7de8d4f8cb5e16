import uuid

import pytest

pytestmark = pytest.mark.django_db


def test_response_carries_a_generated_request_id(client):
    response = client.get("/live")
    assert uuid.UUID(response["X-Request-ID"])


def test_sane_incoming_request_id_is_echoed(client):
    incoming = uuid.uuid4().hex
    response = client.get("/api/v1/nope/", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] == incoming
    assert response.json()["error"]["request_id"] == incoming


def test_insane_incoming_request_id_is_replaced(client):
    response = client.get("/live", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert "<script>" not in response["X-Request-ID"]
    assert uuid.UUID(response["X-Request-ID"])


def test_each_request_gets_its_own_id(client):
    assert client.get("/live")["X-Request-ID"] != client.get("/live")["X-Request-ID"]
