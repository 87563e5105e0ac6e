"""Tells running NetFlow collectors, once a change commits, that a company's address space
(supernets, subnets), IP assignments or NetFlow exporters changed: a message on the
notifier's ``netflow`` channel naming the company (``*``: any company).

It hooks the session's flush and its bulk UPDATE and DELETE statements, as the audit
recorder does, so no service that changes those rows can forget it. Messages are hints: a
collector also reloads periodically, and whenever its subscription is (again) in place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network.models import IpAssignment, Subnet, Supernet
from ispcore.domain.usage.models import NetflowExporter

NETFLOW_CHANNEL = "netflow"
EVERY_COMPANY = "*"
WATCHED = (Supernet, Subnet, IpAssignment, NetflowExporter)


def announce(uow: UnitOfWork, company_id: int | None) -> None:
    """Publish, once this unit of work commits (once per company), that the company's
    (None: some company's) plan or exporters changed."""
    message = EVERY_COMPANY if company_id is None else str(company_id)

    async def publish() -> None:
        await uow.notifier.publish(NETFLOW_CHANNEL, message)

    uow.after_commit(publish, once_key=f"notify:{NETFLOW_CHANNEL}:{message}")


@event.listens_for(Session, "after_flush")
def _rows_flushed(session: Session, _flush: UOWTransaction) -> None:
    uow = session.info.get("uow")
    if uow is None:
        return
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, WATCHED):
            announce(uow, row.company_id)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> Any:
    uow = state.session.info.get("uow")
    if uow is None or not (state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, WATCHED):
        announce(uow, None)  # which companies it touches is not known here
    return None
