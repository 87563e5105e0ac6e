"""The pure rules behind RADIUS answers: templates, CoA reasons, and the RouterOS
address-list script (the reply merge has its own tests)."""

from __future__ import annotations

import pytest

from ispcore.domain.common.errors import DomainError
from ispcore.domain.network import templates
from ispcore.domain.network.address_lists import AddressList, routeros_script
from ispcore.domain.network.coa import reason_for


def test_templates_fill_speeds_and_refuse_unknown_placeholders():
    member = templates.Member("pat", 7, download_kbps=100_000, upload_kbps=20_000)
    values = templates.values_for(member)
    assert templates.render("{upload}k/{download}k", values) == "20000k/100000k"
    assert templates.render("{download_mbps}M {upload_bps} {username}#{account_id}",
                            values) == "100M 20000000 pat#7"
    assert templates.render("{download}k", templates.values_for(
        templates.Member("pat", 7, None, None))) is None
    with pytest.raises(DomainError, match=r"Unknown placeholder \{__class__\}"):
        templates.placeholders_in("{__class__}")
    # Format-string tricks are plain text, not lookups.
    assert templates.placeholders_in("{download.__class__}") == set()


def test_coa_reasons():
    assert reason_for("ACTIVE", "DELINQUENT", "REJECT") == "DELINQUENT"
    assert reason_for("DELINQUENT", "ACTIVE", "ACCEPT") == "DELINQUENCY_CLEARED"
    assert reason_for("SUSPENDED", "ACTIVE", "ACCEPT") == "RESTORED"
    assert reason_for("ACTIVE", "ACTIVE", "ACCEPT") == "ATTRIBUTES_CHANGED"
    assert reason_for("ACTIVE", "NO_SERVICE", "REJECT") == "SERVICE_ENDED"
    assert reason_for("ACTIVE", "REMOVED", "REJECT") == "REMOVED"
    # Over the usage cap and back (a new period, a larger allowance).
    assert reason_for("ACTIVE", "OVER_CAP", "ACCEPT") == "USAGE_CAP"
    assert reason_for("OVER_CAP", "ACTIVE", "ACCEPT") == "USAGE_CAP_RESET"
    assert reason_for("DELINQUENT", "OVER_CAP", "ACCEPT") == "DELINQUENCY_CLEARED"
    assert reason_for("SUSPENDED", "OVER_CAP", "ACCEPT") == "RESTORED"
    assert reason_for("OVER_CAP", "DELINQUENT", "ACCEPT") == "DELINQUENT"


def test_the_routeros_script_replaces_each_list():
    script = routeros_script([
        AddressList("ispcore-delinquent", "DELINQUENT", [("100.64.0.9", 3),
                                                         ("2001:db8:1::/56", 3)]),
        AddressList("ispcore-suspended", "SUSPENDED", [])])
    assert script.splitlines() == [
        "# ispcore address lists: run with /import on the router",
        "/ip firewall address-list",
        ':foreach i in=[find list="ispcore-delinquent"] do={ remove $i }',
        'add list="ispcore-delinquent" address=100.64.0.9 comment="ispcore account 3"',
        ':foreach i in=[find list="ispcore-suspended"] do={ remove $i }',
        "/ipv6 firewall address-list",
        ':foreach i in=[find list="ispcore-delinquent"] do={ remove $i }',
        'add list="ispcore-delinquent" address=2001:db8:1::/56 comment="ispcore account 3"',
        ':foreach i in=[find list="ispcore-suspended"] do={ remove $i }']
