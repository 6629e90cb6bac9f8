"""The Generate hash tool shows exactly the hash that dids_get accepts."""

import hashlib

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.api_hash import HASH_KEYS
from accounts.forms import parse_api_request
from accounts.models import ApiSettings, User
from dids.api.testing import error_of, rows_of
from dids.models import Did
from portal.testing.factories import ApiSettingsFactory, DidFactory


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def tool(client, text: str, **extra: str):
    response = client.post(reverse("accounts:hash_tool"), {"request": text, **extra})
    assert response.status_code == 200
    return response.context["result"]


def test_parses_a_full_url():
    assert parse_api_request(
        "https://portal.example.com/billing/api/dids_get?u=alice&s_call_type=a%20b%26c#top"
    ) == {"u": "alice", "s_call_type": "a b&c"}


def test_parses_a_query_string_with_the_last_value_winning():
    assert parse_api_request("?u=alice&period_start=1&period_start=2") == {
        "u": "alice",
        "period_start": "2",
    }


def test_parses_parameters_one_per_line_literally():
    assert parse_api_request("u=alice\nperiod_start=100%\n  user_id = 7 ") == {
        "u": "alice",
        "period_start": "100%",
        "user_id": " 7",
    }


def test_shows_the_hashed_parameters_in_the_legacy_order(client, portal_admin, system_api):
    client.force_login(portal_admin)
    result = tool(client, "u=alice&period_end=20&user_id=5&search_status=free&hash=abc")
    assert result["pairs"] == [("user_id", "5"), ("period_end", "20")]
    assert result["hash"] == sha1("520secret")
    assert result["hash_string_shape"] == "520<secret key>"
    assert result["request_with_hash"] == (
        f"u=alice&period_end=20&user_id=5&search_status=free&hash={sha1('520secret')}"
    )


def test_an_ordinary_request_hashes_the_secret_alone(client, portal_admin, system_api):
    client.force_login(portal_admin)
    result = tool(client, "u=alice&search_status=active")
    assert result["pairs"] == []
    assert result["hash"] == "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"


def test_admins_hash_is_accepted_by_dids_get(client, portal_admin, system_api):
    did = DidFactory(number="37060000001")
    client.force_login(portal_admin)
    result = tool(client, "/billing/api/dids_get?u=alice&user_id=5&period_start=1700000000")
    assert [name for name, _ in result["pairs"]] == ["user_id", "period_start"]
    # The pasted URL comes back whole with the hash: it is sent as shown.
    assert result["request_with_hash"] == (
        f"/billing/api/dids_get?u=alice&user_id=5&period_start=1700000000&hash={result['hash']}"
    )
    api = client.__class__()  # an integration: no session
    response = api.post(result["request_with_hash"])
    assert [dict(row)["id"] for row in rows_of(response)] == [str(did.pk)]
    # And a wrong hash is refused, so the acceptance above is real.
    wrong = result["request_with_hash"].replace(result["hash"], sha1("other"))
    assert error_of(api.post(wrong)) == "Incorrect hash"


def test_a_full_url_comes_back_with_its_host_and_path_and_without_its_fragment(
    client, portal_admin, system_api
):
    client.force_login(portal_admin)
    result = tool(client, "https://portal.example.com/billing/api/dids_get?u=alice&hash=old#top")
    assert result["request_with_hash"] == (
        f"https://portal.example.com/billing/api/dids_get?u=alice&hash={sha1('secret')}"
    )


def test_name_value_lines_come_back_as_a_query_string(client, portal_admin, system_api):
    client.force_login(portal_admin)
    result = tool(client, "u=alice\nuser_id=5")
    assert result["request_with_hash"] == f"u=alice&user_id=5&hash={sha1('5secret')}"


def test_resellers_hash_is_accepted_by_dids_get(client, reseller, system_api):
    ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key="charlies-secret")
    did = DidFactory(number="37060000002", reseller=reseller)
    DidFactory(number="37060000003")
    client.force_login(reseller)
    result = tool(client, "u=charlie&s_call_type=all&user_id=%C3%A9")
    # user_id comes before s_call_type in the legacy order, whatever the request's order.
    assert result["pairs"] == [("user_id", "é"), ("s_call_type", "all")]
    assert result["hash"] == sha1("éallcharlies-secret")
    assert result["settings_label"] == "charlie"
    api = client.__class__()
    response = api.post("/billing/api/dids_get?" + result["request_with_hash"])
    assert [dict(row)["did"] for row in rows_of(response)] == [did.number]


