"""Unexpected failures reach the client as "Internal error" with the request id, no trace."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

log = logging.getLogger("ispcore.errors")

#: Errors we raise on purpose carry one of these codes and pass through unmasked.
EXPECTED_CODES = frozenset({"BAD_USER_INPUT", "FORBIDDEN", "UNAUTHENTICATED", "NOT_FOUND"})


def _expected(error: GraphQLError) -> bool:
    if error.original_error is None:
        return True  # parse, validation and limiter errors
    if isinstance(error.original_error, GraphQLError):
        return (error.original_error.extensions or {}).get("code") in EXPECTED_CODES
    from strawberry.relay import GlobalIDValueError

    return isinstance(error.original_error, GlobalIDValueError)


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

