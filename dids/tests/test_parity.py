"""GUI/API parity: the DIDs list and `dids_get` show the same DIDs, in the same order,
with the same values, for every role and every parameter (contract §6).

Each case calls the real endpoint `/billing/api/dids_get` (u + hash=sha1(secret)),
parses its XML, and compares it with the rows of `/dids/` given the very same
query string, cell by cell for the columns the viewer's role has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from dids.api.testing import SECRET_HASH, call, error_of, rows_of
from dids.models import Did
from dids.tables import ABSENT
from portal.testing.factories import (
    ApiSettingsFactory,
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)

# Elements that the list shows as columns (ID, DID, Provider, … Tone zone).
COLUMNS = (
    "id",
    "did",
    "provider",
    "language",
    "status",
    "reseller",
    "owner",
    "device",
    "dial_plan",
    "simultaneous_call_limit",
    "comment",
    "tone_zone",
)


class ListRows(HTMLParser):
    """Rows of the list's table: (id, {element: cell text}) in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[int, dict[str, str]]] = []
        self.headers: list[str] = []
        self._cell: str | None = None
        self._text: list[str] = []
        self._in_result_list = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id") == "result_list":
            self._in_result_list = True
        if not self._in_result_list:
            return
        if tag == "tr" and attributes.get("data-id"):
            self.rows.append((int(attributes["data-id"]), {}))
        elif tag == "td" and self.rows:
            classes = (attributes.get("class") or "").split()
            names = [c.removeprefix("col-") for c in classes if c.startswith("col-")]
            self._cell = names[0] if names else None
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_result_list = False
        if tag == "td" and self._cell is not None:
            self.rows[-1][1][self._cell] = "".join(self._text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)


def gui_rows(client: Client, params: dict[str, Any]) -> list[tuple[int, dict[str, str]]]:
    response = client.get("/dids/", params)
    assert response.status_code == 200
    parser = ListRows()
    parser.feed(response.content.decode())
    return parser.rows


def api_rows(
    client: Client, account: User, params: dict[str, Any]
) -> list[tuple[int, dict[str, str]]]:
    """The API's rows as the list would show them: absent elements become ABSENT."""
    response = call(client, {"u": account.username, "hash": SECRET_HASH, **params})
    error = error_of(response)
    if error == "No DIDs found":
        return []
    assert error is None, error
    rows = []
    for row in rows_of(response):
        elements = dict(row)
        rows.append((int(elements["id"]), elements))
    return rows


def as_list_would_show(
    rows: list[tuple[int, dict[str, str]]], columns: list[str]
) -> list[tuple[int, dict[str, str]]]:
    return [(pk, {c: elements.get(c) or ABSENT for c in columns}) for pk, elements in rows]


@pytest.fixture
def pro_reseller(db) -> User:
    """A Reseller PRO: may have its own providers and filter by provider."""
    return UserFactory(
        username="percy",
        first_name="Percy",
        last_name="Pro",
        role=User.Role.RESELLER,
        own_providers=True,
    )