def test_reseller_gets_the_hash_for_its_users_integration(
    client, reseller, reseller_user, system_api
):
    ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key="charlies-secret")
    did = DidFactory(number="37060000004", reseller=reseller, user=reseller_user)
    client.force_login(reseller)
    result = tool(client, "u=erin")
    assert result["hash"] == sha1("charlies-secret")
    response = client.__class__().post(
        "/billing/api/dids_get", {"u": "erin", "hash": result["hash"]}
    )
    assert [dict(row)["id"] for row in rows_of(response)] == [str(did.pk)]


def test_admin_picks_a_resellers_settings(client, portal_admin, reseller, system_api):
    ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key="charlies-secret")
    client.force_login(portal_admin)
    assert tool(client, "u=charlie", settings_of=str(reseller.pk))["hash"] == sha1(
        "charlies-secret"
    )
    # Without picking them, the admin is told whose settings charlie uses.
    result = tool(client, "u=charlie")
    assert result["hash"] == sha1("secret")
    assert result["notes"] == [
        "The account charlie uses its own API settings: "
        "pick “charlie” under “Settings of” for its hash."
    ]


def test_admin_is_told_which_settings_to_pick_for_a_resellers_user_or_the_system(
    client, portal_admin, reseller, reseller_user, end_user, system_api
):
    ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key="charlies-secret")
    client.force_login(portal_admin)
    assert tool(client, "u=erin")["notes"] == [
        "The account erin uses its reseller charlie's API settings: "
        "pick “charlie” under “Settings of” for its hash."
    ]
    assert tool(client, "u=frank", settings_of=str(reseller.pk))["notes"] == [
        "The account frank uses the system's API settings: "
        "pick “The system” under “Settings of” for its hash."
    ]
    page = client.get(reverse("accounts:hash_tool")).content.decode()
    assert f'<option value="{reseller.pk}">charlie</option>' in page


def test_only_admins_may_pick_settings(client, reseller, other_reseller, system_api):
    ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key="charlies-secret")
    ApiSettingsFactory(reseller=other_reseller, allow_api=True, api_secret_key="daves-secret")
    client.force_login(reseller)
    result = tool(client, "u=dave", settings_of=str(other_reseller.pk))
    assert result["hash"] == sha1("charlies-secret")


def test_missing_secret_is_explained_and_no_hash_is_shown(client, reseller):
    client.force_login(reseller)
    result = tool(client, "u=charlie")
    assert result["hash"] == ""
    assert result["notes"] == [
        "No API Secret Key is set in these settings: dids_get answers "
        "“API must have Secret Key” unless hash checking is disabled.",
        "Allow API is off: dids_get answers “API Requests are disabled”.",
    ]


def test_disabled_hash_checking_is_pointed_out(client, portal_admin, system_api):
    system_api.disable_hash_checking = True
    system_api.save()
    client.force_login(portal_admin)
    assert tool(client, "u=alice")["notes"] == [
        "Hash checking is disabled in these settings: the hash is not needed."
    ]


def test_api_enabled_end_user_is_not_authorised(client, end_user, system_api):
    """The hash is a credential for every account under the same settings (an admin's too)."""
    client.force_login(end_user)
    response = client.post(reverse("accounts:hash_tool"), {"request": "u=alice"})
    assert response.status_code == 403
    assert sha1("secret") not in response.content.decode()


def test_resellers_user_is_not_shown_its_resellers_hash(client, reseller, reseller_user):
    ApiSettingsFactory(reseller=reseller, allow_api=True, api_secret_key="charlies-secret")
    client.force_login(reseller_user)
    response = client.post(reverse("accounts:hash_tool"), {"request": "u=charlie"})
    assert response.status_code == 403
    assert sha1("charlies-secret") not in response.content.decode()


def test_accountant_with_manage_dids_is_not_authorised(client, accountant, system_api):
    client.force_login(accountant)
    assert client.get(reverse("accounts:hash_tool")).status_code == 403


def test_api_restricted_user_without_dids_get_is_not_authorised(client, end_user, system_api):
    end_user.api_restricted = True
    end_user.save()
    client.force_login(end_user)
    assert client.get(reverse("accounts:hash_tool")).status_code == 403


