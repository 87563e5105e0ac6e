"""Root connection fields: the same arguments and paging for every entity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry import relay
from strawberry.types import Info

from ispcore.resolvers import prefetch as prefetching
from ispcore.resolvers.listing import paginate
from ispcore.schema.filtering import ListingInputs
from ispcore.schema.nodes import Connection, ModelNode, decode_pk
from ispcore.schema.permissions import denied


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
    where: Any = None,
) -> Connection[Any]:
    """A page of the ``node_type`` rows the caller may see (and that match ``where``)."""
    settings = info.context.runtime.settings
    readable = node_type.readable(info.context.actor)
    page = await paginate(
        info.context.rows,
        readable if where is None else readable.where(where),
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
    if node_type.relations and page.edges:
        below = prefetching.sub_selections(info.selected_fields[0].selections, "edges",
                                           "node")
        nodes = [edge.node for edge in page.edges]
        await prefetching.prefetch(info.context, node_type, nodes, below)
    return page


async def fetch_node(info: Info, node_type: type[ModelNode], gid: relay.GlobalID) -> Any:
    """One node by global id; ``None`` if absent or if the id names another type. It loads
    through the request's loader, so the ``node`` fields of one query (aliases) cost one read
    per type."""
    if gid.type_name != node_type.__name__:
        return None
    actor = info.context.actor
    if not actor.can(node_type.read_permission):
        raise denied(actor, node_type.read_permission)
    row = await info.context.loaders.nodes(node_type).load(
        decode_pk(node_type.__name__, gid.node_id))
    if row is None:
        return None
    node = node_type.from_model(row)
    if node_type.relations:
        await prefetching.prefetch(info.context, node_type, [node],
                                   info.selected_fields[0].selections)
    return node
