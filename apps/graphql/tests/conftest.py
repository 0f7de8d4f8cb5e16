"""``gql(query, variables, user=...)``: POST a document to /graphql as a user (or anonymously)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient


class GraphQLResult:
    def __init__(self, response: Any) -> None:
        self.response = response
        self.status_code = response.status_code
        self.body = response.json()
        self.data = self.body.get("data")
        self.errors = self.body.get("errors") or []

    @property
    def codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.errors]

    @property
    def error(self) -> dict[str, Any]:
        assert len(self.errors) == 1, self.errors
        return self.errors[0]

    def __repr__(self) -> str:
        return f"<GraphQLResult {self.status_code} {self.body}>"


@pytest.fixture
def gql(api_client_for):
    """``gql(query, variables=None, user=None, client=None, headers=None)`` → :class:`GraphQLResult`."""
    clients: dict[Any, APIClient] = {}

    def run(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        user: Any = None,
        client: APIClient | None = None,
        **headers: str,
    ) -> GraphQLResult:
        if client is None:
            if user is None:
                client = APIClient()
            else:
                client = clients.get(user.pk) or api_client_for(user)
                clients[user.pk] = client
        body = {"query": query, "variables": variables or {}}
        return GraphQLResult(client.post("/graphql", body, format="json", **headers))

    return run
