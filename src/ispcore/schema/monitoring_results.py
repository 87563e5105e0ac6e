"""Types of poll results (``submitPollResults``, pushed by pollers) and of what is read back:
metric history series and current readings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from ispcore.domain.monitoring import history
from ispcore.schema.errors import UserError
from ispcore.schema.scalars import BigInt

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
    value: str | None = None
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
