"""``submitPollResults`` (poller tokens), and a device's ``metrics`` and ``readings``."""

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.monitoring import history, ingest
from ispcore.resolvers.mutations import mutate
from ispcore.schema.monitoring_results import (
    MetricPoint,
    MetricReading,
    MetricSeries,
    SubmitPollResultsInput,
    SubmitPollResultsPayload,
)
from ispcore.schema.nodes import decode_pk
from ispcore.schema.permissions import requires

POLL = "monitoring:poll"


def _pk(gid: relay.GlobalID, type_name: str) -> int:
    """The id of a global id of ``type_name``; 0 (found nowhere, so reported as not found
    with the batch's other faults) for anything else."""
    if gid.type_name != type_name:
        return 0
    try:
        return decode_pk(type_name, gid.node_id)
    except GraphQLError:
        return 0


def _results(data: SubmitPollResultsInput) -> list[ingest.DeviceResult]:
    return [ingest.DeviceResult(
        device_id=_pk(d.device_id, "Device"), polled_at=d.polled_at, reachable=d.reachable,
        error=d.error, sys_name=d.sys_name, sys_uptime_ticks=d.sys_uptime_ticks,
        icmp_latency_ms=d.icmp_latency_ms, icmp_loss_percent=d.icmp_loss_percent,
        results=[ingest.CheckResult(
            check_id=_pk(r.check_id, "MonitoringCheck"), instance=r.instance, label=r.label,
            value=r.value, counter_bits=r.counter_bits, error=r.error) for r in d.results])
        for d in data.devices]


@strawberry.type
class MonitoringResultsMutation:
    @strawberry.mutation(extensions=requires(POLL), description=(
        "A poller's results (poller tokens only): all taken or none. A device the poller "
        "does not own, an unknown device or check, or a value that is not decimal text "
        "refuses the batch, one error per fault; the same batchId again is a duplicate and "
        "writes nothing."))
    async def submit_poll_results(self, info: Info, input: SubmitPollResultsInput
                                  ) -> SubmitPollResultsPayload:
        results = _results(input)

        async def work(uow: UnitOfWork) -> dict[str, Any]:
            done = await ingest.submit(uow, input.batch_id, results)
            return {"accepted": done.accepted, "duplicate": done.duplicate}

        return await mutate(info, SubmitPollResultsPayload, work)


async def device_metrics(info: Info, device: Any, name: str, start: datetime, end: datetime,
                         granularity: history.Granularity | None, instance: str | None
                         ) -> list[MetricSeries]:
    """``device.metrics``: bad arguments are a GraphQL error (a query has no payload)."""
    try:
        async with info.context.unit_of_work("deviceMetrics") as uow:
            found = await history.metric_series(
                uow, device.pk, device.template_id, name, start, end,
                history.Granularity(granularity or history.Granularity.AUTO), instance)
    except DomainError as exc:
        raise GraphQLError(exc.message, extensions={"code": "BAD_USER_INPUT"}) from None
    return [MetricSeries(name=s.name, instance=s.instance, label=s.label, unit=s.unit,
                         granularity=s.granularity,
                         points=[MetricPoint(at=p.at, value=p.value, minimum=p.minimum,
                                             maximum=p.maximum, count=p.count)
                                 for p in s.points])
            for s in found]


async def device_readings(info: Info, device: Any) -> list[MetricReading]:
    """``device.readings``: one query for every device of the response."""
    found = await info.context.loaders.keyed("device_readings", history.readings).load(
        device.pk)
    return [MetricReading(name=r.name, instance=r.instance, label=r.label, unit=r.unit,
                          value=r.value, state=r.state, since=r.since, read_at=r.read_at,
                          error=r.error) for r in found]
