"""Where a GraphQL request carries a payment card number, read from its decoded values: each
literal argument as the parser decoded it (``"\\u0034111 …"`` is ``"4111 …"`` by then) and
each variable as decoded from JSON. The raw query text is never what is read.

Only values of a text type are read (``String``, ``ID``, ``JSON`` and any scalar not known to
be a number): a number is stored as a number, and a counter of 16 digits (an SNMP octet
counter, a byte count) passes the Luhn check about one time in ten."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FloatValueNode,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    IntValueNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    type_from_ast,
    visit,
)

from ispcore.domain.common.card_numbers import card_number_paths, holds_card_number

#: Scalars whose values are numbers, dates or flags, never free text.
NOT_TEXT = frozenset({"Int", "Float", "Boolean", "BigInt", "Decimal", "DecimalText", "Date",
                      "DateTime", "Time"})


def is_text(named: GraphQLNamedType | None) -> bool:
    return named is None or (not isinstance(named, GraphQLInputObjectType)
                             and named.name not in NOT_TEXT)


def card_number_places(schema: GraphQLSchema, document: DocumentNode,
                       variables: dict[str, Any]) -> list[str]:
    """The arguments (``input.reference``) and variables holding a card number."""
    return [*_literal_places(schema, document), *_variable_places(schema, document, variables)]


class _Literals(Visitor):
    """Literal scalars of a text type holding a card number, with their argument path."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: list[str] = []

    def enter(self, node: Any, key: Any, parent: Any, path: Any, ancestors: Any) -> None:
        if not isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
            return
        if is_text(get_named_type(self.type_info.get_input_type())) \
                and holds_card_number(node.value):
            names = [_name_of(a) for a in (*ancestors, parent)
                     if isinstance(a, ArgumentNode | ObjectFieldNode | VariableDefinitionNode)]
            self.found.append(".".join(names) or "input")


def _name_of(node: ArgumentNode | ObjectFieldNode | VariableDefinitionNode) -> str:
    """An argument's or input field's name; a variable's, for its default value."""
    return (node.variable.name.value if isinstance(node, VariableDefinitionNode)
            else node.name.value)


def _literal_places(schema: GraphQLSchema, document: DocumentNode) -> list[str]:
    type_info = TypeInfo(schema)
    literals = _Literals(type_info)
    visit(document, TypeInfoVisitor(type_info, literals))
    return literals.found


def _variable_places(schema: GraphQLSchema, document: DocumentNode,
                     variables: dict[str, Any]) -> Iterator[str]:
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for variable in definition.variable_definitions or ():
            name = variable.variable.name.value
            if name in variables:
                yield from _typed_places(type_from_ast(schema, variable.type),
                                         variables[name], name)


def _typed_places(graphql_type: Any, value: Any, path: str) -> Iterator[str]:
    """Text leaves of ``value`` (read as ``graphql_type``) holding a card number."""
    graphql_type = get_nullable_type(graphql_type)
    if isinstance(graphql_type, GraphQLList):
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            yield from _typed_places(graphql_type.of_type, item, f"{path}[{index}]")
    elif isinstance(graphql_type, GraphQLInputObjectType) and isinstance(value, dict):
        for key, item in value.items():
            field = graphql_type.fields.get(key)
            yield from _typed_places(field.type if field else None, item, f"{path}.{key}")
    elif is_text(graphql_type):
        yield from card_number_paths(value, path)
