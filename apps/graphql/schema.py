"""The GraphQL schema: one Query and one Mutation merged from the per-app modules."""

from __future__ import annotations

import strawberry
from django.conf import settings
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from apps.graphql.accounts import AccountsMutation, AccountsQuery
from apps.graphql.analytics import AnalyticsQuery
from apps.graphql.catalog import CatalogMutation, CatalogQuery
from apps.graphql.common import SCALAR_MAP
from apps.graphql.extensions import schema_extensions
from apps.graphql.orders import OrdersMutation, OrdersQuery
from apps.graphql.organizations import OrganizationsMutation, OrganizationsQuery
from apps.graphql.reviews import ReviewsMutation

Query = merge_types("Query", (AccountsQuery, OrganizationsQuery, CatalogQuery, OrdersQuery, AnalyticsQuery))
Mutation = merge_types(
    "Mutation", (AccountsMutation, OrganizationsMutation, CatalogMutation, OrdersMutation, ReviewsMutation)
)


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:  # type: ignore[no-untyped-def]
        """Logged by the view as it formats them (server errors only), not here (every error, with traces)."""


schema = Schema(
    query=Query,
    mutation=Mutation,
    extensions=schema_extensions(),
    config=StrawberryConfig(relay_max_results=settings.GRAPHQL_MAX_PAGE_SIZE, scalar_map=SCALAR_MAP),
)
