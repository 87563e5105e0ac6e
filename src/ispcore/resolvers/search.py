"""Global search: one ranked list over accounts, contacts and addresses."""

from enum import Enum

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.search import service
from ispcore.resolvers.listing import bad_input
from ispcore.schema.accounts import Account, Contact
from ispcore.schema.addresses import ServiceableAddress
from ispcore.schema.companies import Company
from ispcore.schema.nodes import Node, decode_id, related
from ispcore.schema.permissions import AUTHENTICATED, denied, requires

MAX_HITS = 100


@strawberry.enum(description="What global search can find.")
class SearchType(Enum):
    ACCOUNT = "Account"
    CONTACT = "Contact"
    SERVICEABLE_ADDRESS = "ServiceableAddress"


NODE_TYPES = {SearchType.ACCOUNT: Account, SearchType.CONTACT: Contact,
              SearchType.SERVICEABLE_ADDRESS: ServiceableAddress}


@strawberry.type(description="One search result.")
class SearchHit:
    type: SearchType
    title: str
    subtitle: str
    score: float = strawberry.field(description="Higher is better: 4 exact title or account "
                                    "number, 3 title prefix, 2 word prefix, 1 anywhere (plus "
                                    "similarity).")
    entity_id: strawberry.Private[int]
    account_id: strawberry.Private[int | None]

    @strawberry.field(description="The entity found.")
    async def node(self, info: Info) -> Node | None:
        return await related(info, NODE_TYPES[self.type], self.entity_id)

    @strawberry.field(description="The account it belongs to (for contacts and accounts).")
    async def account(self, info: Info) -> Account | None:
        return await related(info, Account, self.account_id)


@strawberry.type
class SearchQuery:
    @strawberry.field(extensions=requires(AUTHENTICATED), description=(
        "Search account names and numbers, contact names, emails and phone numbers, and "
        "addresses. Every word must match. Only types the caller may read are searched; "
        "naming one the caller may not read is refused."))
    async def search(self, info: Info, query: str, types: list[SearchType] | None = None,
                     company_id: relay.GlobalID | None = None, first: int = 20
                     ) -> list[SearchHit]:
        if not 0 <= first <= MAX_HITS:
            raise bad_input(f"first must be between 0 and {MAX_HITS}.")
        if len(query) > 200:
            raise bad_input("A search query has at most 200 characters.")
        actor = info.context.actor
        wanted = types or list(SearchType)
        for kind in types or []:
            if not actor.can(NODE_TYPES[kind].read_permission):
                raise denied(actor, NODE_TYPES[kind].read_permission)
        allowed = [k.value for k in wanted if actor.can(NODE_TYPES[k].read_permission)]
        company = None
        if company_id is not None:
            try:
                company = decode_id(company_id, Company, "company_id")
            except Exception as exc:
                raise bad_input(str(exc)) from None
        async with info.context.rows() as conn:
            hits = await service.search(conn, query, entity_types=allowed,
                                        company_id=company, limit=first)
        return [SearchHit(type=SearchType(h.entity_type), title=h.title, subtitle=h.subtitle,
                          score=h.score, entity_id=h.entity_id, account_id=h.account_id)
                for h in hits]
