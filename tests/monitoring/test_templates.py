"""Monitoring templates and their checks: numeric OIDs only, kinds decide the fields,
thresholds ordered by direction, names unique per template; check changes are template
changes; a template in use is not deleted."""

from __future__ import annotations

from typing import Any

import pytest

from ispcore.domain.common.errors import DomainError
from ispcore.domain.monitoring.oids import parse_oid
from tests.accounts.factories import ok, refused
from tests.monitoring.config_support import device, events_of, org
from tests.monitoring.test_devices import codes

UPTIME = {"name": "sysUpTime", "kind": "SNMP_GET", "oid": "1.3.6.1.2.1.1.3.0"}
IN_OCTETS = {"name": "ifHCInOctets", "kind": "SNMP_WALK", "oid": ".1.3.6.1.2.1.31.1.1.1.6",
             "valueType": "COUNTER", "labelOid": "1.3.6.1.2.1.31.1.1.1.1", "scale": 8,
             "unit": "bit/s", "warningThreshold": 8e8, "criticalThreshold": 9.5e8}
LATENCY = {"name": "latency", "kind": "ICMP_LATENCY", "unit": "ms", "warningThreshold": 50,
           "criticalThreshold": 200}


@pytest.mark.parametrize("text", ["1.3.6.1.2.1.1.3.0", ".1.3.6.1", "2.999.1", "0.0"])
def test_numeric_oids_are_taken(text: str) -> None:
    assert parse_oid(text, field="oid") == text.lstrip(".")


@pytest.mark.parametrize("text", ["", "1", "sysUpTime.0", "SNMPv2-MIB::sysUpTime.0",
                                  "3.6.1", "1.40.1", "1.3..6", "1.3.6.-1",
                                  "1.3.4294967296", "1.3.6.1.x",
                                  "\u0661.\u0663"])  # Arabic-Indic digits
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(DomainError):
        parse_oid(text, field="oid")


async def test_a_template_with_its_checks_and_a_preset(api: Any, runtime: Any) -> None:
    o = await org(api)
    made = await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "Routers", "intervalSeconds": 30,
        "checks": [UPTIME, IN_OCTETS, LATENCY]})
    assert made["intervalSeconds"] == 30 and made["icmpCount"] == 3
    by_name = {c["name"]: c for c in made["checks"]}
    assert by_name["ifHCInOctets"]["oid"] == "1.3.6.1.2.1.31.1.1.1.6"  # canonical
    assert (by_name["ifHCInOctets"]["valueType"], by_name["ifHCInOctets"]["labelOid"],
            by_name["ifHCInOctets"]["scale"]) == ("COUNTER", "1.3.6.1.2.1.31.1.1.1.1", 8.0)
    assert (by_name["latency"]["oid"], by_name["latency"]["valueType"]) == (None, "GAUGE")
    assert by_name["sysUpTime"]["direction"] == "ABOVE"
    preset = await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "Basics", "preset": "ROUTER_BASICS",
        "checks": [{"name": "cpu", "kind": "SNMP_GET", "oid": "1.3.6.1.4.1.2021.11.9.0"}]})
    assert [c["name"] for c in preset["checks"]] == [
        "cpu", "ifHCInOctets", "ifHCOutOctets", "latency", "loss", "sysUpTime"]
    assert await events_of(runtime, "monitoring_template.") == [
        ("monitoring_template.created", {"name": "Routers", "checks": [
            "sysUpTime", "ifHCInOctets", "latency"]}),
        ("monitoring_template.created", {"name": "Basics", "checks": [
            "sysUpTime", "ifHCInOctets", "ifHCOutOctets", "latency", "loss", "cpu"]})]