@pytest.fixture
def inventory(
    system_api,
    portal_admin,
    accountant,
    reseller,
    other_reseller,
    pro_reseller,
    reseller_user,
    end_user,
):
    """DIDs in every position, with every kind of value the filters look at."""
    for holder in (reseller, other_reseller, pro_reseller):
        ApiSettingsFactory(reseller=holder, allow_api=True, api_secret_key="secret")
    # Owner names with LIKE's special characters, and one differing only in case.
    odd = UserFactory(username="odd", first_name="Per_cent", last_name="100%", role=User.Role.USER)
    pro_user = UserFactory(
        username="pia",
        first_name="Pia",
        last_name="PROCUSTOMER",
        role=User.Role.USER,
        owner=pro_reseller,
    )
    carrier = ProviderFactory(name="Carrier A")
    other_carrier = ProviderFactory(name="carrier b")
    own_carrier = ProviderFactory(name="Pro Own", owner=pro_reseller)
    sip = DeviceFactory(type="SIP", name="desk", user=end_user)
    iax = DeviceFactory(type="IAX2", name="105", user=reseller_user)
    fax = DeviceFactory(type="FAX", name="fax", extension="2001", user=pro_user)
    ivr = DialPlanFactory(name="Menu", type="ivr")
    queue = DialPlanFactory(name="Queue", type="queue", owner=reseller)
    now = timezone.now()
    spec = [
        # number, attributes
        ("37060000001", {"provider": carrier, "language": "en", "comment": "main only"}),
        (
            "37060000002",
            {"provider": other_carrier, "language": "EN", "status": Did.Status.TERMINATED},
        ),
        (
            "37060000010",
            {
                "user": end_user,
                "device": sip,
                "status": Did.Status.ACTIVE,
                "provider": carrier,
                "dial_plan": ivr,
                "language": "lt",
                "call_limit": 2,
                "tone_zone": "lt",
                "comment": "<b>bold</b> & more",
            },
        ),
        ("37060000011", {"user": end_user, "status": Did.Status.RESERVED, "provider": carrier}),
        (
            "37060000012",
            {
                "user": end_user,
                "status": Did.Status.CLOSED,
                "reserved_for_user_till": now + timedelta(days=5),
            },
        ),
        # Closed past its date: both faces must show it released (free, no user).
        (
            "37060000013",
            {
                "user": end_user,
                "status": Did.Status.CLOSED,
                "reserved_for_user_till": now - timedelta(days=1),
                "reseller": reseller,
            },
        ),
        (
            "37061000000",
            {
                "reseller": reseller,
                "provider": carrier,
                "reseller_comment": "stock",
                "comment": "operator note",
            },
        ),
        (
            "37061000001",
            {
                "reseller": reseller,
                "user": reseller_user,
                "device": iax,
                "status": Did.Status.ACTIVE,
                "dial_plan": queue,
                "language": "de",
                "reseller_comment": "for erin",
                "tone_zone": "de",
            },
        ),
        (
            "37061000002",
            {
                "reseller": reseller,
                "user": reseller_user,
                "status": Did.Status.TERMINATED,
                "provider": other_carrier,
            },
        ),
        ("37062000000", {"reseller": other_reseller, "provider": other_carrier}),
        ("37062000001", {"reseller": other_reseller, "user": odd, "status": Did.Status.RESERVED}),
        ("37063000000", {"reseller": pro_reseller, "provider": own_carrier}),
        (
            "37063000001",
            {
                "reseller": pro_reseller,
                "user": pro_user,
                "device": fax,
                "provider": own_carrier,
                "status": Did.Status.ACTIVE,
            },
        ),
        ("37063000002", {"reseller": pro_reseller, "provider": carrier, "language": "en"}),
        ("370_5", {"user": odd, "status": Did.Status.RESERVED, "language": "fr"}),
        # Code point order: digits < upper case < lower case.
        ("1Ab", {}),
        ("1aB", {"status": Did.Status.TERMINATED}),
        ("1B", {"user": end_user, "status": Did.Status.RESERVED}),
        ("99", {"call_limit": 10}),
    ]
    dids = {number: DidFactory(number=number, **attrs) for number, attrs in spec}
    return SimpleNamespace(
        dids=dids,
        carrier=carrier,
        other_carrier=other_carrier,
        own_carrier=own_carrier,
        sip=sip,
        iax=iax,
        fax=fax,
        ivr=ivr,
        queue=queue,
        odd=odd,
        pro_user=pro_user,
        reseller=reseller,
        end_user=end_user,
        reseller_user=reseller_user,
        pro_reseller=pro_reseller,
        other_reseller=other_reseller,
    )


Params = Callable[[SimpleNamespace], dict[str, Any]]

