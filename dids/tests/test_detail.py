"""The DID page: what each role may see of a DID, its status, its history; 404 outside
the viewer's visibility."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.utils import timezone

from accounts.models import User
from dids.models import Did, DidHistory
from dids.services import did_history_record
from portal.testing.factories import (
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)


def fields_of(response) -> dict[str, str]:
    assert response.status_code == 200
    html = response.content.decode()
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html, flags=re.S)
    return {unescape(label): unescape(re.sub(r"<[^>]+>", "", value)) for label, value in pairs}


def history_of(response) -> list[list[str]]:
    html = response.content.decode()
    section = html.split('id="did-history"', 1)[1]
    rows = re.findall(r"<tr>\s*(<td>.*?)</tr>", section, flags=re.S)
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, flags=re.S)
        ]
        for row in rows
    ]


@pytest.fixture
def held_did(portal_admin, reseller, reseller_user):
    device = DeviceFactory(type="IAX2", name="105", user=reseller_user)
    did = DidFactory(
        number="37066265209",
        status=Did.Status.ACTIVE,
        provider=ProviderFactory(name="Test Provider"),
        reseller=reseller,
        user=reseller_user,
        device=device,
        dial_plan=DialPlanFactory(name="testDialPlan", type="authbypin"),
        language="lt",
        comment="operator's note",
        reseller_comment="reseller's note",
        call_limit=0,
        tone_zone="it",
        grace_time=30,
        callerid_name_prefix="VIP",
    )
    did_history_record(
        did=did,
        by=portal_admin,
        source=DidHistory.Source.GUI,
        action="assign_to_reseller",
        changes={"reseller_id": [None, reseller.id], "provider_id": [None, 9]},
    )
    did_history_record(
        did=did,
        by=reseller,
        source=DidHistory.Source.API,
        action="edit",
        changes={"reseller_comment": ["", "reseller's note"], "comment": ["", "x"]},
    )
    return did


def test_admin_sees_every_field_and_the_whole_history(client, portal_admin, held_did):
    client.force_login(portal_admin)

    response = client.get(f"/dids/{held_did.id}/")

    fields = fields_of(response)
    assert fields["DID"] == "37066265209"
    assert fields["Status"] == "Active"
    assert fields["Provider"] == "Test Provider"
    assert fields["Reseller"] == "Charlie Resale"
    assert fields["Owner"] == "Erin Customer"
    assert fields["Device"] == "IAX2/105"
    assert fields["Dial plan"] == "testDialPlan (authbypin)"
    assert fields["Call limit"] == "Unlimited"
    assert fields["Tone zone"] == "it"
    assert fields["Comment"] == "operator's note"
    assert fields["Grace time (seconds)"] == "30"
    assert fields["CallerID name prefix"] == "VIP"
    assert "Reseller comment" not in fields
    assert 'id="did-status">Active<' in response.content.decode()
    history = history_of(response)
    assert [row[1:4] for row in history] == [
        ["Charlie Resale", "API", "edit"],
        ["Alice Admin", "GUI", "assign_to_reseller"],
    ]
    # The operator sees the main comment's changes, not the reseller's comment.
    assert history[0][4] == "comment: — → x"
    assert "provider_id: — → 9" in history[1][4]


def test_reseller_sees_its_side_only(client, reseller, held_did):
    client.force_login(reseller)

    response = client.get(f"/dids/{held_did.id}/")

    fields = fields_of(response)
    assert "Provider" not in fields
    assert "Reseller" not in fields
    assert "Comment" not in fields
    assert fields["Reseller comment"] == "reseller's note"
    assert fields["Dial plan"] == "testDialPlan (authbypin)"
    html = response.content.decode()
    assert "operator&#x27;s note" not in html
    assert "Test Provider" not in html
    history = history_of(response)
    # The operator is not named to a reseller; changes it may not see are left out.
    assert [row[1] for row in history] == ["Charlie Resale", "Operator"]
    assert "provider_id" not in history[1][4]
    assert "reseller_id" not in history[1][4]
    assert history[0][4] == "reseller_comment: — → reseller's note"


def test_end_user_sees_what_dids_get_shows_it(client, reseller_user, held_did):
    client.force_login(reseller_user)

    response = client.get(f"/dids/{held_did.id}/")

    fields = fields_of(response)
    assert {"Provider", "Reseller", "Dial plan", "Tone zone", "Grace time (seconds)"}.isdisjoint(
        fields
    )
    assert fields["Reseller comment"] == "reseller's note"
    assert fields["Owner"] == "Erin Customer"
    assert "Personal DIDs" in response.content.decode()


def test_a_did_outside_the_resellers_visibility_is_a_404(client, other_reseller, held_did):
    client.force_login(other_reseller)

    assert client.get(f"/dids/{held_did.id}/").status_code == 404


def test_another_users_did_is_a_404(client, end_user, held_did):
    client.force_login(end_user)

    assert client.get(f"/dids/{held_did.id}/").status_code == 404


def test_an_unknown_did_is_a_404(client, portal_admin):
    client.force_login(portal_admin)

    assert client.get("/dids/987654/").status_code == 404


def test_accountant_without_manage_dids_gets_the_403_page(
    client, accountant_without_right, held_did
):
    client.force_login(accountant_without_right)

    response = client.get(f"/dids/{held_did.id}/")

    assert response.status_code == 403
    assert "You are not authorized to manage DIDs." in response.content.decode()


def test_accountant_with_manage_dids_sees_the_did(client, accountant, held_did):
    client.force_login(accountant)

    assert fields_of(client.get(f"/dids/{held_did.id}/"))["Provider"] == "Test Provider"


def test_a_closed_did_past_its_date_is_shown_released(client, portal_admin, end_user):
    did = DidFactory(
        status=Did.Status.CLOSED,
        user=end_user,
        reserved_for_user_till=timezone.now() - timedelta(minutes=1),
    )
    client.force_login(portal_admin)

    response = client.get(f"/dids/{did.id}/")

    fields = fields_of(response)
    assert fields["Status"] == "Free"
    assert "Reserved for user till" not in fields
    assert history_of(response)[0][1:4] == ["System", "System", "release"]


def test_a_closed_did_shows_until_when_it_is_reserved(client, portal_admin, end_user):
    did = DidFactory(
        status=Did.Status.CLOSED,
        user=end_user,
        reserved_for_user_till=timezone.now().replace(year=2099, microsecond=0),
    )
    client.force_login(portal_admin)

    fields = fields_of(client.get(f"/dids/{did.id}/"))

    assert fields["Status"] == "Closed"
    till = did.reserved_for_user_till
    assert fields["Reserved for user till"] == f"{till.day} {till:%b} 2099, {till:%H:%M:%S} UTC"


def test_stored_markup_is_escaped(client, portal_admin):
    did = DidFactory(comment="<script>alert(1)</script>")
    client.force_login(portal_admin)

    html = client.get(f"/dids/{did.id}/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_reseller_sees_its_own_users_names_in_history(client, reseller, reseller_user):
    did = DidFactory(reseller=reseller, user=reseller_user)
    outsider = UserFactory(username="outsider", role=User.Role.RESELLER)
    for by in (reseller_user, outsider, None):
        did_history_record(did=did, by=by, source=DidHistory.Source.GUI, action="edit", changes={})
    client.force_login(reseller)

    history = history_of(client.get(f"/dids/{did.id}/"))

    assert [row[1] for row in history] == ["System", "Another account", "Erin Customer"]


def test_times_are_readable_in_the_viewers_time_zone(client, portal_admin, end_user):
    """The page says "27 May 2026, 10:35:57 EEST" in the zone the browser reported
    (portal.js's cookie); the API keeps RFC 3339 in UTC."""
    moment = datetime(2026, 5, 27, 7, 35, 57, tzinfo=UTC)
    did = DidFactory(
        status=Did.Status.CLOSED,
        user=end_user,
        updated_at=moment,
        reserved_for_user_till=datetime(2099, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    Did.objects.filter(pk=did.pk).update(created_at=moment)
    did_history_record(did=did, by=None, source=DidHistory.Source.GUI, action="edit", changes={})
    DidHistory.objects.filter(did=did).update(at=moment)
    client.force_login(portal_admin)

    in_utc = fields_of(client.get(f"/dids/{did.id}/"))
    client.cookies["portal_tz"] = "Europe/Vilnius"
    response = client.get(f"/dids/{did.id}/")
    in_vilnius = fields_of(response)
    client.cookies["portal_tz"] = "../../etc/passwd"
    not_a_zone = fields_of(client.get(f"/dids/{did.id}/"))

    assert in_utc["Updated"] == in_utc["Created"] == "27 May 2026, 07:35:57 UTC"
    assert in_vilnius["Updated"] == in_vilnius["Created"] == "27 May 2026, 10:35:57 EEST"
    assert in_vilnius["Reserved for user till"] == "2 Jan 2099, 05:04:05 EET"
    assert history_of(response)[0][0] == "27 May 2026, 10:35:57 EEST"
    assert not_a_zone["Updated"] == "27 May 2026, 07:35:57 UTC"


def test_the_404_page_is_the_portals_and_does_not_name_the_did(client, other_reseller, held_did):
    """Not Django's bare "Not Found": the portal's header, the role's menu and a way back."""
    client.force_login(other_reseller)

    response = client.get(f"/dids/{held_did.id}/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "<title>Page not found | DID portal</title>" in page
    assert '<nav id="portal-nav" aria-label="Main">' in page
    assert 'Go back to <a href="/dids/">DIDs</a>.' in page
    assert held_did.number not in page


@pytest.mark.parametrize(("compatible", "shown"), [(True, "Yes"), (False, "No")])
def test_the_ai_agent_flag_reads_yes_or_no(client, portal_admin, compatible, shown):
    """The API's `true`/`false` is for programs; the page says Yes or No."""
    did = DidFactory(ai_agent_compatible=compatible)
    client.force_login(portal_admin)

    assert fields_of(client.get(f"/dids/{did.id}/"))["AI-agent compatible"] == shown


def test_custom_sip_header_is_shown_to_operators_and_resellers(
    client, portal_admin, reseller, held_did
):
    held_did.custom_sip_header = "X-Route: <gold> & co"
    held_did.save()
    for viewer in (portal_admin, reseller):
        client.force_login(viewer)
        assert fields_of(client.get(f"/dids/{held_did.id}/"))["Custom SIP header"] == (
            "X-Route: <gold> & co"
        )


def test_custom_sip_header_is_not_shown_to_end_users_nor_in_their_history(
    client, portal_admin, reseller_user, held_did
):
    held_did.custom_sip_header = "X-Route: gold"
    held_did.save()
    did_history_record(
        did=held_did,
        by=portal_admin,
        source=DidHistory.Source.API,
        action="edit",
        changes={"custom_sip_header": ["", "X-Route: gold"]},
    )
    client.force_login(reseller_user)
    response = client.get(f"/dids/{held_did.id}/")
    assert "Custom SIP header" not in fields_of(response)
    assert "X-Route" not in response.content.decode()
