"""Name pickers (dids/views/pickers.py): only what the viewer may see is ever matched or
named, at most a page of matches, and bad parameters get a clear error."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from dids.models import Device
from dids.views.pickers import PAGE
from portal.testing.factories import (
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)


def pick(client, kind: str, **params):
    return client.get(f"/dids/pick/{kind}/", params)


def labels(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["label"] for row in response.json()["results"]]


@pytest.fixture
def world(portal_admin, reseller, other_reseller, reseller_user, end_user):
    olga = UserFactory(username="olga", first_name="Olga", last_name="Other", owner=other_reseller)
    pro = UserFactory(
        username="percy",
        first_name="Percy",
        last_name="Pro",
        role=User.Role.RESELLER,
        own_providers=True,
    )
    return {
        "olga": olga,
        "pro": pro,
        "erin_device": DeviceFactory(type="SIP", name="erin-pbx", user=reseller_user),
        "frank_device": DeviceFactory(type="IAX2", name="frank", user=end_user),
        "olga_device": DeviceFactory(type="SIP", name="olga-desk", user=olga),
        "system_plan": DialPlanFactory(name="Main IVR"),
        "charlie_plan": DialPlanFactory(name="Front desk", owner=reseller),
        "dave_plan": DialPlanFactory(name="Dave desk", owner=other_reseller),
        "carrier": ProviderFactory(name="Carrier"),
        "pro_provider": ProviderFactory(name="Percy Wholesale", owner=pro),
    }


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        (
            "portal_admin",
            [
                "Charlie Resale (charlie), reseller",
                "Dave Wholesale (dave), reseller",
                "Erin Customer (erin)",
                "Frank Enduser (frank)",
                "Olga Other (olga)",
                "Percy Pro (percy), reseller",
            ],
        ),
        (
            "accountant",
            [
                "Charlie Resale (charlie), reseller",
                "Dave Wholesale (dave), reseller",
                "Erin Customer (erin)",
                "Frank Enduser (frank)",
                "Olga Other (olga)",
                "Percy Pro (percy), reseller",
            ],
        ),
        ("reseller", ["Charlie Resale (charlie), reseller", "Erin Customer (erin)"]),
        ("end_user", ["Frank Enduser (frank)"]),
    ],
)
def test_users_are_the_ones_the_viewer_sees(request, client, world, persona, expected):
    client.force_login(request.getfixturevalue(persona))

    assert labels(pick(client, "users")) == expected


def test_an_accountant_without_manage_dids_may_pick_nothing(
    client, world, accountant_without_right
):
    client.force_login(accountant_without_right)

    for kind in ("users", "resellers", "devices", "dial-plans", "providers"):
        response = pick(client, kind, q="a")
        assert response.status_code == 403, kind
        assert response.json() == {"error": "You may not choose these."}


@pytest.mark.parametrize(
    ("persona", "kind", "expected"),
    [
        ("reseller", "devices", ["SIP/erin-pbx (Erin Customer)"]),
        ("end_user", "devices", ["IAX2/frank (Frank Enduser)"]),
        (
            "portal_admin",
            "devices",
            [
                "IAX2/frank (Frank Enduser)",
                "SIP/erin-pbx (Erin Customer)",
                "SIP/olga-desk (Olga Other)",
            ],
        ),
        ("reseller", "dial-plans", ["Front desk (ivr)"]),
        ("accountant", "dial-plans", ["Dave desk (ivr)", "Front desk (ivr)", "Main IVR (ivr)"]),
        ("pro_reseller", "providers", ["Percy Wholesale"]),
        ("portal_admin", "providers", ["Carrier", "Percy Wholesale"]),
        (
            "portal_admin",
            "resellers",
            [
                "Charlie Resale (charlie), reseller",
                "Dave Wholesale (dave), reseller",
                "Percy Pro (percy), reseller",
            ],
        ),
        ("reseller", "resellers", ["Charlie Resale (charlie), reseller"]),
    ],
)
def test_each_kind_names_only_what_the_viewer_sees(request, client, world, persona, kind, expected):
    account = world["pro"] if persona == "pro_reseller" else request.getfixturevalue(persona)
    client.force_login(account)

    assert labels(pick(client, kind)) == expected


@pytest.mark.parametrize(
    ("persona", "kind"),
    [
        ("reseller", "providers"),
        ("end_user", "providers"),
        ("end_user", "dial-plans"),
        ("end_user", "resellers"),
    ],
)
def test_kinds_a_role_never_sees_are_refused(request, client, world, persona, kind):
    client.force_login(request.getfixturevalue(persona))

    assert pick(client, kind).status_code == 403


def test_a_pasted_id_is_named_only_if_the_viewer_sees_it(client, world, reseller, reseller_user):
    client.force_login(reseller)

    mine = pick(client, "users", id=str(reseller_user.pk)).json()
    theirs = pick(client, "users", id=str(world["olga"].pk)).json()
    device = pick(client, "devices", id=str(world["olga_device"].pk)).json()

    assert mine == {
        "results": [{"id": reseller_user.pk, "label": "Erin Customer (erin)"}],
        "more": False,
    }
    assert theirs == {"results": [], "more": False}
    assert device == {"results": [], "more": False}


def test_q_matches_part_of_a_name_or_the_id(client, world, portal_admin, end_user):
    client.force_login(portal_admin)

    assert labels(pick(client, "users", q="ENDU")) == ["Frank Enduser (frank)"]
    assert labels(pick(client, "users", q="wholesale")) == ["Dave Wholesale (dave), reseller"]
    assert labels(pick(client, "users", q=str(end_user.pk)))[0] == "Frank Enduser (frank)"
    assert labels(pick(client, "devices", q="desk")) == ["SIP/olga-desk (Olga Other)"]
    assert labels(pick(client, "devices", q="erin")) == ["SIP/erin-pbx (Erin Customer)"]
    assert labels(pick(client, "dial-plans", q="ivr")) == [
        "Dave desk (ivr)",
        "Front desk (ivr)",
        "Main IVR (ivr)",
    ]
    assert labels(pick(client, "providers", q="perc")) == ["Percy Wholesale"]


def test_extra_parameters_narrow_the_matches(client, world, portal_admin, reseller, reseller_user):
    client.force_login(portal_admin)
    held = DidFactory(reseller=reseller)
    systems = DidFactory()

    assert labels(pick(client, "users", role="user")) == [
        "Erin Customer (erin)",
        "Frank Enduser (frank)",
        "Olga Other (olga)",
    ]
    assert labels(pick(client, "resellers", pro="1")) == ["Percy Pro (percy), reseller"]
    assert labels(pick(client, "devices", user=str(reseller_user.pk))) == [
        "SIP/erin-pbx (Erin Customer)"
    ]
    assert labels(pick(client, "devices", for_did=str(held.pk))) == ["SIP/erin-pbx (Erin Customer)"]
    assert labels(pick(client, "devices", for_did=str(systems.pk))) == [
        "IAX2/frank (Frank Enduser)"
    ]
    assert labels(pick(client, "dial-plans", for_did=str(held.pk))) == ["Front desk (ivr)"]
    assert labels(pick(client, "dial-plans", for_did=str(systems.pk))) == ["Main IVR (ivr)"]
    assert labels(pick(client, "users", unknown="x", q="frank")) == ["Frank Enduser (frank)"]


def test_for_did_of_a_did_the_viewer_does_not_see_is_a_404(client, world, reseller):
    other = DidFactory()
    client.force_login(reseller)

    response = pick(client, "devices", for_did=str(other.pk))

    assert response.status_code == 404
    assert response.json() == {"error": "No such DID."}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"id": "abc"}, "Invalid id: expected a whole number"),
        ({"id": "-1"}, "Invalid id: expected a whole number"),
        ({"id": "9" * 30}, "Invalid id: expected a whole number"),
        ({"for_did": "x"}, "Invalid for_did: expected a whole number"),
        ({"user": "1.5"}, "Invalid user: expected a whole number"),
    ],
)
def test_a_malformed_parameter_is_a_400(client, world, portal_admin, params, error):
    client.force_login(portal_admin)

    response = pick(client, "devices", **params)

    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_role_and_pro_take_only_their_values(client, world, portal_admin):
    client.force_login(portal_admin)

    assert pick(client, "users", role="admin").json() == {
        "error": "Invalid role: expected user or reseller"
    }
    assert pick(client, "resellers", pro="yes").status_code == 400


def test_an_unknown_kind_is_a_404(client, world, portal_admin):
    client.force_login(portal_admin)

    assert pick(client, "secrets").status_code == 404


def test_pickers_need_sign_in_and_answer_get_only(client, world, portal_admin):
    assert pick(client, "users").status_code == 302
    client.force_login(portal_admin)
    assert client.post("/dids/pick/users/").status_code == 405


def test_at_most_a_page_of_matches_and_more_says_so(client, portal_admin, db):
    owner = UserFactory(username="bulk", role=User.Role.USER)
    Device.objects.bulk_create(
        [
            Device(type="SIP", name=f"bulk{n:03d}", extension=str(n), user=owner)
            for n in range(PAGE + 5)
        ]
    )
    client.force_login(portal_admin)

    data = pick(client, "devices", q="bulk").json()
    narrower = pick(client, "devices", q="bulk00").json()

    assert len(data["results"]) == PAGE
    assert data["more"] is True
    assert [r["label"].split(" ")[0] for r in data["results"]][:3] == [
        "SIP/bulk000",
        "SIP/bulk001",
        "SIP/bulk002",
    ]
    assert len(narrower["results"]) == 10
    assert narrower["more"] is False


def test_a_picker_reads_in_a_fixed_number_of_queries(
    client, world, portal_admin, django_assert_num_queries
):
    client.force_login(portal_admin)
    pick(client, "devices", q="s")

    # The session, the account, the matches with their users (one join).
    with django_assert_num_queries(3):
        pick(client, "devices", q="s")


@pytest.fixture
def thousands(db):
    """Enough rows that a missing LIMIT or a query per row would show."""
    users = User.objects.bulk_create(
        [
            User(
                username=f"u{n}",
                first_name="Many",
                role=User.Role.USER,
                password=make_password(None),
            )
            for n in range(300)
        ]
    )
    Device.objects.bulk_create(
        [Device(type="SIP", name=f"d{n}", user=user) for n, user in enumerate(users)]
    )


def test_many_rows_still_give_one_page(client, thousands, portal_admin):
    client.force_login(portal_admin)

    assert len(pick(client, "users", q="many").json()["results"]) == PAGE
    assert len(pick(client, "devices", q="d1").json()["results"]) == PAGE


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    q=st.text(max_size=120),
    kind=st.sampled_from(["users", "resellers", "devices", "dial-plans", "providers"]),
)
def test_any_text_is_answered_without_a_server_error(client, world, portal_admin, q, kind):
    client.force_login(portal_admin)

    response = client.get(f"/dids/pick/{kind}/", {"q": q.replace("\x00", "")})

    assert response.status_code == 200
    assert len(response.json()["results"]) <= PAGE


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's")
def test_the_searched_names_have_trigram_indexes_on_postgresql(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trigram'")
        names = {row[0] for row in cursor.fetchall()}

    assert names == {
        "device_name_trigram",
        "device_extension_trigram",
        "user_username_trigram",
        "user_first_name_trigram",
        "user_last_name_trigram",
        "did_number_trigram",
    }
