"""Limits on a GraphQL document, checked before graphql-core validates it and before it runs.

Measured: depth (nested fields with selections; introspection excluded), aliases, field
selections with every fragment spread written out, the pairs of selections sharing a
response path, and the cost (the fields the operation may resolve, page sizes multiplying
what is under a connection). Each fragment is measured once and its figures reused at every
spread, so a document is measured in time linear in its size however its fragments multiply:
thirty fragments each spreading the previous one twice stand for 2^30 selections and take
thirty steps here (strawberry's depth and alias rules walked every one of those paths).

The selection and merge-pair limits keep graphql-core's own rules fast: its check that fields
sharing a response path can merge compares them in pairs (240 copies of ``me { email }``
took it most of a second), so a document may hold at most ``MAX_MERGE_PAIRS`` such pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.type import is_composite_type

#: Items a list without a page size (an account's ``invoices``) is counted as.
UNPAGED_LIST_ITEMS = 10
#: Field selections a document may hold, counting a fragment's wherever it is spread (and once
#: on its own): they bound the walks here, which follow every spread.
MAX_SELECTIONS = 5_000
#: Pairs of selections sharing a response path (``node.id`` selected by 30 fragments: 435
#: pairs) a document may hold: graphql-core compares each pair to check that they merge.
MAX_MERGE_PAIRS = 2_000
#: The argument whose value is a connection's page size.
PAGE_ARGUMENT = "first"
#: The code every limit here answers with.
CODE = "QUERY_TOO_COMPLEX"


@dataclass(slots=True)
class Figures:
    """Never changed once made (a plain dataclass: frozen ones are slow to make)."""

    depth: int = 0
    aliases: int = 0
    selections: int = 0
    cost: int = 0

    def __add__(self, other: Figures) -> Figures:
        """Siblings: the deeper depth, the other figures summed."""
        return Figures(max(self.depth, other.depth), self.aliases + other.aliases,
                       self.selections + other.selections, self.cost + other.cost)


NOTHING = Figures()
_MEASURING = Figures()  # a fragment being measured: met again, it spreads itself


@dataclass(frozen=True)
class DocumentLimits:
    max_depth: int
    max_aliases: int
    max_cost: int
    default_page_size: int

    def errors(self, schema: GraphQLSchema, document: DocumentNode,
               variables: Mapping[str, Any] | None) -> list[GraphQLError]:
        """The limits ``document`` exceeds (the first found), with ``variables`` giving the
        page sizes sent as variables. Remembered per document and integer variables, as
        the parser remembers documents."""
        numbers = tuple(sorted((name, value) for name, value in (variables or {}).items()
                               if isinstance(value, int) and not isinstance(value, bool)))
        return _remembered(self, schema, _SameDocument(document), numbers)

    def measured_errors(self, schema: GraphQLSchema, document: DocumentNode,
                        variables: Mapping[str, Any]) -> list[GraphQLError]:
        """:meth:`errors`, measured afresh."""
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        total = NOTHING
        costs = []
        measures = []
        for operation in operations:
            measure = _Measure(schema, fragments, _page_sizes(operation, variables),
                               self.default_page_size)
            figures = measure.selection_set(operation.selection_set,
                                            schema.get_root_type(operation.operation), None)
            total += figures
            costs.append(figures.cost)
            measures.append(measure)
        # graphql-core's rules walk every fragment, spread or not: their selections count too.
        unspread = _Measure(schema, fragments, {}, self.default_page_size)
        for name in fragments:
            total += Figures(selections=unspread.fragment(name, None).selections)
        cycle = next((m.cycle for m in (*measures, unspread) if m.cycle is not None), None)
        if cycle is not None:
            return [GraphQLError(f"Cannot spread fragment '{cycle}' within itself.",
                                 extensions={"code": "GRAPHQL_VALIDATION_FAILED"})]
        if total.depth > self.max_depth:
            return [_refused(f"The query nests {total.depth} levels deep; at most "
                             f"{self.max_depth} are allowed.")]
        if total.aliases > self.max_aliases:
            return [_refused(f"{total.aliases} aliases found (fragments counted wherever they "
                             f"are spread). Allowed: {self.max_aliases}.")]
        if total.selections > MAX_SELECTIONS:
            return [_refused(f"The document selects {total.selections} fields once its "
                             f"fragments are written out; at most {MAX_SELECTIONS}.")]
        pairs, path, times = _merge_pairs([*operations, *fragments.values()], fragments)
        if pairs > MAX_MERGE_PAIRS:
            return [_refused(f"The document selects the same fields over and over "
                             f"({'.'.join(path)}: {times} times, fragments included): "
                             f"{pairs} pairs to check that they merge; at most "
                             f"{MAX_MERGE_PAIRS}.")]
        cost = max(costs, default=0)
        if cost > self.max_cost:
            return [_refused(f"The query may resolve about {cost} fields (page sizes "
                             f"multiply what is under a connection; a list without one counts "
                             f"as {UNPAGED_LIST_ITEMS}); at most {self.max_cost}: ask for "
                             "smaller pages or fewer nested lists.",
                             cost=cost, maxCost=self.max_cost)]
        return []


class _SameDocument:
    """A document as a cache key, compared by identity: graphql-core's nodes hash and compare
    their whole tree, every time. The cache holds the document, so its id is not reused."""

    __slots__ = ("document",)

    def __init__(self, document: DocumentNode) -> None:
        self.document = document

    def __hash__(self) -> int:
        return id(self.document)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SameDocument) and other.document is self.document


@lru_cache(maxsize=1000)
def _remembered(limits: DocumentLimits, schema: GraphQLSchema, document: _SameDocument,
                numbers: tuple[tuple[str, int], ...]) -> list[GraphQLError]:
    return limits.measured_errors(schema, document.document, dict(numbers))


def _refused(message: str, **details: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": CODE, **details})


def _page_sizes(operation: OperationDefinitionNode, variables: Mapping[str, Any]
                ) -> dict[str, int]:
    """The integer variables of ``operation``: those sent, else their declared defaults."""
    sizes: dict[str, int] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        value = variables.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            sizes[name] = value
        elif name not in variables and isinstance(definition.default_value, IntValueNode):
            sizes[name] = _int_literal(definition.default_value)
    return sizes


def _int_literal(node: IntValueNode) -> int:
    """A literal's value, at least 0; a literal too long for an Int (graphql-core refuses it)
    counts as 10^18 rather than being converted digit by digit."""
    return max(0, int(node.value)) if len(node.value) <= 18 else 10**18


class _Measure:
    """One operation's figures; a fragment is measured once per page size it meets."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, int], default_page_size: int) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_page_size = default_page_size
        self.measured: dict[tuple[str, int | None], Figures] = {}
        #: A fragment found spreading itself, directly or not.
        self.cycle: str | None = None

    def selection_set(self, node: SelectionSetNode, parent: GraphQLNamedType | None,
                      page: int | None) -> Figures:
        """``page``: the page size of the connection this selection set belongs to, which
        its list fields (``edges``, ``nodes``) hold that many items of."""
        total = NOTHING
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, inner, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int | None) -> Figures:
        key = (name, page)
        figures = self.measured.get(key)
        if figures is _MEASURING:
            self.cycle = self.cycle or name
            return NOTHING
        if figures is None:
            definition = self.fragments.get(name)
            if definition is None:  # graphql-core reports unknown fragments
                return NOTHING
            self.measured[key] = _MEASURING
            figures = self.measured[key] = self.selection_set(
                definition.selection_set,
                self.schema.get_type(definition.type_condition.name.value), page)
        return figures

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, page: int | None
              ) -> Figures:
        alias = 1 if node.alias else 0
        if node.selection_set is None:
            return Figures(0, alias, 1, 1)
        definition = (self.schema.get_field(parent, node.name.value)
                      if is_composite_type(parent) else None)
        field_type = get_nullable_type(definition.type) if definition else None
        items = 1
        if is_list_type(field_type):
            items = UNPAGED_LIST_ITEMS if page is None else page
        inner_page = (self.page_size(node) if definition and PAGE_ARGUMENT in definition.args
                      else None)
        inner = self.selection_set(node.selection_set,
                                   get_named_type(field_type) if field_type else None,
                                   inner_page)
        # Introspection (``__schema``, ``__type``) is as deep as the schema, not the data.
        depth = 0 if node.name.value.startswith("__") else 1 + inner.depth
        return Figures(depth, alias + inner.aliases, 1 + inner.selections,
                       1 + items * inner.cost)

    def page_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value != PAGE_ARGUMENT:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return _int_literal(value)
            if isinstance(value, VariableNode) and value.name.value in self.variables:
                return max(0, self.variables[value.name.value])
            if not isinstance(value, VariableNode | NullValueNode):
                break  # not a number: graphql-core refuses it
        return self.default_page_size


