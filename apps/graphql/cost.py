"""The cost of a GraphQL operation, computed from the document before anything runs.

The cost is the largest number of nodes the operation can return: every connection field
(a field with a ``first`` argument) contributes the product of ``first`` along its path,
itself included; the contributions of all fields and aliases are summed. A connection
without ``first`` counts its default page (``GRAPHQL_DEFAULT_PAGE_SIZE``). Plain fields
pass their parent's multiplier on and add nothing. Fragments (named and inline) count
where they are spread.

``{ a: organizations { products(first: 100) { edges { node { organization {
products(first: 100) { edges { node { id } } } } } } } } }`` costs 100 + 100 * 100 = 10,100.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.validation import ValidationContext, ValidationRule

COST_ERROR_CODE = "QUERY_TOO_COSTLY"


def _first(node: FieldNode, variables: Mapping[str, Any], defaults: Mapping[str, Any]) -> int:
    """The ``first`` a field asks for (a literal, a variable, or the connection's default page)."""
    for argument in node.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(int(value.value), 0)
        if isinstance(value, VariableNode):
            name = value.name.value
            given = variables.get(name, defaults.get(name))
            if isinstance(given, int) and not isinstance(given, bool):
                return max(given, 0)
            if given is None:
                return settings.GRAPHQL_DEFAULT_PAGE_SIZE
        # A value of the wrong type fails validation anyway; count it as the largest page.
        return settings.GRAPHQL_MAX_PAGE_SIZE
    return settings.GRAPHQL_DEFAULT_PAGE_SIZE


class _Counter:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        defaults: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults

    def selection_set(self, selections: SelectionSetNode | None, parent: Any, multiplier: int, seen: frozenset) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, multiplier, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, target or parent, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # unknown or cyclic: other rules report it
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                total += self.selection_set(fragment.selection_set, target, multiplier, seen | {name})
        return total

    def field(self, node: FieldNode, parent: Any, multiplier: int, seen: frozenset) -> int:
        fields = getattr(parent, "fields", None) or {}
        definition = fields.get(node.name.value)
        if definition is None:  # __typename, introspection or an unknown field
            return 0
        own = 0
        if "first" in definition.args:
            multiplier *= _first(node, self.variables, self.defaults)
            own = multiplier
        return own + self.selection_set(node.selection_set, get_named_type(definition.type), multiplier, seen)


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The largest number of connection nodes ``operation`` can return (see the module docstring)."""
    root: GraphQLObjectType | None = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    defaults = {}
    for definition in operation.variable_definitions or ():
        default = definition.default_value
        if isinstance(default, IntValueNode):
            defaults[definition.variable.name.value] = int(default.value)
    counter = _Counter(schema, fragments, variables or {}, defaults)
    return counter.selection_set(operation.selection_set, root, 1, frozenset())


def cost_rule(variables: Mapping[str, Any] | None, max_cost: int) -> type[ValidationRule]:
    """A validation rule refusing operations that cost more than ``max_cost`` (``QUERY_TOO_COSTLY``)."""

    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            cost = operation_cost(self.context.schema, node, self.fragments, variables)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"The query may return {cost} nodes, more than the limit of {max_cost} "
                        "(the product of `first` along each path, summed over fields and aliases).",
                        node,
                        extensions={"code": COST_ERROR_CODE, "details": {"cost": cost, "maxCost": max_cost}},
                    )
                )

    return QueryCostRule