# (case id, parameters). Every dids_get parameter, its special values and combinations.
CASES: list[tuple[str, Params]] = [
    ("nothing", lambda inv: {}),
    ("number-partial", lambda inv: {"search_did_number": "0000"}),
    ("number-prefix-percent", lambda inv: {"search_did_number": "37061%"}),
    ("number-underscore", lambda inv: {"search_did_number": "3706_00000_"}),
    ("number-literal-underscore-row", lambda inv: {"search_did_number": "370_5"}),
    ("number-case-insensitive", lambda inv: {"search_did_number": "ab"}),
    ("number-none", lambda inv: {"search_did_number": "555"}),
    ("status-free", lambda inv: {"search_status": "free"}),
    ("status-reserved-upper", lambda inv: {"search_status": "RESERVED"}),
    ("status-active", lambda inv: {"search_status": "Active"}),
    ("status-closed", lambda inv: {"search_status": "closed"}),
    ("status-terminated", lambda inv: {"search_status": "terminated"}),
    ("owner-partial", lambda inv: {"search_did_owner": "frank"}),
    ("owner-system-admin", lambda inv: {"search_did_owner": "alice ad"}),
    ("owner-percent", lambda inv: {"search_did_owner": "%100%"}),
    ("owner-underscore", lambda inv: {"search_did_owner": "Per_cent%"}),
    ("owner-customer", lambda inv: {"search_did_owner": "customer"}),
    ("dialplan", lambda inv: {"search_dialplan": inv.ivr.id}),
    ("dialplan-reseller", lambda inv: {"search_dialplan": inv.queue.id}),
    ("dialplan-none", lambda inv: {"search_dialplan": "0"}),
    ("user-end-user", lambda inv: {"search_user": inv.end_user.id}),
    ("user-reseller", lambda inv: {"search_user": inv.reseller.id}),
    ("user-none", lambda inv: {"search_user": "0"}),
    ("user-huge", lambda inv: {"search_user": "99999999999999999999999"}),
    ("device", lambda inv: {"search_device": inv.iax.id}),
    ("device-none", lambda inv: {"search_device": "0"}),
    ("device-all", lambda inv: {"search_device": "ALL"}),
    ("provider", lambda inv: {"search_provider": inv.carrier.id}),
    ("provider-own", lambda inv: {"search_provider": inv.own_carrier.id}),
    ("provider-none", lambda inv: {"search_provider": "0"}),
    ("language", lambda inv: {"search_language": "EN"}),
    ("language-all", lambda inv: {"search_language": "all"}),
    ("hide-terminated", lambda inv: {"search_hide_terminated_dids": "1"}),
    ("show-terminated", lambda inv: {"search_hide_terminated_dids": "0"}),
    ("from", lambda inv: {"from": "3"}),
    ("max-results", lambda inv: {"max_results": "4"}),
    ("window", lambda inv: {"from": "2", "max_results": "3"}),
    ("window-past-end", lambda inv: {"from": "500"}),
    ("empty-values-are-absent", lambda inv: {"search_status": "", "search_user": ""}),
    ("unknown-parameter", lambda inv: {"colour": "blue"}),
    (
        "status-and-number",
        lambda inv: {"search_status": "active", "search_did_number": "3706"},
    ),
    (
        "owner-hide-window",
        lambda inv: {
            "search_did_owner": "e",
            "search_hide_terminated_dids": "1",
            "from": "2",
            "max_results": "2",
        },
    ),
    (
        "provider-language-device",
        lambda inv: {
            "search_provider": inv.carrier.id,
            "search_language": "en",
            "search_device": "0",
        },
    ),
    (
        "user-status-dialplan",
        lambda inv: {
            "search_user": inv.reseller.id,
            "search_status": "active",
            "search_dialplan": inv.queue.id,
        },
    ),
]