async def test_bad_checks_and_templates_are_refused_with_nothing_written(
        api: Any, runtime: Any) -> None:
    o = await org(api)
    cases = [
        ({"intervalSeconds": 5}, {("intervalSeconds", "INVALID")}),
        ({"intervalSeconds": 86401}, {("intervalSeconds", "INVALID")}),
        ({"checks": [{**UPTIME, "oid": "SNMPv2-MIB::sysUpTime.0"}]}, {("checks.0.oid",
                                                                        "INVALID")}),
        ({"checks": [{**UPTIME, "oid": None}]}, {("checks.0.oid", "REQUIRED")}),
        ({"checks": [{**LATENCY, "oid": "1.3.6.1"}]}, {("checks.0.oid", "INVALID")}),
        ({"checks": [{**LATENCY, "valueType": "COUNTER"}]}, {("checks.0.valueType",
                                                              "INVALID")}),
        ({"checks": [{**UPTIME, "labelOid": "1.3.6.1.2.1.31.1.1.1.1"}]},
         {("checks.0.labelOid", "INVALID")}),
        ({"checks": [{**LATENCY, "warningThreshold": 300}]},
         {("checks.0.warningThreshold", "INVALID")}),
        ({"checks": [{**LATENCY, "direction": "BELOW"}]},
         {("checks.0.warningThreshold", "INVALID")}),
        ({"checks": [UPTIME, {**IN_OCTETS, "name": "sysUpTime"}]},
         {("checks.1.name", "DUPLICATE")}),
        ({"checks": [LATENCY, {**LATENCY, "name": "latency2"}]},
         {("checks.1.kind", "DUPLICATE")}),
    ]
    for fields, expected in cases:
        errors = await refused(api, o.token, "createMonitoringTemplate", {
            "companyId": o.company, "name": "T", **fields})
        assert codes(errors) == expected, fields
    # Infinite thresholds cannot even be sent as JSON; NaN neither. Direction BELOW works
    # with the thresholds the other way round.
    made = await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "T", "checks": [{
            "name": "signal", "kind": "SNMP_GET", "oid": "1.3.6.1.4.1.41112.1.4.5.1.5.1",
            "direction": "BELOW", "warningThreshold": -70, "criticalThreshold": -80}]})
    assert made["checks"][0]["direction"] == "BELOW"
    assert [t for t, _ in await events_of(runtime, "monitoring_template.")] == [
        "monitoring_template.created"]


async def test_checks_change_one_at_a_time_and_keep_their_ids(api: Any, runtime: Any) -> None:
    o = await org(api)
    template = await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "Routers", "checks": [UPTIME]})
    uptime_id = template["checks"][0]["id"]
    added = await ok(api, o.token, "addMonitoringCheck", {"templateId": template["id"],
                                                          **IN_OCTETS})
    errors = await refused(api, o.token, "addMonitoringCheck", {
        "templateId": template["id"], **UPTIME})
    assert codes(errors) == {("name", "DUPLICATE")}
    changed = await ok(api, o.token, "updateMonitoringCheck", {
        "id": added["id"], "criticalThreshold": None, "warningThreshold": 5e8})
    assert (changed["warningThreshold"], changed["criticalThreshold"]) == (5e8, None)
    errors = await refused(api, o.token, "updateMonitoringCheck", {
        "id": added["id"], "name": "sysUpTime"})
    assert codes(errors) == {("name", "DUPLICATE")}
    errors = await refused(api, o.token, "updateMonitoringCheck", {
        "id": uptime_id, "kind": "ICMP_LOSS"})
    assert codes(errors) == {("oid", "INVALID")}
    moved = await ok(api, o.token, "updateMonitoringCheck", {
        "id": uptime_id, "kind": "ICMP_LOSS", "oid": None, "name": "loss"})
    assert (moved["id"], moved["kind"], moved["oid"]) == (uptime_id, "ICMP_LOSS", None)
    assert await ok(api, o.token, "removeMonitoringCheck", {"id": added["id"]}) == added["id"]
    renamed = await ok(api, o.token, "updateMonitoringTemplate", {
        "id": template["id"], "name": "Core", "snmpRetries": 2})
    assert [c["id"] for c in renamed["checks"]] == [uptime_id]
    errors = await refused(api, o.token, "updateMonitoringTemplate", {
        "id": template["id"], "snmpRetries": 9})
    assert codes(errors) == {("snmpRetries", "INVALID")}
    updates = await events_of(runtime, "monitoring_template.updated")
    assert [p["changed"] for _, p in updates] == [
        ["checks"], ["checks"], ["checks"], ["checks"], ["name", "snmp_retries"]]


async def test_a_template_in_use_is_not_deleted(api: Any, runtime: Any) -> None:
    o = await org(api)
    template = await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "Routers"})
    made = await device(api, o, "R1", "10.0.0.1", templateId=template["id"])
    assert made["template"] == {"id": template["id"]}
    errors = await refused(api, o.token, "deleteMonitoringTemplate", {"id": template["id"]})
    assert codes(errors) == {("id", "IN_USE")}
    await ok(api, o.token, "updateDevice", {"id": made["id"], "templateId": None})
    assert await ok(api, o.token, "deleteMonitoringTemplate",
                    {"id": template["id"]}) == template["id"]
    assert [t for t, _ in await events_of(runtime, "monitoring_template.")] == [
        "monitoring_template.created", "monitoring_template.deleted"]
