"""Where a GraphQL request carries a payment card number, read from its decoded values: each
literal argument as the parser decoded it (``"\\u0034111 …"`` is ``"4111 …"`` by then) and
each variable as decoded from JSON. The raw query text is never what is read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
)

from ispcore.domain.common.card_numbers import card_number_paths, holds_card_number


def card_number_places(document: DocumentNode, variables: dict[str, Any]) -> list[str]:
    """The arguments (``input.reference``) and variables holding a card number."""
    return [*(path for path, text in _literals(document) if holds_card_number(text)),
            *card_number_paths(variables)]


def _literals(document: DocumentNode) -> Iterator[tuple[str, str]]:
    """Every literal string and number of the document's arguments and variable defaults,
    as text, with the argument path it is at."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                if variable.default_value is not None:
                    yield from _values(variable.default_value, variable.variable.name.value)
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            yield from _selection_literals(definition.selection_set)


def _selection_literals(node: SelectionSetNode) -> Iterator[tuple[str, str]]:
    for selection in node.selections:
        if isinstance(selection, FieldNode):
            for argument in selection.arguments or ():
                yield from _values(argument.value, argument.name.value)
        if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
            yield from _selection_literals(selection.selection_set)


def _values(node: ValueNode, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        yield path, node.value
    elif isinstance(node, ListValueNode):
        for index, item in enumerate(node.values):
            yield from _values(item, f"{path}[{index}]")
    elif isinstance(node, ObjectValueNode):
        for field in node.fields:
            yield from _values(field.value, f"{path}.{field.name.value}")