PERSONAS = [
    "portal_admin",
    "accountant",
    "reseller",
    "pro_reseller",
    "reseller_user",
    "end_user",
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("case", "params"), CASES, ids=[c[0] for c in CASES])
def test_list_shows_what_dids_get_returns(client, request, inventory, persona, case, params):
    account: User = request.getfixturevalue(persona)
    account.items_per_page = 1000
    account.hide_terminated_dids = False
    account.save()
    client.force_login(account)
    query = params(inventory)

    api = api_rows(client, account, query)
    gui = gui_rows(client, query)

    columns = [c for c in COLUMNS if gui and c in gui[0][1]] or list(COLUMNS)
    assert gui == as_list_would_show(api, columns)


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_columns_are_the_roles_elements(client, request, inventory, persona):
    account: User = request.getfixturevalue(persona)
    client.force_login(account)
    gui = gui_rows(client, {})
    hidden_from_role = {
        "portal_admin": set(),
        "accountant": set(),
        "reseller": {"provider", "reseller"},
        "pro_reseller": {"provider", "reseller"},
        "reseller_user": {"provider", "reseller", "dial_plan", "tone_zone"},
        "end_user": {"provider", "reseller", "dial_plan", "tone_zone"},
    }[persona]
    assert gui, "every persona holds DIDs in the inventory"
    assert list(gui[0][1]) == [c for c in COLUMNS if c not in hidden_from_role]


def test_the_inventory_exercises_each_role(client, inventory, portal_admin, reseller, end_user):
    """The parity cases are only as good as the data: check that it is not trivial."""
    client.force_login(portal_admin)
    everything = gui_rows(client, {})
    assert len(everything) == len(inventory.dids)
    # The closed DID past its date is shown released by both faces.
    released = inventory.dids["37060000013"]
    row = dict(everything)[released.id]
    assert (row["status"], row["owner"]) == ("Free", ABSENT)
    assert [pk for pk, _ in everything][:4] == [
        inventory.dids[n].id for n in ("1Ab", "1B", "1aB", "37060000001")
    ]
    client.force_login(reseller)
    assert {pk for pk, _ in gui_rows(client, {})} == {
        d.id for d in inventory.dids.values() if d.reseller_id == reseller.id
    }
    client.force_login(end_user)
    assert len(gui_rows(client, {})) == 4  # active, reserved, closed (future) and 1B


@pytest.mark.parametrize(
    ("persona", "page"),
    [
        ("portal_admin", 1),
        ("portal_admin", 2),
        ("portal_admin", 5),
        ("portal_admin", 10),  # the last page: one DID
        ("accountant", 3),
        ("reseller", 2),
        ("pro_reseller", 2),
        ("reseller_user", 1),
        ("end_user", 2),
    ],
)
def test_page_n_of_the_list_is_dids_get_with_the_matching_window(
    client, request, inventory, persona, page
):
    account: User = request.getfixturevalue(persona)
    account.items_per_page = 2
    account.hide_terminated_dids = False
    account.save()
    client.force_login(account)

    gui = [pk for pk, _ in gui_rows(client, {"page": page})]
    api = [
        pk for pk, _ in api_rows(client, account, {"from": (page - 1) * 2 + 1, "max_results": 2})
    ]

    assert gui == api


def test_page_of_a_filtered_list_is_dids_get_with_the_matching_window(
    client, inventory, portal_admin
):
    portal_admin.items_per_page = 3
    portal_admin.save()
    client.force_login(portal_admin)
    params = {"search_did_number": "3706", "search_hide_terminated_dids": "1"}

    gui = [pk for pk, _ in gui_rows(client, {**params, "page": 2})]
    api = [pk for pk, _ in api_rows(client, portal_admin, {**params, "from": 4, "max_results": 3})]

    assert gui == api
    assert len(gui) == 3


