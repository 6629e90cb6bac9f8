"""Creating DIDs: one number, a range; who may; all or nothing."""

import pytest

from accounts.models import SystemSettings
from dids import services
from dids.models import Did, DidHistory
from dids.services import DidActionRefused
from portal.testing.factories import DidFactory, ProviderFactory


def create(actor, number="37060000001", **fields):
    return services.did_create(number=number, actor=actor, source="gui", fields=fields)


def test_operator_creates_a_free_did_with_history(portal_admin):
    provider = ProviderFactory(owner=None)
    did = create(portal_admin, " 37060000001\n", provider=provider, language="en")
    assert (did.number, did.status, did.provider, did.language, did.reseller) == (
        "37060000001",
        "free",
        provider,
        "en",
        None,
    )
    entry = did.history.get()
    assert (entry.action, entry.by, entry.changes["number"]) == (
        "create",
        portal_admin,
        [None, "37060000001"],
    )


def test_operator_creates_a_did_for_a_reseller(portal_admin, reseller):
    did = create(portal_admin, reseller=reseller)
    assert did.reseller == reseller
    assert did.status == "free"


@pytest.mark.parametrize("number", ["", "abc", "1-415", "+1415", "1.5", "1" * 51, "1 2"])
def test_malformed_numbers_are_refused(portal_admin, number):
    with pytest.raises(DidActionRefused) as refused:
        create(portal_admin, number)
    assert refused.value.code == "invalid"
    assert not Did.objects.exists()


def test_letters_after_a_leading_digit_are_a_number(portal_admin):
    assert create(portal_admin, "479k469588").number == "479k469588"


def test_an_existing_number_is_refused(portal_admin):
    DidFactory(number="37060000001", status="terminated")
    with pytest.raises(DidActionRefused) as refused:
        create(portal_admin)
    assert refused.value.code == "exists"
    assert Did.objects.count() == 1


@pytest.mark.parametrize("name", ["accountant", "accountant_without_right", "end_user"])
def test_readers_and_users_create_nothing(request, name):
    with pytest.raises(DidActionRefused) as refused:
        create(request.getfixturevalue(name))
    assert refused.value.code == "not_permitted"
    assert not Did.objects.exists()


def test_reseller_creates_only_with_the_setting_on_its_own_providers(reseller, other_reseller):
    reseller.own_providers = True
    reseller.save()
    own = ProviderFactory(owner=reseller)
    with pytest.raises(DidActionRefused):
        create(reseller, provider=own)  # the setting is off
    settings = SystemSettings.load()
    settings.resellers_can_add_their_own_dids = True
    settings.save()
    for provider in (None, ProviderFactory(owner=None), ProviderFactory(owner=other_reseller)):
        with pytest.raises(DidActionRefused):
            create(reseller, provider=provider)
    with pytest.raises(DidActionRefused):
        create(reseller, provider=own, comment="the operator's comment")
    did = create(reseller, provider=own, reseller_comment="mine")
    assert (did.reseller, did.provider, did.reseller_comment) == (reseller, own, "mine")


def test_a_plain_reseller_creates_nothing_even_with_the_setting(reseller):
    settings = SystemSettings.load()
    settings.resellers_can_add_their_own_dids = True
    settings.save()
    with pytest.raises(DidActionRefused):
        create(reseller, provider=ProviderFactory(owner=reseller))


def test_a_range_is_created_whole(portal_admin):
    count = services.dids_create_range(
        first="37060000998",
        last="37060001002",
        actor=portal_admin,
        source="gui",
        fields={"language": "lt"},
    )
    assert count == 5
    assert list(Did.objects.order_by("number").values_list("number", "language")) == [
        (f"3706000{n:04d}", "lt") for n in range(998, 1003)
    ]
    assert DidHistory.objects.filter(action="create").count() == 5


def test_a_range_keeps_leading_zeros(portal_admin):
    services.dids_create_range(first="0001", last="0003", actor=portal_admin, source="gui")
    assert sorted(Did.objects.values_list("number", flat=True)) == ["0001", "0002", "0003"]


def test_a_range_with_existing_numbers_is_refused_and_lists_them(portal_admin):
    for n in range(0, 50, 2):
        DidFactory(number=f"3706{n:07d}")
    with pytest.raises(DidActionRefused) as refused:
        services.dids_create_range(
            first="37060000000", last="37060000099", actor=portal_admin, source="gui"
        )
    assert refused.value.code == "exists"
    assert refused.value.message.startswith("25 of these numbers exist already: 37060000000, ")
    assert refused.value.message.endswith("and 5 more. Nothing was created.")
    assert Did.objects.count() == 25