def test_api_restricted_user_with_dids_get_is_not_authorised_either(
    client, end_user, system_api, dids_get_group
):
    end_user.api_restricted = True
    end_user.api_permission_group = dids_get_group
    end_user.save()
    client.force_login(end_user)
    assert client.get(reverse("accounts:hash_tool")).status_code == 403


def test_resellers_user_needs_the_resellers_api_on(client, reseller, reseller_user, system_api):
    ApiSettingsFactory(reseller=reseller, allow_api=False, api_secret_key="charlies-secret")
    client.force_login(reseller_user)
    assert client.get(reverse("accounts:hash_tool")).status_code == 403


def test_accountant_without_manage_dids_is_not_authorised(
    client, accountant_without_right, system_api
):
    client.force_login(accountant_without_right)
    assert client.get(reverse("accounts:hash_tool")).status_code == 403


def test_the_page_never_shows_the_secret(client, portal_admin, system_api):
    system_api.api_secret_key = "very-private-key-123"
    system_api.save()
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:hash_tool"), {"request": "u=alice&user_id=1"})
    body = response.content.decode()
    assert sha1("1very-private-key-123") in body
    assert "very-private-key-123" not in body
    assert "no-store" in response["Cache-Control"]


legacy_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12
)


@settings(max_examples=40, deadline=None)
@given(
    chosen=st.dictionaries(st.sampled_from(HASH_KEYS[:40]), legacy_values, max_size=4),
)
@pytest.mark.django_db
def test_any_legacy_parameters_hash_is_accepted_by_dids_get(chosen):
    from urllib.parse import urlencode

    from django.test import Client

    from portal.testing.factories import UserFactory

    admin = UserFactory(username="alice", role=User.Role.ADMIN)
    ApiSettings.objects.update_or_create(
        reseller=None, defaults={"allow_api": True, "api_secret_key": "sëcret"}
    )
    if not Did.objects.exists():
        DidFactory(number="37061111111")
    client = Client()
    client.force_login(admin)
    query = urlencode({"u": "alice", **chosen})
    result = client.post(reverse("accounts:hash_tool"), {"request": query}).context["result"]
    response = Client().post("/billing/api/dids_get?" + result["request_with_hash"])
    assert error_of(response) is None


def test_parses_a_json_body_keeping_number_text():
    assert parse_api_request('{"u": "alice", "user_id": 5, "period_start": 1.50}') == {
        "u": "alice",
        "user_id": "5",
        "period_start": "1.50",
    }


