"""Unexpected failures reach the client as "Internal error" with the request id, no trace."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.relay import GlobalIDValueError

log = logging.getLogger("ispcore.errors")

def _expected(error: GraphQLError) -> bool:
    """Errors raised as GraphQLError on purpose (ours, and strawberry's input coercion) and
    bad global ids speak to the client; anything else is an internal failure."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError | GlobalIDValueError)


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _expected(error))

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

