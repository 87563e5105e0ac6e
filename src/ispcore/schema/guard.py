"""The one request extension: cached parsing and validation, document limits, and
unexpected failures masked.

Caches: strawberry's own parser and validation LRU caches (module-level, shared by every
request), used from a single extension because each extension costs hooks on every request.
Limits: tokens per document (checked while parsing), depth and aliases (validation rules
built once per schema, so the validation cache keeps hitting). Masking: an unexpected failure
reaches the client as "Internal error" with the request id, no trace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from starlette.websockets import WebSocket
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.relay import GlobalIDValueError
from strawberry.types.graphql import OperationType

from ispcore.domain.common.card_numbers import card_number_paths, has_card_number

log = logging.getLogger("ispcore.errors")


def _expected(error: GraphQLError) -> bool:
    """What speaks to the client: errors before execution (parsing, validation, input values
    a scalar refused: they have no path), errors raised as GraphQLError on purpose, and bad
    global ids. Anything else is an internal failure."""
    original = error.original_error
    refused_input = error.path is None and type(original) is ValueError  # a scalar said no
    return (original is None or refused_input
            or isinstance(original, GraphQLError | GlobalIDValueError))


def limit_rules(*, max_depth: int, max_aliases: int) -> tuple[Any, ...]:
    """Strawberry's depth and alias validation rules, built once."""
    return (*QueryDepthLimiter(max_depth=max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules)


CACHE_SIZE = 1000
_cached_parse = ParserCache(maxsize=CACHE_SIZE).cached_parse_document
_cached_validate = ValidationCache(maxsize=CACHE_SIZE).cached_validate_document


class ApiGuard(MaskErrors):
    def __init__(self, *, rules: Sequence[Any], max_tokens: int) -> None:
        super().__init__(should_mask_error=lambda error: not _expected(error))
        self.rules = tuple(rules)
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        yield from super().on_operation()
        for error in getattr(context.result, "errors", None) or ():
            if error.path is None and not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": _pre_execution_code(error)}

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = _cached_parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        errors = _cached_validate(
            context.schema._schema, context.graphql_document, context.validation_rules)
        if not errors and _over_websocket(context) \
                and context.operation_type is not OperationType.SUBSCRIPTION:
            # Queries and mutations go over HTTP, where each request is authenticated and
            # rate limited; a socket authenticated once serves subscriptions only.
            errors = [GraphQLError(
                "Over websockets only subscriptions are served; send queries and mutations "
                "to POST /graphql.", extensions={"code": "BAD_USER_INPUT"})]
        if not errors and context.operation_type is OperationType.MUTATION:
            errors = _card_numbers(context)
        context.pre_execution_errors = errors
        yield

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = None
        if self.execution_context and self.execution_context.context is not None:
            request_id = getattr(self.execution_context.context, "request_id", None)
        log.error("unexpected error in %s", error.path, exc_info=error.original_error)
        return GraphQLError(
            f"Internal error (request id {request_id}).",
            nodes=error.nodes, source=error.source, positions=error.positions, path=error.path,
            extensions={"code": "INTERNAL", "requestId": request_id},
        )


def _card_numbers(context: Any) -> list[GraphQLError]:
    """A mutation carrying a card number anywhere is refused before it runs (nothing stored);
    the message names where, never the number."""
    where = list(card_number_paths(context.variables or {}))
    if has_card_number(context.query or ""):
        where.append("the query text")
    if not where:
        return []
    return [GraphQLError(
        f"A payment card number was sent in {', '.join(where)}. Card numbers are never "
        "accepted or stored: send the processor's token instead.",
        extensions={"code": "CARD_NUMBER_REFUSED", "fields": where})]


def _pre_execution_code(error: GraphQLError) -> str:
    """Codes for errors found before execution, as clients of other GraphQL servers know them."""
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if error.original_error is not None:  # a scalar refused an input value
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def _over_websocket(context: Any) -> bool:
    return isinstance(getattr(context.context, "request", None), WebSocket)
