"""Every request example under docs/examples/ runs against the app and gets the answer it promises.

REST examples are ``.http`` files (requests separated by ``###``; ``# expect:``
gives the status, ``# expect-header:`` a response header, ``# capture: name =
field`` keeps a field of the JSON answer for later ``{{name}}`` placeholders).
GraphQL examples are ``.graphql`` documents with optional ``.json`` variables;
they must answer data without errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.tests.factories import DEFAULT_PASSWORD
from apps.catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

EXAMPLES = Path(settings.BASE_DIR) / "docs" / "examples"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
BASE = "http://testserver"


def _fill(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _requests(path: Path) -> list[dict]:
    """Each block: directives from its comments, the request line, headers and body."""
    blocks = []
    for raw in path.read_text().split("###"):
        lines = raw.strip().splitlines()
        directives: list[tuple[str, str]] = []
        while lines and (lines[0].startswith("#") or not lines[0].strip()):
            comment = lines.pop(0).lstrip("# ").strip()
            name, _, value = comment.partition(":")
            if name in {"expect", "expect-header", "capture"}:
                directives.append((name, value.strip()))
        if not lines:
            continue
        method, url = lines.pop(0).split(maxsplit=1)
        headers: dict[str, str] = {}
        while lines and lines[0].strip():
            name, _, value = lines.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        blocks.append(
            {"method": method, "url": url, "headers": headers, "body": "\n".join(lines).strip(), "do": directives}
        )
    return blocks


@pytest.fixture
def example_values(owner, organization):
    product = ProductFactory(organization=organization, name="Espresso grinder", status="active")
    ProductFactory(organization=organization, name="Espresso cups", status="active")
    return {
        "base": BASE,
        "email": owner.email,
        "password": DEFAULT_PASSWORD,
        "organization": str(organization.pk),
        "product": str(product.pk),
    }


REST_EXAMPLES = sorted((EXAMPLES / "rest").glob("*.http"))
GRAPHQL_EXAMPLES = sorted((EXAMPLES / "graphql").glob("*.graphql"))


def test_examples_exist():
    assert len(REST_EXAMPLES) >= 3
    assert len(GRAPHQL_EXAMPLES) >= 2


@pytest.mark.parametrize("path", REST_EXAMPLES, ids=lambda p: p.name)
def test_rest_example_answers_as_documented(path, example_values):
    client = APIClient()
    values = dict(example_values)
    for block in _requests(path):
        url = urlsplit(_fill(block["url"], values))
        assert url.netloc == urlsplit(BASE).netloc, block["url"]
        headers = {f"HTTP_{k.upper().replace('-', '_')}": _fill(v, values) for k, v in block["headers"].items()}
        content_type = headers.pop("HTTP_CONTENT_TYPE", None)
        target = url.path + (f"?{url.query}" if url.query else "")
        body = _fill(block["body"], values)
        if content_type:
            response = client.generic(block["method"], target, body, content_type=content_type, **headers)
        else:
            response = client.generic(block["method"], target, **headers)
        for name, value in block["do"]:
            if name == "expect":
                assert response.status_code == int(value), (path.name, block["url"], response.content[:500])
            elif name == "expect-header":
                header, _, expected = value.partition("=")
                assert response[header.strip()] == expected.strip()
            elif name == "capture":
                key, _, field = value.partition("=")
                values[key.strip()] = str(response.json()[field.strip()])


@pytest.mark.parametrize("path", GRAPHQL_EXAMPLES, ids=lambda p: p.name)
def test_graphql_example_answers_data(path, example_values, owner, api_client_for):
    variables_file = path.with_suffix(".json")
    variables = json.loads(_fill(variables_file.read_text(), example_values)) if variables_file.exists() else {}
    body = {"query": path.read_text(), "variables": variables}
    response = api_client_for(owner).post("/graphql", body, format="json")
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    assert body["data"], body