def _merge_pairs(roots: list[OperationDefinitionNode | FragmentDefinitionNode],
                 fragments: dict[str, FragmentDefinitionNode]
                 ) -> tuple[int, tuple[str, ...], int]:
    """The pairs of selections sharing a response path within each of ``roots``, fragments
    written out (the selection limit, checked first, bounds this walk), and the path
    selected most often, with how often."""
    pairs, most, times = 0, (), 0
    for root in roots:
        counts = Counter(_paths(root.selection_set, (), fragments))
        pairs += sum(n * (n - 1) // 2 for n in counts.values())
        for path, n in counts.most_common(1):
            if n > times:
                most, times = path, n
    return pairs, most, times


def _paths(node: SelectionSetNode, prefix: tuple[str, ...],
           fragments: dict[str, FragmentDefinitionNode]) -> Iterator[tuple[str, ...]]:
    """Every field's response path (cycles were refused before)."""
    for selection in node.selections:
        if isinstance(selection, FieldNode):
            path = (*prefix, (selection.alias or selection.name).value)
            yield path
            if selection.selection_set is not None:
                yield from _paths(selection.selection_set, path, fragments)
        elif isinstance(selection, InlineFragmentNode):
            yield from _paths(selection.selection_set, prefix, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            definition = fragments.get(name)
            if definition is not None:
                yield from _paths(definition.selection_set, prefix, fragments)
