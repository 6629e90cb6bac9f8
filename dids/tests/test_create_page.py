"""The Add DIDs page: one number or a range, who may use it, what it refuses."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import SystemSettings, User
from dids.models import Did, DidHistory
from portal.testing.factories import DidFactory, ProviderFactory, UserFactory

URL = reverse("dids:create")


@pytest.fixture
def accountant_writer(did_writers) -> User:
    return UserFactory(username="wendy", role=User.Role.ACCOUNTANT, accountant_group=did_writers)


@pytest.fixture
def reseller_pro(reseller) -> User:
    reseller.own_providers = True
    reseller.save()
    return reseller


def resellers_may_add(on: bool) -> None:
    settings = SystemSettings.load()
    settings.resellers_can_add_their_own_dids = on
    settings.save()


def post(client, account, **data):
    client.force_login(account)
    return client.post(URL, data)


def errors(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {name or "__all__": list(messages) for name, messages in form.errors.items()}


def test_admin_creates_one_did_and_lands_on_its_page(client, portal_admin):
    provider = ProviderFactory(owner=None, name="Telia")
    response = post(
        client,
        portal_admin,
        numbers=" 37060000001 ",
        provider=provider.pk,
        language="lt",
        call_limit="2",
        tone_zone="lt",
        comment="new block",
    )
    did = Did.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("dids:detail", args=[did.pk])
    assert (did.number, did.status, did.provider, did.language, did.call_limit) == (
        "37060000001",
        "free",
        provider,
        "lt",
        2,
    )
    entry = did.history.get()
    assert (entry.action, entry.source, entry.by, entry.address) == (
        "create",
        "gui",
        portal_admin,
        "127.0.0.1",
    )


def test_unknown_tone_zone_is_a_form_error_and_nothing_is_created(client, portal_admin):
    response = post(client, portal_admin, numbers="37060000001", tone_zone="xx")
    assert response.status_code == 200
    assert "tone_zone" in errors(response)
    assert not Did.objects.exists()


def test_admin_creates_a_range_for_a_reseller(client, portal_admin, reseller):
    response = post(
        client, portal_admin, numbers="37060000998 - 37060001002", reseller=str(reseller.pk)
    )
    assert response.status_code == 302
    url = urlsplit(response.url)
    assert url.path == reverse("dids:list")
    assert parse_qs(url.query)["search_did_number"] == ["3706000%"]
    numbers = list(Did.objects.order_by("number").values_list("number", "reseller", "status"))
    assert numbers == [(f"3706000{n:04d}", reseller.pk, "free") for n in range(998, 1003)]
    assert DidHistory.objects.filter(action="create", source="gui").count() == 5
    page = client.get(response.url)
    assert "5 DIDs were created, 37060000998 to 37060001002." in page.content.decode()


def test_a_range_with_existing_numbers_lists_them_and_creates_nothing(client, portal_admin):
    for n in range(0, 60, 2):
        DidFactory(number=f"3706{n:07d}")
    response = post(client, portal_admin, numbers="37060000000-37060000099")
    assert response.status_code == 200
    [message] = errors(response)["numbers"]
    assert message.startswith("30 of these numbers exist already: 37060000000, 37060000002, ")
    assert message.endswith("37060000038 and 10 more. Nothing was created.")
    assert Did.objects.count() == 30


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        ("10000-20000", "A range has at most 10,000 numbers; this one has 10,001."),
        ("100-1000", "Both ends of a range have the same number of digits."),
        ("200-100", "The range's first number is after its last."),
        ("1a-1b", "A range is two numbers of digits only."),
        ("+37060000001", "'+37060000001' is not a DID number: a digit, then digits or letters."),
        ("", "This field is required."),
    ],
)
def test_bad_numbers_and_ranges_are_refused_with_the_reason(
    client, portal_admin, numbers, expected
):
    response = post(client, portal_admin, numbers=numbers)
    assert errors(response) == {"numbers": [expected]}
    assert not Did.objects.exists()


def test_an_existing_number_is_refused(client, portal_admin):
    DidFactory(number="37060000001", status="terminated")
    response = post(client, portal_admin, numbers="37060000001")
    assert errors(response) == {"numbers": ["DID 37060000001 already exists."]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("999999", "There is no reseller with ID 999999 that you may pick."),
        ("abc", "A reseller's ID is a whole number, e.g. 42."),
    ],
)
def test_an_unknown_reseller_id_is_a_form_error(client, portal_admin, value, expected):
    response = post(client, portal_admin, numbers="37060000001", reseller=value)
    assert errors(response)["reseller"][0].startswith(expected)
    assert not Did.objects.exists()


def test_the_chosen_reseller_is_named_back(client, portal_admin, reseller):
    response = post(
        client, portal_admin, numbers="37060000001", reseller=str(reseller.pk), tone_zone="xx"
    )
    html = response.content.decode()
    assert 'data-picker="resellers"' in html
    assert "Reseller: Charlie Resale (charlie)." in html


def test_an_id_that_is_not_a_reseller_is_refused(client, portal_admin, end_user):
    response = post(client, portal_admin, numbers="37060000001", reseller=str(end_user.pk))
    assert errors(response) == {
        "reseller": [f"There is no reseller with ID {end_user.pk} that you may pick."]
    }


def test_a_resellers_provider_goes_only_on_that_resellers_dids(
    client, portal_admin, reseller, other_reseller
):
    theirs = ProviderFactory(owner=other_reseller, name="Dave's carrier")
    response = post(
        client,
        portal_admin,
        numbers="37060000001",
        provider=theirs.pk,
        reseller=str(reseller.pk),
    )
    assert errors(response) == {"provider": ["You may not use the provider Dave's carrier."]}
    assert not Did.objects.exists()


ALLOWED = {
    "portal_admin": True,
    "accountant_writer": True,
    "accountant": False,
    "accountant_without_right": False,
    "end_user": False,
    "reseller": False,
    "reseller_pro": False,
}


@pytest.mark.parametrize("setting", [False, True])
@pytest.mark.parametrize("name", list(ALLOWED))
def test_who_may_add_dids(request, db, client, name, setting):
    resellers_may_add(setting)
    account = request.getfixturevalue(name)
    allowed = ALLOWED[name] or (name == "reseller_pro" and setting)
    client.force_login(account)
    page = client.get(URL)
    assert page.status_code == (200 if allowed else 403)
    menu = [item["label"] for item in page.context["portal_nav"]]
    assert ("Add DIDs" in menu) is allowed
    response = client.post(URL, {"numbers": "37060000001"})
    if allowed:
        assert response.status_code in (200, 302)  # 200: a reseller must pick a provider
    else:
        assert response.status_code == 403
        assert not Did.objects.exists()


def test_the_403_page_says_why(client, reseller_pro, accountant):
    client.force_login(reseller_pro)
    assert "Resellers can add their own DIDs" in client.get(URL).content.decode()
    client.force_login(accountant)
    assert "Manage DIDs right at write level" in client.get(URL).content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_reseller_adds_dids_on_its_own_provider_only(client, reseller_pro, other_reseller):
    resellers_may_add(True)
    own = ProviderFactory(owner=reseller_pro, name="Charlie's carrier")
    system = ProviderFactory(owner=None, name="Telia")
    ProviderFactory(owner=other_reseller, name="Dave's carrier")
    client.force_login(reseller_pro)
    form = client.get(URL).context["form"]
    assert [p.name for p in form.fields["provider"].queryset] == ["Charlie's carrier"]
    assert "reseller" not in form.fields
    assert "comment" not in form.fields  # the operator's comment
    refused = client.post(URL, {"numbers": "37060000001", "provider": system.pk})
    assert "provider" in errors(refused)
    missing = client.post(URL, {"numbers": "37060000001"})
    assert "provider" in errors(missing)
    assert not Did.objects.exists()

    response = client.post(
        URL,
        {"numbers": "37060000001-37060000003", "provider": own.pk, "reseller_comment": "mine"},
    )

    assert response.status_code == 302
    rows = Did.objects.values_list("reseller", "provider", "reseller_comment", "comment")
    assert list(rows) == [(reseller_pro.pk, own.pk, "mine", "")] * 3