def test_the_hide_terminated_preference_applies_when_the_parameter_is_absent(
    client, inventory, portal_admin
):
    portal_admin.items_per_page = 1000
    portal_admin.hide_terminated_dids = True
    portal_admin.save()
    client.force_login(portal_admin)

    gui = gui_rows(client, {})

    # The API knows no preference: the list matches it with the parameter made explicit.
    assert [pk for pk, _ in gui] == [
        pk for pk, _ in api_rows(client, portal_admin, {"search_hide_terminated_dids": "1"})
    ]
    assert all(cells["status"] != "Terminated" for _, cells in gui)
    assert len(gui) == len(api_rows(client, portal_admin, {})) - 3  # three terminated


def test_an_explicit_parameter_beats_the_hide_terminated_preference(
    client, inventory, portal_admin
):
    portal_admin.items_per_page = 1000
    portal_admin.hide_terminated_dids = True
    portal_admin.save()
    client.force_login(portal_admin)

    gui = gui_rows(client, {"search_hide_terminated_dids": "0"})

    assert [pk for pk, _ in gui] == [pk for pk, _ in api_rows(client, portal_admin, {})]


# --- Property: any combination of parameters, valid or not --------------------

# Symbolic values, resolved against the inventory: ids exist only at run time.
VALUES: dict[str, list[str]] = {
    "search_did_number": ["", "3706", "37061%", "_", "%0_", "AB", "370_5", "x%y", " 3706"],
    "search_status": ["", "free", "ACTIVE", "reserved", "closed", "terminated", "gone", "1"],
    "search_did_owner": ["", "e", "FRANK", "%100%", "Per_cent", "alice", "_", "nobody"],
    "search_dialplan": ["", "0", "<ivr>", "<queue>", "x", "-1", "007"],
    "search_user": ["", "0", "<end_user>", "<reseller>", "<pro_user>", "abc", "1.5"],
    "search_device": ["", "0", "all", "ALL", "<iax>", "<fax>", "none"],
    "search_provider": ["", "0", "<carrier>", "<own_carrier>", "+1", "999999999999999999999"],
    "search_language": ["", "en", "EN", "all", "lt", "xx"],
    "search_hide_terminated_dids": ["", "0", "1", "yes", "2"],
    "from": ["", "1", "2", "7", "0", "a"],
    "max_results": ["", "1", "3", "100", "0"],
}


def resolve(value: str, inv: SimpleNamespace) -> str:
    if value.startswith("<") and value.endswith(">"):
        return str(getattr(inv, value[1:-1]).id)
    return value


@pytest.fixture
def gui_and_api(client, request, inventory):
    """Compare both faces for a persona and parameters: same rows, or the same first error."""

    def compare(persona: str, params: dict[str, str]) -> None:
        account: User = request.getfixturevalue(persona)
        client.force_login(account)
        query = {name: resolve(value, inventory) for name, value in params.items()}
        response = call(client, {"u": account.username, "hash": SECRET_HASH, **query})
        error = error_of(response)
        page = client.get("/dids/", query)
        html = page.content.decode()
        gui_errors = re.findall(r"<li>(Invalid [^<]*)</li>", html)
        if error is not None and error.startswith("Invalid "):
            assert gui_errors[:1] == [unescape(error)]
            assert 'data-id="' not in html
            return
        assert gui_errors == []
        parser = ListRows()
        parser.feed(html)
        api = [] if error == "No DIDs found" else api_rows(client, account, query)
        columns = list(parser.rows[0][1]) if parser.rows else list(COLUMNS)
        assert parser.rows == as_list_would_show(api, columns)

    return compare


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    persona=st.sampled_from(PERSONAS),
    params=st.fixed_dictionaries(
        {},
        optional={name: st.sampled_from(values) for name, values in VALUES.items()},
    ),
)
def test_any_parameters_give_the_same_rows_or_the_same_error(gui_and_api, persona, params):
    # The inventory's accounts keep their defaults: 1000 rows per page is not needed
    # (at most 19 DIDs), and the Hide terminated preference is off.
    gui_and_api(persona, params)
