"""The document tells the truth: optional fields, formats, filters, statuses, ids and headers."""

from __future__ import annotations

import pytest
import yaml

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return yaml.safe_load(Client().get("/api/schema/").content)


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_member_only_product_fields_are_not_required(document):
    product = document["components"]["schemas"]["ProductOutput"]
    for name in ("barcode", "track_inventory", "inventory_quantity", "allow_backorder"):
        assert name in product["properties"]
        assert name not in product["required"]
    assert "name" in product["required"]


@pytest.mark.parametrize(
    ("component", "field"),
    [("OrganizationOutput", "logo_url"), ("OrganizationOutput", "billing_email"), ("User", "avatar_url")],
)
def test_fields_sent_as_empty_strings_have_no_format(document, component, field):
    assert "format" not in document["components"]["schemas"][component]["properties"][field]


def test_product_list_documents_its_filters_ordering_and_page_size(document):
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert {"search", "organization", "status", "min_price", "max_price", "in_stock", "sku"} <= set(parameters)
    assert {"ordering", "cursor", "page_size"} <= set(parameters)
    assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1}
    assert "more than 100 reads 100" in parameters["page_size"]["description"]
    assert "allowEmptyValue" not in parameters["page_size"]  # empty is a 400, not "not given"
    assert parameters["search"]["schema"]["maxLength"] == 200


def test_every_operation_documents_the_shared_statuses(document):
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        assert {"401", "429", "500"} <= set(responses), (path, method)
        if any(p["in"] == "query" for p in operation.get("parameters", [])) or method in {"post", "put", "patch"}:
            assert "400" in responses, (path, method)
        if "{" in path:
            assert "404" in responses, (path, method)


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/v1/products/", "post", "404"),
        ("/api/v1/products/", "post", "409"),
        ("/api/v1/products/bulk-update/", "post", "404"),
        ("/api/v1/products/{id}/adjust-inventory/", "post", "409"),
        ("/api/v1/organizations/{organization_pk}/webhooks/", "post", "402"),
        ("/api/v1/organizations/", "post", "409"),
        ("/api/v1/organizations/{id}/leave/", "post", "409"),
        ("/api/v1/organizations/{organization_pk}/members/{id}/", "patch", "409"),
        ("/api/v1/organizations/{organization_pk}/invitations/", "post", "409"),
        ("/api/v1/invitations/accept/", "post", "404"),
        ("/api/v1/billing/checkout", "post", "404"),
        ("/api/v1/billing/portal", "post", "404"),
    ],
)
def test_operation_documents_its_own_statuses(document, path, method, status):
    assert status in document["paths"][path][method]["responses"]


def test_path_ids_are_uuids(document):
    for path, method, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"] == {"type": "string", "format": "uuid"}, (path, method)


def test_idempotency_key_rules_are_documented(document):
    (header,) = [
        p for p in document["paths"]["/api/v1/orders/"]["post"]["parameters"] if p["name"] == "Idempotency-Key"
    ]
    assert header["in"] == "header"
    assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"}
    assert "422" in header["description"]


def test_analytics_period_is_dates(document):
    parameters = {
        p["name"]: p["schema"]
        for p in document["paths"]["/api/v1/organizations/{organization_pk}/analytics/daily/"]["get"]["parameters"]
    }
    assert parameters["from"] == {"type": "string", "format": "date"}
    assert parameters["to"] == {"type": "string", "format": "date"}


# --- behaviour behind the document ---------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "0" * 36, "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "12345"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/{}/",
        "/api/v1/orders/{}/",
        "/api/v1/organizations/{}/",
        "/api/v1/users/me/sessions/{}",
        "/api/v1/organizations/{}/members/",
    ],
)
def test_malformed_ids_are_404_everywhere(owner, api_client_for, path, bad_id):
    response = api_client_for(owner).get(path.format(bad_id))
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "query", [{"page_size": "0"}, {"page_size": "-3"}, {"page_size": "x"}, {"page_size": ""}, {"cursor": "nope"}]
)
@pytest.mark.parametrize("path", ["/api/v1/products/", "/api/v1/billing/plans/"])
def test_bad_page_size_or_cursor_is_a_400(api_client, path, query):
    response = api_client.get(path, query)
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["details"]) == set(query)


@pytest.mark.parametrize(("value", "status"), [("true", 200), ("False", 200), ("", 200), ("0.44", 400), ("yes", 400)])
def test_boolean_filters_take_only_true_or_false(api_client, value, status):
    response = api_client.get("/api/v1/products/", {"in_stock": value})
    assert response.status_code == status, response.content


@pytest.mark.parametrize(("value", "status"), [("1000", 200), ("-5", 200), ("9007199254740992.0", 400), ("1e3", 400)])
def test_integer_filters_take_only_whole_numbers(api_client, value, status):
    response = api_client.get("/api/v1/products/", {"max_price": value})
    assert response.status_code == status, response.content
