"""Types of poll results (``submitPollResults``, pushed by pollers) and of what is read back:
metric history series and current readings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from ispcore.domain.monitoring import history
from ispcore.schema.errors import UserError
from ispcore.schema.scalars import BigInt, DecimalText
from ispcore.schema.usage_ingest import parse_global_id

if TYPE_CHECKING:
    from ispcore.schema.monitoring import CheckState

MetricGranularity = strawberry.enum(
    history.Granularity, name="MetricGranularity", description="RAW: every sample (at most "
    "7 days); HOUR and DAY: rollups per UTC hour or day; AUTO: RAW for spans up to 2 "
    "days inside the raw retention, HOUR up to 90 days, else DAY.")


@strawberry.input(description="One metric of a device as read. `value` is decimal text (a "
                  "COUNTER check's raw counter, with `counterBits`); null when `error` says "
                  "why it could not be read.")
class CheckResultInput:
    check_id: relay.GlobalID
    instance: str = strawberry.field(default="", description="The OID index for walked "
                                     "checks (\"2\"); \"\" for scalars.")
    label: str | None = strawberry.field(default=None, description="What names the instance "
                                         "(ifName), from the check's labelOid.")
    value: DecimalText | None = None
    counter_bits: int | None = strawberry.field(default=None, description="32 or 64 for "
                                                "counters (Counter32/Counter64), else null.")
    error: str | None = None


@strawberry.input(description="One poll of one device.")
class DevicePollInput:
    device_id: relay.GlobalID
    polled_at: datetime
    reachable: bool = strawberry.field(description="False: the device answered neither ICMP "
                                       "nor SNMP (it is DOWN).")
    results: list[CheckResultInput]
    error: str | None = strawberry.field(default=None, description="Why the poll (or its "
                                         "SNMP part) failed, e.g. an SNMP timeout.")
    sys_name: str | None = None
    sys_uptime_ticks: BigInt | None = strawberry.field(
        default=None, description="sysUpTime in hundredths of a second: going backwards "
        "means a reboot (counters restart, so no rate is taken).")
    icmp_latency_ms: float | None = strawberry.field(default=None, description="For the "
                                                     "template's ICMP_LATENCY check.")
    icmp_loss_percent: float | None = strawberry.field(default=None, description="For the "
                                                       "template's ICMP_LOSS check.")


@strawberry.input(description="A batch of poll results; send it as a variable.")
class SubmitPollResultsInput:
    batch_id: str = strawberry.field(description="The poller's id for the batch (1 to 64 "
                                     "characters): the same id again is taken once.")
    devices: list[DevicePollInput]


@strawberry.type
class SubmitPollResultsPayload:
    accepted: int = strawberry.field(default=0, description="Device results taken (for a "
                                     "duplicate: the first time's count).")
    duplicate: bool = strawberry.field(default=False, description="The batch id was taken "
                                       "before; nothing was written.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="One bucket of a metric's history (one sample for RAW).")
class MetricPoint:
    at: datetime = strawberry.field(description="The sample's time, or the bucket's start.")
    value: float = strawberry.field(description="The mean over the bucket.")
    minimum: float
    maximum: float
    count: int = strawberry.field(description="Samples in the bucket.")


@strawberry.type(description="The history of one instance of a device's metric.")
class MetricSeries:
    name: str
    instance: str
    label: str
    unit: str
    granularity: MetricGranularity
    points: list[MetricPoint]


@strawberry.type(description="The last reading of one metric of a device.")
class MetricReading:
    name: str
    instance: str
    label: str
    unit: str
    value: float | None = strawberry.field(description="Scaled; a rate per second for "
                                           "counters. Null until there is one.")
    state: Annotated[CheckState, strawberry.lazy("ispcore.schema.monitoring")]
    since: datetime = strawberry.field(description="When the state began.")
    read_at: datetime
    error: str | None = strawberry.field(description="Why the last read failed, else null.")


def _result_from_input(value: Mapping[str, Any]) -> CheckResultInput:
    result = object.__new__(CheckResultInput)
    result.__dict__.update(
        check_id=parse_global_id(value["checkId"]), instance=value.get("instance", ""),
        label=value.get("label"), value=value.get("value"),
        counter_bits=value.get("counterBits"), error=value.get("error"))
    return result


def _device_from_input(value: Mapping[str, Any]) -> DevicePollInput:
    device = object.__new__(DevicePollInput)
    device.__dict__.update(
        device_id=parse_global_id(value["deviceId"]), polled_at=value["polledAt"],
        reachable=value["reachable"], error=value.get("error"),
        sys_name=value.get("sysName"), sys_uptime_ticks=value.get("sysUptimeTicks"),
        icmp_latency_ms=value.get("icmpLatencyMs"),
        icmp_loss_percent=value.get("icmpLossPercent"),
        results=[_result_from_input(r) for r in value["results"]])
    return device


def _submit_from_input(cls: type, value: Mapping[str, Any], _context: Any) -> Any:
    """The batch built straight from its coerced GraphQL value, as ``ingestUsage``'s records
    are: strawberry's generic conversion took 3 of the 5 CPU-seconds of a 1,000-device
    batch of 20 metrics."""
    data = object.__new__(cls)
    data.__dict__.update(batch_id=value["batchId"],
                         devices=[_device_from_input(d) for d in value["devices"]])
    return data


SubmitPollResultsInput.__strawberry_definition__.from_input = _submit_from_input  # type: ignore[attr-defined]
