"""The DIDs list writes its rows in one pass (DidTable.body_html) instead of through
django-tables2's generic per-cell template: the two must give the same HTML, for every
role, with and without the checkbox column, in any sort, for any value."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from dids.models import Did
from dids.presentation import did_rows
from dids.tables import DidTable
from dids.views.common import visible_dids
from portal.testing.factories import DeviceFactory, DialPlanFactory, DidFactory, ProviderFactory

pytestmark = pytest.mark.django_db

NASTY = "a <b> & \"q\" 's' \u202e\U0001f600 =1+1"


def squeeze(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


def body(table: DidTable, request, template: str) -> str:
    """The tbody's content as the template writes it for the table."""
    table.template_name = template
    html = table.as_html(request)
    return squeeze(html[html.index("<tbody") : html.index("</tbody>")].split(">", 1)[1])


@pytest.fixture
def inventory(reseller, reseller_user, end_user):
    provider = ProviderFactory(name='Carrier "One" <x>')
    plan = DialPlanFactory(name="Plan & co")
    device = DeviceFactory(user=reseller_user, type="SIP", name="<desk>")
    return [
        DidFactory(number="37060000001", comment=NASTY, reseller_comment="r&d", reseller=reseller),
        DidFactory(
            number="37060000002",
            status=Did.Status.ACTIVE,
            reseller=reseller,
            user=reseller_user,
            device=device,
            dial_plan=plan,
            provider=provider,
            call_limit=3,
            tone_zone="lt",
            language="lt",
        ),
        DidFactory(
            number="37060000003",
            status=Did.Status.CLOSED,
            reserved_for_user_till=timezone.now() + timedelta(days=3),
            user=end_user,
            comment="",
        ),
        DidFactory(
            number="+44<20>&", status=Did.Status.TERMINATED, routes_to_openai_project_id="p"
        ),
    ]


@pytest.mark.parametrize("records", ["rows", "models"])
@pytest.mark.parametrize("persona", ["portal_admin", "reseller", "reseller_user", "end_user"])
@pytest.mark.parametrize("selectable", [False, True])
@pytest.mark.parametrize("sort", ["", "did", "-status", "comment", "-owner"])
def test_the_fast_rows_equal_django_tables2s(
    request, inventory, records, persona, selectable, sort
):
    viewer = request.getfixturevalue(persona)
    query = {"search_did_number": 'x"&<', "sort": sort} if sort else {}
    http = RequestFactory().get("/dids/", query)
    http.user = viewer
    dids = visible_dids(viewer).in_contract_order()
    # The list reads rows (did_rows); model instances render the same.
    table = DidTable(
        did_rows(dids) if records == "rows" else dids, viewer=viewer, selectable=selectable
    )
    table.request = http
    if sort:
        table.order_by = sort
    table.paginate(per_page=50)

    fast = body(table, http, "dids/_table.html")
    assert fast == body(table, http, "django_tables2/table.html")
    assert fast.count("<tr data-id=") == len(table.page.object_list)
    if persona == "portal_admin":
        assert fast.count("<tr data-id=") == 4
        assert "&lt;b&gt; &amp; &quot;q&quot;" in fast  # escaped, never raw
        assert "<b>" not in fast


def test_no_rows_is_the_same_empty_row(reseller):
    http = RequestFactory().get("/dids/")
    http.user = reseller
    table = DidTable(visible_dids(reseller), viewer=reseller, selectable=True)
    table.request = http
    table.paginate(per_page=10)
    fast = body(table, http, "dids/_table.html")
    assert fast == body(table, http, "django_tables2/table.html")
    assert "No DIDs found" in fast