@pytest.mark.parametrize(
    ("first", "last"),
    [("100", "99"), ("100", "1000"), ("1a", "1b"), ("1", "10001"), ("-1", "5"), ("", "")],
)
def test_bad_ranges_are_refused(portal_admin, first, last):
    with pytest.raises(DidActionRefused) as refused:
        services.dids_create_range(first=first, last=last, actor=portal_admin, source="gui")
    assert refused.value.code == "invalid"
    assert not Did.objects.exists()


def test_a_range_has_at_most_ten_thousand_numbers(portal_admin):
    with pytest.raises(DidActionRefused) as refused:
        services.dids_create_range(first="10000", last="20000", actor=portal_admin, source="gui")
    assert "at most 10,000" in refused.value.message
    assert (
        services.dids_create_range(first="10000", last="19999", actor=portal_admin, source="gui")
        == 10_000
    )


def test_many_dids_are_created_each_with_its_values_and_history(portal_admin, reseller):
    provider = ProviderFactory(owner=None)
    created = services.dids_create_many(
        items=[
            ("37060000001", {"provider": provider, "language": "en"}),
            (" 37060000002 ", {"reseller": reseller, "comment": "block B"}),
        ],
        actor=portal_admin,
        source="import",
        address="10.0.0.1",
    )
    assert [did.number for did in created] == ["37060000001", "37060000002"]
    rows = Did.objects.order_by("number").values_list(
        "number", "status", "provider", "language", "reseller", "comment"
    )
    assert list(rows) == [
        ("37060000001", "free", provider.pk, "en", None, ""),
        ("37060000002", "free", None, "", reseller.pk, "block B"),
    ]
    entries = DidHistory.objects.order_by("did__number")
    assert [(e.action, e.source, e.address, e.by) for e in entries] == [
        ("create", "import", "10.0.0.1", portal_admin)
    ] * 2
    assert entries[1].changes["reseller"] == [None, f"Charlie Resale (#{reseller.pk})"]


@pytest.mark.parametrize(
    ("items", "code"),
    [
        ([("37060000001", {}), ("37060000009", {})], "exists"),
        ([("37060000002", {}), ("37060000002", {})], "invalid"),
        ([("37060000002", {}), ("abc", {})], "invalid"),
        ([("37060000002", {}), ("37060000003", {"tone_zone": "xx"})], "invalid"),
    ],
)
def test_many_dids_are_all_or_nothing(portal_admin, items, code):
    DidFactory(number="37060000009")
    with pytest.raises(DidActionRefused) as refused:
        services.dids_create_many(items=items, actor=portal_admin, source="import")
    assert refused.value.code == code
    assert list(Did.objects.values_list("number", flat=True)) == ["37060000009"]
    assert not DidHistory.objects.exists()


def test_many_dids_follow_the_reseller_rules(reseller):
    reseller.own_providers = True
    reseller.save()
    with pytest.raises(DidActionRefused) as refused:
        services.dids_create_many(
            items=[("37060000001", {"provider": ProviderFactory(owner=reseller)})],
            actor=reseller,
            source="import",
        )
    assert refused.value.code == "not_permitted"
    assert not Did.objects.exists()


def test_a_did_is_not_created_for_a_disabled_reseller(portal_admin, reseller):
    reseller.is_active = False
    reseller.save()
    with pytest.raises(DidActionRefused) as refused:
        create(portal_admin, reseller=reseller)
    assert refused.value.message == "Pick an active reseller."
    assert not Did.objects.exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("portal_admin", None),
        ("accountant", "Creating DIDs needs the Manage DIDs right at write level."),
        ("accountant_without_right", "You may not create DIDs."),
        ("end_user", "You may not create DIDs."),
        ("reseller", "Resellers may create DIDs only while the system setting "),
    ],
)
def test_creation_refusal_says_why(request, name, expected):
    why = services.creation_refusal(request.getfixturevalue(name))
    if expected is None:
        assert why is None
    else:
        assert why.startswith(expected)


def test_a_creation_preview_checks_as_did_create_and_writes_nothing(portal_admin, reseller):
    provider = ProviderFactory(owner=None)
    preview = services.did_create_preview(
        number=" 37060000001",
        actor=portal_admin,
        fields={"provider": provider, "reseller": reseller},
    )
    assert (preview.did.number, preview.did.pk, preview.before) == ("37060000001", None, {})
    assert preview.changes["reseller"] == [None, f"Charlie Resale (#{reseller.pk})"]
    with pytest.raises(DidActionRefused):
        services.did_create_preview(number="37060000001", actor=reseller)
    assert not Did.objects.exists()
    created = create(portal_admin, provider=provider, reseller=reseller)
    assert created.history.get().changes == preview.changes
