"""The one request extension: cached parsing and validation, document limits, and every
error given its code (unexpected failures masked).

Caches: strawberry's own parser and validation LRU caches (module-level, shared by every
request), used from a single extension because each extension costs hooks on every request.
Limits: tokens per document (checked while parsing), then depth, aliases, selections and cost
(:mod:`ispcore.schema.document_limits`, measured before graphql-core's rules run, so a document
those rules would take long over never reaches them). Errors: each leaves with
``extensions.code`` (see :meth:`ApiGuard.anonymise_error`); an unexpected failure reaches the
client as "Internal error" with the request id, no trace.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from starlette.websockets import WebSocket
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.relay import GlobalIDValueError
from strawberry.types.graphql import OperationType
from strawberry.utils.str_converters import to_camel_case

from ispcore.domain.common.errors import DomainError
from ispcore.schema.card_inputs import card_number_places
from ispcore.schema.document_limits import DocumentLimits

log = logging.getLogger("ispcore.errors")

#: Codes of errors found before execution, as clients of other GraphQL servers know them.
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"


def _expected(error: GraphQLError) -> bool:
    """What speaks to the client: errors before execution (parsing, validation, input values
    a scalar refused: they have no path), errors raised as GraphQLError on purpose, and bad
    global ids. Anything else is an internal failure."""
    original = error.original_error
    refused_input = error.path is None and type(original) is ValueError  # a scalar said no
    return (original is None or refused_input
            or isinstance(original, GraphQLError | GlobalIDValueError))


def _uncoded(error: GraphQLError) -> bool:
    return not (error.extensions or {}).get("code")


CACHE_SIZE = 1000
_cached_parse = ParserCache(maxsize=CACHE_SIZE).cached_parse_document
_cached_validate = ValidationCache(maxsize=CACHE_SIZE).cached_validate_document


class ApiGuard(MaskErrors):
    """Every error without a code, and every unexpected one, goes through
    :meth:`anonymise_error` (MaskErrors' hook): the one place errors are formatted."""

    def __init__(self, *, limits: DocumentLimits, max_tokens: int) -> None:
        super().__init__(should_mask_error=lambda error: _uncoded(error) or not _expected(error))
        self.limits = limits
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        yield from super().on_operation()

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # A syntax error is left to strawberry, which parses the text again at once and
        # reports it inside the operation (raised from here, it would skip the formatting).
        with contextlib.suppress(GraphQLError):
            context.graphql_document = _cached_parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema, document = context.schema._schema, context.graphql_document
        variables = context.variables if isinstance(context.variables, dict) else None
        errors = self.limits.errors(schema, document, variables)
        if not errors:
            errors = _cached_validate(schema, document, context.validation_rules)
            for error in errors:
                if _uncoded(error):  # a scalar refusing a literal is the input's fault
                    error.extensions = {**(error.extensions or {}), "code": (
                        BAD_USER_INPUT if error.original_error else VALIDATION_FAILED)}
        if not errors and _over_websocket(context) \
                and context.operation_type is not OperationType.SUBSCRIPTION:
            # Queries and mutations go over HTTP, where each request is authenticated and
            # rate limited; a socket authenticated once serves subscriptions only.
            errors = [GraphQLError(
                "Over websockets only subscriptions are served; send queries and mutations "
                "to POST /graphql.", extensions={"code": BAD_USER_INPUT})]
        if not errors and context.operation_type is OperationType.MUTATION:
            errors = _card_numbers(schema, document, variables)
        context.pre_execution_errors = errors
        yield

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        """``error`` with its code: a domain rule's own (``NOT_FOUND``, ``INVALID``, with the
        field at fault), a parse failure, bad input (variables that do not coerce, bad ids,
        errors raised on purpose), or, for anything unexpected, ``INTERNAL`` with the request
        id and nothing else."""
        original = error.original_error
        if isinstance(original, DomainError):
            details = {"field": to_camel_case(original.field)} if original.field else {}
            return self._replaced(error, original.message,
                                  {"code": original.code.value, **details})
        if _expected(error):
            if _uncoded(error):
                code = PARSE_FAILED if isinstance(error, GraphQLSyntaxError) else BAD_USER_INPUT
                error.extensions = {**(error.extensions or {}), "code": code}
            return error
        request_id = None
        if self.execution_context and self.execution_context.context is not None:
            request_id = getattr(self.execution_context.context, "request_id", None)
        log.error("unexpected error in %s", error.path, exc_info=original)
        return self._replaced(error, f"Internal error (request id {request_id}).",
                              {"code": "INTERNAL", "requestId": request_id})

    @staticmethod
    def _replaced(error: GraphQLError, message: str, extensions: dict[str, Any]
                  ) -> GraphQLError:
        return GraphQLError(message, nodes=error.nodes, source=error.source,
                            positions=error.positions, path=error.path, extensions=extensions)


def _card_numbers(schema: Any, document: Any, variables: dict[str, Any] | None
                  ) -> list[GraphQLError]:
    """A mutation carrying a card number in any text it sends is refused before it runs
    (nothing stored); the message names where, never the number."""
    where = card_number_places(schema, document, variables or {})
    if not where:
        return []
    return [GraphQLError(
        f"A payment card number was sent in {', '.join(where)}. Card numbers are never "
        "accepted or stored: send the processor's token instead.",
        extensions={"code": "CARD_NUMBER_REFUSED", "fields": where})]


def _over_websocket(context: Any) -> bool:
    return isinstance(getattr(context.context, "request", None), WebSocket)
