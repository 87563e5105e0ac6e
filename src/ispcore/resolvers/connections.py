"""Root connection fields: the same arguments and paging for every entity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry import relay
from strawberry.types import Info

from ispcore.resolvers.listing import paginate
from ispcore.schema.filtering import ListingInputs
from ispcore.schema.nodes import Connection, ModelNode


async def list_nodes(
    info: Info,
    node_type: type[ModelNode],
    inputs: ListingInputs,
    *,
    first: int | None,
    after: str | None,
    filter: Any,
    order_by: list[Any] | None,
    search: Sequence[Any] = (),
) -> Connection[Any]:
    """A page of the ``node_type`` rows the caller may see."""
    settings = info.context.runtime.settings
    return await paginate(
        info.context.rows,
        node_type.readable(info.context.actor),
        node_type=node_type,
        inputs=inputs,
        first=first,
        after=after,
        filter=filter,
        order_by=order_by,
        search_columns=search,
        max_page_size=settings.max_page_size,
        default_page_size=settings.default_page_size,
    )


async def fetch_node(info: Info, node_type: type[ModelNode], gid: relay.GlobalID) -> Any:
    """One node by global id; ``None`` if absent or if the id names another type."""
    if gid.type_name != node_type.__name__:
        return None
    return (await node_type.resolve_nodes(info=info, node_ids=[gid.node_id]))[0]
