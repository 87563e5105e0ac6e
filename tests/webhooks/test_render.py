"""Rendering in bulk (one query per type, ids as variables, one read per type) shows each
entity exactly as the API's own ``node(id:)`` does for it alone."""

from __future__ import annotations

from sqlalchemy import select
from strawberry import relay

from ispcore.domain.events.models import Event
from ispcore.resolvers.webhooks_render import EntityRenderer
from tests.accounts.factories import company_setup, new_account, new_address, ok


async def test_the_bulk_rendering_equals_each_entity_s_own_node_query(api, runtime):
    setup = await company_setup(api)
    other = await company_setup(api, setup.token, name="Other Net")
    for name in ("Ann", "Bob", "Cy"):
        await new_account(api, setup, name)
    await new_account(api, other, "Dee")
    await new_address(api, setup)
    group = await ok(api, setup.token, "createAccountGroup",
                     {"companyId": setup.company, "name": "VIP"})
    gone = await ok(api, setup.token, "createAccountGroup",
                    {"companyId": setup.company, "name": "Gone"})
    await ok(api, setup.token, "deleteAccountGroup", {"id": gone["id"]})
    async with runtime.db.session() as session:
        events = list(await session.scalars(
            select(Event).where(Event.entity_id.is_not(None)).order_by(Event.id)))

    render = EntityRenderer(runtime)
    bulk = await render(events)

    shown = {render.type_names.get(e.entity_type or "") for e in events} - {None}
    assert {"Company", "Account", "AccountGroup", "ServiceableAddress"} <= shown
    assert sum(1 for e in events if e.entity_type == "Account") >= 3
    gone_pk = int(relay.from_base64(gone["id"])[1])
    assert all(bulk[e.id] is None for e in events
               if e.entity_type == "AccountGroup" and e.entity_id == gone_pk)
    assert any(entity is not None and entity["id"] == group["id"] for entity in bulk.values())
    for event in events:
        type_name = render.type_names.get(event.entity_type or "")
        alone = (await render([event]))[event.id]
        assert bulk[event.id] == alone, event.type
        if type_name is not None:
            gid = relay.to_base64(type_name, event.entity_id)
            query = f'query($id: ID!) {{ node(id: $id) {{ {render._selection(type_name)} }} }}'
            assert (await api.data(query, {"id": gid}, setup.token))["node"] == alone
