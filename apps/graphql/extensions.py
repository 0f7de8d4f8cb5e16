"""Schema extensions: the limits a document must pass, introspection, the ORM optimizer.

Each is a factory, built per operation from settings (so a settings change or
override applies to the next request).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from graphql import GraphQLError, StringValueNode
from graphql.validation import NoSchemaIntrospectionCustomRule, ValidationRule
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension
from strawberry_django.optimizer import DjangoOptimizerExtension

from apps.core import inputs
from apps.graphql.cost import cost_rule


class IntrospectionSwitch(SchemaExtension):
    """Refuse ``__schema``/``__type`` unless ``GRAPHQL_INTROSPECTION`` is on (on in development)."""

    def on_operation(self) -> Iterator[None]:
        if not settings.GRAPHQL_INTROSPECTION:
            self.execution_context.validation_rules = (
                *self.execution_context.validation_rules,
                NoSchemaIntrospectionCustomRule,
            )
        yield


class CostLimit(SchemaExtension):
    """Refuse an operation whose cost (``apps.graphql.cost``) passes ``GRAPHQL_MAX_COST``, before it runs."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        variables = context.variables if isinstance(context.variables, dict) else {}
        context.validation_rules = (*context.validation_rules, cost_rule(variables, settings.GRAPHQL_MAX_COST))
        yield


class StorableStringsRule(ValidationRule):
    """String literals in the document hold only what PostgreSQL can store (variables are checked on parsing)."""

    def enter_string_value(self, node: StringValueNode, *args: object) -> None:
        if inputs.has_unstorable(node.value):
            self.report_error(GraphQLError(inputs.NUL_MESSAGE, node))


class StorableStrings(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        self.execution_context.validation_rules = (*self.execution_context.validation_rules, StorableStringsRule)
        yield


def schema_extensions() -> list:
    return [
        # Introspection fields (__schema, __type) do not count towards the depth.
        lambda: QueryDepthLimiter(max_depth=settings.GRAPHQL_MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=settings.GRAPHQL_MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=settings.GRAPHQL_MAX_TOKENS),
        IntrospectionSwitch,
        CostLimit,
        StorableStrings,
        # select_related/prefetch_related from the selection; no `only()`: strawberry-django re-applies it
        # after keyset pagination of nested connections and drops the ordering columns (a query per row).
        # Types defer their heavy columns in get_queryset instead.
        lambda: DjangoOptimizerExtension(enable_only_optimization=False),
    ]
