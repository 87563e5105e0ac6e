"""Root fields for monitoring: devices, monitoring templates, pollers."""

from __future__ import annotations

import strawberry

from ispcore.resolvers.billing import listing
from ispcore.schema import monitoring as s
from ispcore.schema.monitoring import Device, MonitoringTemplate, Poller

READ, WRITE = "monitoring:read", "monitoring:write"


@strawberry.type
class MonitoringQuery:
    devices = listing(Device, s.DEVICE_LISTING, (Device.model.name,
                                                 Device.model.management_address,
                                                 Device.model.sys_name),
                      "Network devices.", permission=READ)
    monitoring_templates = listing(MonitoringTemplate, s.TEMPLATE_LISTING,
                                   (MonitoringTemplate.model.name,),
                                   "Monitoring templates.", permission=READ)
    pollers = listing(Poller, s.POLLER_LISTING, (Poller.model.name,), "Pollers.",
                      permission=READ)
