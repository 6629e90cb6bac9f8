"""The DID page around the DID: back to the list it came from, the previous and next DID
of that list, and links to the pages of what it names."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from dids.models import Did
from portal.testing.factories import (
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
)


def did_links(response) -> list[str]:
    return [
        unescape(u)
        for u in re.findall(r'<td class="col-did"><a href="([^"]+)"', response.content.decode())
    ]


def neighbours(response) -> tuple[str | None, str | None]:
    return response.context["previous_url"], response.context["next_url"]


@pytest.fixture
def ten(db):
    return [
        DidFactory(
            number=f"3706000000{n}", status=Did.Status.TERMINATED if n == 4 else Did.Status.FREE
        )
        for n in range(10)
    ]


def test_the_lists_links_carry_its_query_to_the_did_page(client, portal_admin, ten):
    client.force_login(portal_admin)

    response = client.get("/dids/", {"search_status": "free", "sort": "-did", "page": "1"})

    first = did_links(response)[0]
    assert urlsplit(first).path == f"/dids/{ten[9].pk}/"
    assert parse_qs(urlsplit(first).query) == {
        "search_status": ["free"],
        "sort": ["-did"],
        "page": ["1"],
    }


def test_the_breadcrumb_leads_back_to_the_same_list(client, portal_admin, ten):
    client.force_login(portal_admin)

    response = client.get(f"/dids/{ten[3].pk}/", {"search_status": "free", "sort": "-did"})

    assert response.context["list_url"] == "/dids/?search_status=free&sort=-did"
    assert (
        'href="/dids/?search_status=free&amp;sort=-did" id="back-to-list"'
        in response.content.decode()
    )


def test_without_a_query_the_breadcrumb_is_the_plain_list(client, portal_admin, ten):
    client.force_login(portal_admin)

    response = client.get(f"/dids/{ten[3].pk}/")

    assert response.context["list_url"] == "/dids/"
    assert neighbours(response) == (f"/dids/{ten[2].pk}/", f"/dids/{ten[4].pk}/")


def test_previous_and_next_follow_the_lists_filters_and_sort(client, portal_admin, ten):
    client.force_login(portal_admin)
    query = {"search_status": "free", "sort": "-did"}

    response = client.get(f"/dids/{ten[5].pk}/", query)

    # Descending and without the terminated 4: 9 8 7 6 5 3 2 1 0.
    previous, following = neighbours(response)
    assert urlsplit(previous).path == f"/dids/{ten[6].pk}/"
    assert urlsplit(following).path == f"/dids/{ten[3].pk}/"
    assert parse_qs(urlsplit(following).query) == {"search_status": ["free"], "sort": ["-did"]}


def test_previous_and_next_cross_page_boundaries(client, portal_admin, ten):
    portal_admin.items_per_page = 3
    portal_admin.save()
    client.force_login(portal_admin)

    last_of_page_one = client.get(f"/dids/{ten[2].pk}/", {"page": "1"})
    first_of_page_two = client.get(f"/dids/{ten[3].pk}/", {"page": "2"})

    assert neighbours(last_of_page_one)[1] == f"/dids/{ten[3].pk}/?page=2"
    assert neighbours(first_of_page_two)[0] == f"/dids/{ten[2].pk}/"
    assert neighbours(first_of_page_two)[1] == f"/dids/{ten[4].pk}/?page=2"


def test_the_ends_of_the_list_have_one_neighbour(client, portal_admin, ten):
    client.force_login(portal_admin)

    first = client.get(f"/dids/{ten[0].pk}/")
    last = client.get(f"/dids/{ten[9].pk}/")

    assert neighbours(first) == (None, f"/dids/{ten[1].pk}/")
    assert neighbours(last) == (f"/dids/{ten[8].pk}/", None)
    assert 'id="previous-did"' not in first.content.decode()
    assert 'id="next-did"' in first.content.decode()


def test_the_hide_terminated_preference_counts_as_on_the_list(client, portal_admin, ten):
    portal_admin.hide_terminated_dids = True
    portal_admin.save()
    client.force_login(portal_admin)

    response = client.get(f"/dids/{ten[3].pk}/")

    assert neighbours(response)[1] == f"/dids/{ten[5].pk}/"


def test_a_did_not_in_the_list_or_a_bad_query_has_no_neighbours(client, portal_admin, ten):
    client.force_login(portal_admin)

    outside = client.get(f"/dids/{ten[4].pk}/", {"search_status": "free"})
    malformed = client.get(f"/dids/{ten[4].pk}/", {"search_user": "abc"})
    silly = client.get(f"/dids/{ten[4].pk}/", {"page": "x", "per_page": "-5", "sort": "nonsense"})

    assert neighbours(outside) == neighbours(malformed) == (None, None)
    assert silly.status_code == 200


def test_neighbours_stay_within_what_the_viewer_sees(client, reseller, ten):
    for did in (ten[1], ten[5]):
        did.reseller = reseller
        did.save()
    client.force_login(reseller)

    response = client.get(f"/dids/{ten[1].pk}/")

    assert neighbours(response) == (None, f"/dids/{ten[5].pk}/")


def field_links(response) -> dict[str, str]:
    html = response.content.decode()
    return {
        unescape(label): unescape(url)
        for label, url in re.findall(r'<dt>(.*?)</dt><dd><a href="([^"]+)">', html)
    }


@pytest.fixture
def held_did(reseller, reseller_user):
    return DidFactory(
        status=Did.Status.ACTIVE,
        reseller=reseller,
        user=reseller_user,
        device=DeviceFactory(user=reseller_user),
        dial_plan=DialPlanFactory(owner=reseller),
        provider=ProviderFactory(),
    )


def test_the_admin_gets_links_to_every_page(client, portal_admin, held_did):
    client.force_login(portal_admin)

    links = field_links(client.get(f"/dids/{held_did.pk}/"))

    assert links == {
        "Provider": f"/providers/{held_did.provider_id}/",
        "Reseller": f"/accounts/{held_did.reseller_id}/",
        "Owner": f"/accounts/{held_did.user_id}/",
        "End user ID": f"/accounts/{held_did.user_id}/",
        "Device": f"/devices/{held_did.device_id}/",
        "Device ID": f"/devices/{held_did.device_id}/",
        "Dial plan": f"/dial-plans/{held_did.dial_plan_id}/",
    }


def test_a_reseller_gets_links_to_its_own_users_dids_and_its_pages(client, reseller, held_did):
    client.force_login(reseller)

    links = field_links(client.get(f"/dids/{held_did.pk}/"))

    assert links == {
        "Owner": f"/dids/?search_user={held_did.user_id}",
        "End user ID": f"/dids/?search_user={held_did.user_id}",
        "Device": f"/devices/{held_did.device_id}/",
        "Device ID": f"/devices/{held_did.device_id}/",
        "Dial plan": f"/dial-plans/{held_did.dial_plan_id}/",
    }


def test_a_user_gets_a_link_to_its_device_only(client, reseller_user, held_did):
    client.force_login(reseller_user)

    links = field_links(client.get(f"/dids/{held_did.pk}/"))

    assert links == {
        "Device": f"/devices/{held_did.device_id}/",
        "Device ID": f"/devices/{held_did.device_id}/",
    }


def test_fields_without_a_value_show_a_dash(client, portal_admin):
    did = DidFactory(language="", tone_zone="")
    client.force_login(portal_admin)

    html = client.get(f"/dids/{did.pk}/").content.decode()

    for label in (
        "Provider",
        "Reseller",
        "Device",
        "Device ID",
        "End user ID",
        "Language",
        "Tone zone",
    ):
        assert f'<dt>{label}</dt><dd><span class="empty">—</span></dd>' in html, label
    assert "<dt>Reserved for user till</dt>" not in html