def test_json_that_is_not_an_object_is_a_form_error(client, portal_admin, system_api):
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:hash_tool"), {"request": "{not json"})
    assert response.context["result"] is None
    assert response.context["form"].errors == {
        "request": [
            "This looks like JSON but is not a JSON object; paste a URL, a query "
            "string, name=value lines or a JSON object."
        ]
    }


def test_json_bodys_hash_is_accepted_by_dids_get(client, portal_admin, system_api):
    import json

    did = DidFactory(number="37060000009")
    client.force_login(portal_admin)
    body = '{"u": "alice", "user_id": 12, "period_end": "x"}'
    result = tool(client, body)
    assert result["hash"] == sha1("12xsecret")
    # A JSON body comes back as a JSON body with the hash, ready to send.
    assert json.loads(result["request_with_hash"]) == {
        "u": "alice",
        "user_id": "12",
        "period_end": "x",
        "hash": result["hash"],
    }
    response = client.__class__().post(
        "/billing/api/dids_get", result["request_with_hash"], content_type="application/json"
    )
    assert [dict(row)["id"] for row in rows_of(response)] == [str(did.pk)]


# --- The write methods: each with its own hashed parameters ---------------------------


@pytest.mark.parametrize(
    ("pasted", "method", "hash_string"),
    [
        # did_create hashes provider_id and did in the legacy order; comment never.
        (
            "/billing/api/did_create?u=alice&did=4793469588&provider_id=1&comment=x",
            "did_create",
            "14793469588secret",
        ),
        # An alias is its method.
        (
            "https://portal.example.com/billing/api/did_assign_device/?u=alice&did=37063045437"
            "&device_id=2&user_id=5",
            "did_device_assign",
            "5237063045437secret",
        ),
        # The fixed list: only dids_id, whatever else is sent.
        ("/billing/api/did_close?u=alice&dids_id=1&user_id=5&did=9", "did_close", "1secret"),
        # did_subscription_stop: dids_id, else did_id.
        ("/billing/api/did_subscription_stop?u=alice&did_id=6511", "did_subscription_stop",
         "6511secret"),
        # Through action= on the dispatch URL.
        ("/billing/api/?action=did_delete&u=alice&dids_id=12&status=x", "did_delete", "12secret"),
        ("u=alice\naction=did_terminate\ndids_id=6511\nuser_id=3", "did_terminate", "6511secret"),
        ('{"u": "alice", "action": "did_make_free", "dids_id": 6511}', "did_make_free",
         "6511secret"),
        # Naming no method: dids_get.
        ("u=alice&user_id=5&dids_id=4", "dids_get", "5secret"),
    ],
)  # fmt: skip
def test_the_tool_hashes_each_methods_own_parameters(
    client, portal_admin, system_api, pasted, method, hash_string
):
    client.force_login(portal_admin)
    result = tool(client, pasted)
    assert result["method"] == method
    assert "".join(value for _, value in result["pairs"]) + "secret" == hash_string
    assert result["hash"] == sha1(hash_string)


def test_the_chosen_method_overrides_the_request(client, portal_admin, system_api):
    client.force_login(portal_admin)
    result = tool(client, "u=alice&dids_id=3&user_id=5", method="did_close")
    assert (result["method"], result["hash"]) == ("did_close", sha1("3secret"))


def test_a_write_methods_hash_from_the_tool_is_accepted(client, portal_admin, system_api):
    client.force_login(portal_admin)
    result = tool(client, "/billing/api/did_delete?u=alice&dids_id=999999&user_id=3")
    assert result["request_with_hash"].startswith("/billing/api/did_delete?")
    response = Client().post(result["request_with_hash"])
    assert b"<error>DID was not found</error>" in response.content


# --- A POST form, and text the API refuses ------------------------------------------------

NOT_TEXT = "dids_get refuses it as malformed."


def test_the_tool_is_a_post_form_with_a_csrf_token(client, portal_admin, system_api):
    client.force_login(portal_admin)
    page = client.get(reverse("accounts:hash_tool")).content.decode()
    assert '<form method="post" novalidate><input type="hidden" name="csrfmiddlewaretoken"' in page
    # A request in the URL is not computed: the tool answers POSTs only.
    response = client.get(reverse("accounts:hash_tool"), {"request": "u=alice"})
    assert response.context["result"] is None


def test_the_tool_refuses_a_post_without_its_csrf_token(portal_admin, system_api):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:hash_tool"), {"request": "u=alice"})
    assert response.status_code == 403
    assert sha1("secret") not in response.content.decode()


def test_a_long_pasted_request_gets_its_hash(client, portal_admin, system_api):
    """More than a URL can carry (about 4 KB), up to the field's 20,000 characters."""
    client.force_login(portal_admin)
    long_value = "x" * 15000
    result = tool(client, f"u=alice&period_end={long_value}")
    assert result["hash"] == sha1(long_value + "secret")


@pytest.mark.parametrize(
    ("pasted", "shown"),
    [
        ("u=%00", "“u”"),
        ("u=alice&period_end=a%00b", "“period_end”"),
        ('{"u": "alice", "user_id": "\\u0000"}', "“user_id”"),
        ('{"u": "\\ud800"}', "“u”"),
        ('{"u": "alice", "\\ud800": "\\ud800"}', "a parameter"),
    ],
)
def test_a_value_the_api_refuses_as_not_text_is_a_form_error(
    client, portal_admin, system_api, pasted, shown
):
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:hash_tool"), {"request": pasted})
    assert response.status_code == 200
    assert response.context["result"] is None
    (error,) = response.context["form"].errors["request"]
    assert error.startswith(f"The value of {shown} is not text")
    assert error.endswith(NOT_TEXT)


@pytest.mark.parametrize("pasted", ["a%00b=1&u=alice", '{"\\ud800": "x"}'])
def test_a_parameter_name_that_is_not_text_is_a_form_error(
    client, portal_admin, system_api, pasted
):
    client.force_login(portal_admin)
    response = client.post(reverse("accounts:hash_tool"), {"request": pasted})
    assert response.context["form"].errors["request"] == [
        "A parameter name is not text (it holds a NUL character or a lone surrogate once decoded)."
    ]
