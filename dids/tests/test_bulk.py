"""Bulk actions on the DIDs list: who is offered what, the confirmation page's counts and
reasons, applying, the selection (ticked rows or every DID the list's filters match),
and refusals that change nothing."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.forms.models import model_to_dict
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import User
from dids import services
from dids.bulk import BULK_ACTIONS, offered_actions
from dids.models import Did, DidHistory
from dids.tests.test_lifecycle import OPERATOR_ALLOWED, STATES, World
from portal.testing.factories import DidFactory, ProviderFactory, UserFactory

ALL_ACTIONS = [
    "hand_to_reseller",
    "take_back",
    "close",
    "make_free",
    "terminate",
    "delete",
    "set_language",
    "set_provider",
    "set_call_limit",
    "set_tone_zone",
    "set_comment",
]
RESELLER_ACTIONS = [
    "close",
    "make_free",
    "set_language",
    "set_call_limit",
    "set_tone_zone",
    "set_comment",
]


@pytest.fixture
def world(reseller, other_reseller) -> World:
    return World(reseller, other_reseller)


@pytest.fixture
def accountant_writer(did_writers) -> User:
    return UserFactory(username="wendy", role=User.Role.ACCOUNTANT, accountant_group=did_writers)


@pytest.fixture
def reseller_pro(reseller) -> User:
    reseller.own_providers = True
    reseller.save()
    return reseller


def table() -> dict[int, dict]:
    return {did.pk: model_to_dict(did) for did in Did.objects.order_by("id")}


def history_count() -> int:
    return DidHistory.objects.count()


def post(client, action="", ids=(), *, query="", across=False, step="", **extra):
    data = {"action": action, "query": query, "_selected_action": [str(i) for i in ids]}
    if across:
        data["select_across"] = "1"
    if step:
        data["step"] = step
    data.update({k: str(v) for k, v in extra.items()})
    return client.post("/dids/bulk/", data, REMOTE_ADDR="192.0.2.10")


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def skip_table(response) -> dict[str, int]:
    """The confirmation page's skipped reasons and their counts."""
    html = response.content.decode()
    rows = re.findall(r'<td class="reason">(.*?)</td><td class="count">([\d,]+)</td>', html)
    return {reason.replace("&quot;", '"'): int(count.replace(",", "")) for reason, count in rows}


def changed_on_page(response) -> int:
    return int(
        re.search(r'<strong id="bulk-changed">([\d,]+)</strong>', response.content.decode())
        .group(1)
        .replace(",", "")
    )


def menu(response) -> list[str]:
    html = response.content.decode()
    select = re.search(r'<select name="action" id="bulk-action">(.*?)</select>', html, re.S)
    return [] if select is None else re.findall(r'<option value="(\w+)"', select.group(1))


# --- The registry: who is offered what ---------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("portal_admin", ALL_ACTIONS),
        ("accountant_writer", ALL_ACTIONS),
        ("reseller", RESELLER_ACTIONS),
        ("reseller_pro", [*RESELLER_ACTIONS[:3], "set_provider", *RESELLER_ACTIONS[3:]]),
        ("accountant", []),
        ("accountant_without_right", []),
        ("end_user", []),
        ("reseller_user", []),
    ],
)
def test_each_role_is_offered_exactly_its_bulk_actions(request, persona, expected):
    account = request.getfixturevalue(persona)
    assert [action.key for action in offered_actions(account)] == expected


def test_the_menu_is_the_registry_in_its_order():
    assert list(BULK_ACTIONS) == ALL_ACTIONS


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("portal_admin", ALL_ACTIONS), ("reseller", RESELLER_ACTIONS)],
)
def test_the_list_has_checkboxes_and_the_offered_actions(client, request, persona, expected):
    account = request.getfixturevalue(persona)
    did = DidFactory(reseller=account if account.is_reseller else None)
    client.force_login(account)

    response = client.get("/dids/")

    html = response.content.decode()
    assert menu(response) == expected
    assert f'name="_selected_action" value="{did.pk}"' in html
    assert 'id="action-toggle"' in html
    assert '<form method="post" action="/dids/bulk/" id="changelist-form"' in html
    assert "dids/bulk.js" in html


@pytest.mark.parametrize("persona", ["accountant", "end_user", "reseller_user"])
def test_readers_and_users_get_no_checkboxes_and_no_menu(client, request, persona):
    account = request.getfixturevalue(persona)
    DidFactory(user=account if account.is_end_user else None)
    client.force_login(account)

    html = client.get("/dids/").content.decode()

    assert "_selected_action" not in html
    assert 'id="changelist-form"' not in html
    assert 'name="action" id="bulk-action"' not in html


def test_select_all_is_offered_only_when_the_list_has_more_than_a_page(client, portal_admin):
    portal_admin.items_per_page = 10
    portal_admin.save()
    for _ in range(10):
        DidFactory()
    client.force_login(portal_admin)
    assert 'name="select_across"' not in client.get("/dids/").content.decode()

    DidFactory()
    html = client.get("/dids/").content.decode()
    assert 'name="select_across" value="1"' in html
    assert "Select all 11 DIDs that match the filters" in html


# --- Confirmation: exact counts and reasons ------------------------------------


def test_the_confirmation_counts_what_changes_and_groups_what_is_skipped(
    client, portal_admin, world
):
    dids = [world.did(state, held=False) for state in STATES for _ in range(3)]
    client.force_login(portal_admin)
    before, entries = table(), history_count()

    response = post(client, "close", [d.pk for d in dids])

    assert response.status_code == 200
    assert changed_on_page(response) == 3  # the three active DIDs on a device
    assert skip_table(response) == {
        'The DID is free: only "reserve for user", "assign device", "assign dial plan", '
        '"hand to reseller" or "terminate" are possible.': 3,
        'The DID is free: only "reserve for user", "assign device", "assign dial plan" or '
        '"take back from reseller" are possible.': 3,
        'The DID is reserved: only "assign device" or "make free" are possible.': 3,
        'The DID is on a dial plan: "close" is not possible.': 3,
        'The DID is closed: only "close again", "re-activate", "make free" or "terminate" '
        "are possible.": 3,
        'The DID is terminated: only "make free" or "delete" are possible.': 3,
    }
    # A few example numbers per reason, linked to their pages.
    terminated = [d for d in dids if d.status == "terminated"]
    assert f'<a href="/dids/{terminated[0].pk}/">{terminated[0].number}</a>' in (
        response.content.decode()
    )
    assert (table(), history_count()) == (before, entries)  # the page changed nothing


@pytest.mark.parametrize("action", ["close", "make_free", "terminate", "take_back", "delete"])
def test_the_counts_are_what_the_lifecycle_allows(client, portal_admin, world, action):
    dids = [world.did(state, held=False) for state in STATES]
    client.force_login(portal_admin)

    response = post(client, action, [d.pk for d in dids])

    countable = [s for s in STATES if action in OPERATOR_ALLOWED[s]]
    if countable:
        assert changed_on_page(response) == len(countable)
    else:
        assert 'id="bulk-nothing"' in response.content.decode()
    assert sum(skip_table(response).values()) == len(STATES) - len(countable)


# --- Applying ----------------------------------------------------------------


def test_apply_changes_exactly_the_countable_dids_with_a_history_entry_each(
    client, portal_admin, world
):
    dids = [world.did(state, held=False) for state in STATES for _ in range(2)]
    client.force_login(portal_admin)
    before = table()

    response = post(client, "close", [d.pk for d in dids], step="apply", query="search_status=")

    assert response.status_code == 302
    assert response.url.startswith("/dids/?")
    after = table()
    closed = [d.pk for d in dids if after[d.pk] != before[d.pk]]
    assert closed == [d.pk for d in dids if d.status == "active" and d.device_id]
    for pk in closed:
        assert after[pk]["status"] == "closed"
        entry = DidHistory.objects.get(did_id=pk)
        assert (entry.by, entry.source, entry.address, entry.action) == (
            portal_admin,
            "gui",
            "192.0.2.10",
            "close",
        )
    assert DidHistory.objects.count() == len(closed)
    messages = texts(response)
    assert messages[0] == "2 DIDs closed."
    assert messages[1] == "12 DIDs skipped:"
    # The five most frequent reasons, then the rest in one line.
    assert len(messages) == 8
    assert messages[-1] == "2 more, for 1 other reason."


def test_a_refused_did_is_left_exactly_as_it_was(client, portal_admin, world):
    terminated = world.did("terminated", held=False)
    active = world.did("active_device", held=False)
    client.force_login(portal_admin)
    before = model_to_dict(terminated)

    post(client, "close", [terminated.pk, active.pk], step="apply")

    terminated.refresh_from_db()
    assert model_to_dict(terminated) == before
    assert not terminated.history.exists()
    active.refresh_from_db()
    assert active.status == "closed"


def test_apply_goes_back_to_the_same_list(client, portal_admin):
    did = DidFactory()
    client.force_login(portal_admin)

    response = post(
        client,
        "terminate",
        [did.pk],
        step="apply",
        query="search_status=free&sort=-did&page=3&per_page=10",
    )

    assert parse_qs(urlsplit(response.url).query) == {
        "search_status": ["free"],
        "sort": ["-did"],
        "search_hide_terminated_dids": ["0"],
    }


def test_set_language_asks_for_the_value_then_confirms_then_applies(client, portal_admin):
    dids = [DidFactory(language="en"), DidFactory(language="lt"), DidFactory(language="")]
    ids = [d.pk for d in dids]
    client.force_login(portal_admin)

    asked = post(client, "set_language", ids)
    assert 'name="value"' in asked.content.decode()
    assert 'name="step" value="confirm"' in asked.content.decode()

    confirm = post(client, "set_language", ids, step="confirm", value="lt")
    assert changed_on_page(confirm) == 2
    assert skip_table(confirm) == {"The DID has this value already: nothing to change.": 1}
    assert '<input type="hidden" name="value" value="lt"' in confirm.content.decode()

    applied = post(client, "set_language", ids, step="apply", value="lt", expected=2)
    assert texts(applied)[0] == "2 DIDs changed (language: lt)."
    assert set(Did.objects.values_list("language", flat=True)) == {"lt"}
    assert DidHistory.objects.filter(action="edit").count() == 2


@pytest.mark.parametrize(
    ("action", "value", "error"),
    [
        ("set_language", "two\nlines", "Language must be one line of text"),
        ("set_call_limit", "-1", "Ensure this value is greater than or equal to 0."),
        ("set_call_limit", "many", "Enter a whole number."),
        ("set_tone_zone", "atlantis", "Select a valid choice."),
        ("hand_to_reseller", "999999", "Select a valid choice."),
    ],
)
def test_a_bad_value_is_a_form_error_and_changes_nothing(
    client, portal_admin, action, value, error
):
    did = DidFactory()
    client.force_login(portal_admin)
    before, entries = table(), history_count()

    for step in ("confirm", "apply"):
        response = post(client, action, [did.pk], step=step, value=value)
        assert response.status_code == 200
        assert error in response.content.decode()
        assert 'name="step" value="confirm"' in response.content.decode()
    assert (table(), history_count()) == (before, entries)


def test_hand_to_reseller_in_bulk(client, portal_admin, reseller, world):
    free = [world.did("free", held=False) for _ in range(3)]
    held = world.did("free_held", held=True)
    client.force_login(portal_admin)

    ids = [d.pk for d in [*free, held]]
    confirm = post(client, "hand_to_reseller", ids, step="confirm", value=world.other_reseller.pk)
    assert changed_on_page(confirm) == 3
    assert skip_table(confirm) == {
        'The DID is held by a reseller: "hand to reseller" is not possible.': 1
    }
    applied = post(client, "hand_to_reseller", ids, step="apply", value=world.other_reseller.pk)

    assert texts(applied)[0] == (
        f"3 DIDs handed to the reseller {world.other_reseller.display_name}."
    )
    assert [Did.objects.get(pk=d.pk).reseller for d in free] == [world.other_reseller] * 3
    assert Did.objects.get(pk=held.pk).reseller == reseller


def test_set_provider_offers_none_to_the_operator_and_checks_each_holder(
    client, portal_admin, reseller, world
):
    charlie_provider = ProviderFactory(owner=reseller, name="Charlie Wholesale")
    system = world.did("free", held=False)
    held = world.did("free_held", held=True)
    client.force_login(portal_admin)

    asked = post(client, "set_provider", [system.pk, held.pk]).content.decode()
    assert "— no provider —" in asked
    assert "Charlie Wholesale (reseller Charlie Resale)" in asked
    confirm = post(client, "set_provider", [system.pk, held.pk], step="confirm", value="")
    # Neither has a provider: nothing changes.
    assert changed_on_page(confirm) == 0
    assert skip_table(confirm) == {"The DID has this value already: nothing to change.": 2}
    confirm = post(
        client, "set_provider", [system.pk, held.pk], step="confirm", value=charlie_provider.pk
    )
    assert changed_on_page(confirm) == 1
    assert skip_table(confirm) == {"You may not use the provider Charlie Wholesale.": 1}


def test_a_reseller_sets_its_own_comment_not_the_operators(client, world):
    did = world.did("free_held", held=True)
    client.force_login(world.reseller)

    post(client, "set_comment", [did.pk], step="apply", value="for erin")

    did.refresh_from_db()
    assert (did.reseller_comment, did.comment) == ("for erin", "")


def test_delete_terminated_warns_and_deletes(client, portal_admin, world):
    doomed = world.did("terminated", held=False)
    kept = world.did("free", held=False)
    client.force_login(portal_admin)

    confirm = post(client, "delete", [doomed.pk, kept.pk])
    assert 'id="bulk-warning"' in confirm.content.decode()
    post(client, "delete", [doomed.pk, kept.pk], step="apply")

    assert list(Did.objects.values_list("pk", flat=True)) == [kept.pk]


# --- The selection -------------------------------------------------------------


def list_ids(client, query: str) -> set[int]:
    """Every DID the list shows for the query, over all its pages."""
    ids: set[int] = set()
    page = 1
    while True:
        html = client.get(f"/dids/?{query}&page={page}&per_page=1000").content.decode()
        ids |= {int(i) for i in re.findall(r'<tr [^>]*data-id="(\d+)"', html)}
        if 'rel="next"' not in html:
            return ids
        page += 1


@pytest.mark.parametrize(
    "query",
    [
        "",
        "search_status=active",
        "search_hide_terminated_dids=1",
        "search_did_number=37%25&search_status=free",
        "search_user=0",
        "from=3&max_results=4",
        "search_device=all&search_language=en",
    ],
)
@pytest.mark.parametrize("persona", ["portal_admin", "reseller"])
def test_select_all_takes_exactly_what_the_list_shows(client, request, world, persona, query):
    for state in STATES:
        for held in (False, True):
            did = world.did(state, held=held)
            Did.objects.filter(pk=did.pk).update(language="en" if did.pk % 2 else "lt")
    world.did("free_held", held=False)  # held by nobody
    DidFactory(reseller=world.other_reseller)  # another reseller's
    account = request.getfixturevalue(persona)
    client.force_login(account)
    shown = list_ids(client, query)

    post(client, "set_call_limit", across=True, query=query, step="apply", value="42")

    changed = set(Did.objects.filter(call_limit=42).values_list("pk", flat=True))
    assert changed == shown
    assert set(DidHistory.objects.values_list("did_id", flat=True)) == shown


def test_a_resellers_select_all_never_touches_another_resellers_dids(client, world):
    mine = [world.did("active_device", held=True) for _ in range(3)]
    theirs = DidFactory(status="active", reseller=world.other_reseller)
    operators = world.did("active_device", held=False)
    client.force_login(world.reseller)
    before = {d.pk: model_to_dict(d) for d in (theirs, operators)}

    confirm = post(client, "close", across=True)
    assert changed_on_page(confirm) == 3
    post(client, "close", across=True, step="apply")

    assert [Did.objects.get(pk=d.pk).status for d in mine] == ["closed"] * 3
    assert {d.pk: model_to_dict(Did.objects.get(pk=d.pk)) for d in (theirs, operators)} == before


def test_ticked_ids_outside_the_resellers_dids_are_ignored(client, world):
    mine = world.did("active_device", held=True)
    theirs = DidFactory(status="active", reseller=world.other_reseller)
    client.force_login(world.reseller)
    before = model_to_dict(theirs)

    confirm = post(client, "close", [mine.pk, theirs.pk])
    assert "Selected: <strong>1</strong> ticked DID." in confirm.content.decode()
    post(client, "close", [mine.pk, theirs.pk], step="apply")

    theirs.refresh_from_db()
    assert model_to_dict(theirs) == before
    assert not theirs.history.exists()


def test_the_selection_is_evaluated_again_when_applied(client, portal_admin, world):
    dids = [world.did("active_device", held=False) for _ in range(4)]
    client.force_login(portal_admin)
    query = "search_status=active"

    confirm = post(client, "close", across=True, query=query)
    assert changed_on_page(confirm) == 4
    # Meanwhile: one is closed by someone else, another is made free, a new one is active.
    services.did_close(did_id=dids[0].pk, actor=portal_admin, source="gui")
    services.did_make_free(did_id=dids[1].pk, actor=portal_admin, source="gui")
    newcomer = world.did("active_device", held=False)

    applied = post(client, "close", across=True, query=query, step="apply", expected=4)

    assert texts(applied)[:2] == [
        "3 DIDs closed.",
        "The confirmation page counted 4 DIDs to change: the DIDs changed in the meantime, "
        "and were checked again when applied.",
    ]
    statuses = {d.pk: Did.objects.get(pk=d.pk).status for d in [*dids, newcomer]}
    assert statuses == {
        dids[0].pk: "closed",
        dids[1].pk: "free",
        dids[2].pk: "closed",
        dids[3].pk: "closed",
        newcomer.pk: "closed",
    }
    assert DidHistory.objects.filter(did_id=dids[0].pk).count() == 1  # not closed twice


def test_ticked_dids_changed_meanwhile_are_checked_again(client, portal_admin, world):
    dids = [world.did("active_device", held=False) for _ in range(2)]
    client.force_login(portal_admin)
    ids = [d.pk for d in dids]
    assert changed_on_page(post(client, "close", ids)) == 2
    services.did_make_free(did_id=dids[0].pk, actor=portal_admin, source="gui")

    applied = post(client, "close", ids, step="apply", expected=2)

    assert texts(applied)[0] == "1 DID closed."
    assert Did.objects.get(pk=dids[0].pk).status == "free"


# --- Refusals ------------------------------------------------------------------


def test_nothing_ticked_is_a_message_and_changes_nothing(client, portal_admin):
    DidFactory()
    client.force_login(portal_admin)
    before = table()

    response = post(client, "terminate", [], step="apply")

    assert response.status_code == 302
    assert texts(response) == [
        "Tick the DIDs to change first (or select all that match the filters). Nothing was changed."
    ]
    assert table() == before


@pytest.mark.parametrize("action", ["", "explode", "set_status"])
def test_no_or_an_unknown_action_is_a_message(client, portal_admin, action):
    did = DidFactory()
    client.force_login(portal_admin)

    response = post(client, action, [did.pk], step="apply")

    assert response.status_code == 302
    assert texts(response)[0].endswith("Nothing was changed.")
    assert not DidHistory.objects.exists()


def test_malformed_ids_are_refused(client, portal_admin):
    did = DidFactory()
    client.force_login(portal_admin)

    response = post(client, "terminate", [did.pk, "1; DROP TABLE"], step="apply")

    assert texts(response) == ["The ticked DIDs are not valid. Nothing was changed."]
    did.refresh_from_db()
    assert did.status == "free"


def test_invalid_filters_with_select_all_change_nothing(client, portal_admin):
    DidFactory()
    client.force_login(portal_admin)
    before = table()

    response = post(client, "terminate", across=True, query="search_user=abc", step="apply")

    assert texts(response) == [
        "The filters are not valid: Invalid search_user: expected a whole number"
    ]
    assert table() == before


@pytest.mark.parametrize("persona", ["accountant", "end_user", "reseller_user"])
def test_readers_and_users_are_refused_and_nothing_changes(client, request, persona):
    account = request.getfixturevalue(persona)
    did = DidFactory(status="active", user=account if account.is_end_user else None)
    client.force_login(account)
    before = table()

    for step in ("", "apply"):
        response = post(client, "close", [did.pk], step=step)
        assert response.status_code == 403
        assert "You may not change DIDs" in response.content.decode()
        response = post(client, "close", across=True, step=step)
        assert response.status_code == 403
    assert table() == before
    assert not DidHistory.objects.exists()


def test_an_accountant_without_the_right_gets_the_403_page(client, accountant_without_right):
    did = DidFactory()
    client.force_login(accountant_without_right)

    response = post(client, "terminate", [did.pk], step="apply")

    assert response.status_code == 403
    assert "You are not authorized to manage DIDs" in response.content.decode()
    did.refresh_from_db()
    assert did.status == "free"


def test_the_form_needs_a_csrf_token(portal_admin):
    did = DidFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(portal_admin)

    response = client.post(
        "/dids/bulk/", {"action": "terminate", "_selected_action": [did.pk], "step": "apply"}
    )

    assert response.status_code == 403
    did.refresh_from_db()
    assert did.status == "free"
    assert not DidHistory.objects.exists()


def test_the_list_form_carries_a_csrf_token(portal_admin):
    DidFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(portal_admin)
    html = client.get("/dids/").content.decode()
    token = re.search(
        r'id="changelist-form" novalidate><input type="hidden" name="csrfmiddlewaretoken" '
        r'value="([^"]+)"',
        html,
    ).group(1)

    response = client.post(
        "/dids/bulk/", {"action": "terminate", "select_across": "1", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 200
    assert changed_on_page(response) == 1


def test_get_is_not_allowed(client, portal_admin):
    client.force_login(portal_admin)
    assert client.get("/dids/bulk/").status_code == 405


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    did = DidFactory()
    response = post(client, "terminate", [did.pk], step="apply")
    assert response.status_code == 302
    assert response.url.startswith("/login/")
    did.refresh_from_db()
    assert did.status == "free"


def test_a_whole_page_of_a_thousand_ticked_dids_can_be_posted(client, portal_admin):
    Did.objects.bulk_create([Did(number=f"3706{n:07d}") for n in range(1000)])
    ids = list(Did.objects.values_list("pk", flat=True))
    client.force_login(portal_admin)

    response = post(client, "terminate", ids)

    assert response.status_code == 200
    assert changed_on_page(response) == 1000


def test_more_ticked_dids_than_a_page_holds_are_refused(client, portal_admin):
    did = DidFactory()
    client.force_login(portal_admin)

    response = post(client, "terminate", [did.pk] * 1001, step="apply")

    assert texts(response) == ["Tick at most 1000 DIDs at a time. Nothing was changed."]
    did.refresh_from_db()
    assert did.status == "free"


def test_more_dids_than_the_bulk_limit_are_refused(client, portal_admin, settings):
    settings.DIDS_BULK_LIMIT = 3
    dids = [DidFactory() for _ in range(4)]
    client.force_login(portal_admin)

    response = post(client, "terminate", across=True, step="apply")

    assert texts(response) == [
        "4 DIDs selected: a bulk action takes at most 3 at a time. Narrow the filters "
        "(e.g. with Max results) and repeat. Nothing was changed."
    ]
    assert {Did.objects.get(pk=d.pk).status for d in dids} == {"free"}
    assert changed_on_page(post(client, "terminate", across=True, query="max_results=3")) == 3


def test_select_across_zero_means_the_ticked_dids_only(client, portal_admin):
    ticked, other = DidFactory(), DidFactory()
    client.force_login(portal_admin)

    post(client, "terminate", [ticked.pk], step="apply", select_across="0")

    assert Did.objects.get(pk=ticked.pk).status == "terminated"
    assert Did.objects.get(pk=other.pk).status == "free"


# --- Anything posted -----------------------------------------------------------

posted_text = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "abc", "1e9", "9" * 30, "lt", "\x00"]),
    # What a form body can carry: any text but lone surrogates, which are no UTF-8.
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
)
posted = st.fixed_dictionaries(
    {
        "action": st.one_of(st.sampled_from([*ALL_ACTIONS, "", "delete_all"]), posted_text),
        "step": st.sampled_from(["", "confirm", "apply", "value", "x"]),
        "select_across": posted_text,
        "query": st.one_of(
            st.sampled_from(["", "search_user=abc", "from=0", "max_results=1", "search_status=x"]),
            posted_text,
        ),
        "value": posted_text,
        "expected": posted_text,
        "_selected_action": st.lists(posted_text, max_size=4),
    }
)


@pytest.fixture
def two_dids(world):
    return [world.did("active_device", held=True), world.did("terminated", held=False)]


@pytest.mark.parametrize("persona", ["portal_admin", "reseller", "accountant"])
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=posted)
def test_anything_posted_gets_a_page_never_a_server_error(request, two_dids, persona, data):
    account = request.getfixturevalue(persona)
    client = Client()
    client.force_login(account)
    before = table()

    response = client.post("/dids/bulk/", data)

    assert response.status_code in (200, 302, 403)
    if not account.may_manage_dids:
        assert response.status_code == 403
        assert table() == before


def test_many_resellers_are_picked_by_id(client, portal_admin, world, monkeypatch):
    monkeypatch.setattr("dids.bulk.PICKER_LIMIT", 1)  # charlie and dave are more
    did = world.did("free", held=False)
    client.force_login(portal_admin)

    asked = post(client, "hand_to_reseller", [did.pk]).content.decode()
    assert re.search(r'<input type="text" name="value"[^>]*size="10"', asked)
    assert "<option" not in asked.split('name="value"')[1].split("</div>")[0]
    confirm = post(client, "hand_to_reseller", [did.pk], step="confirm", value=world.reseller.pk)

    assert "Reseller: <strong>Charlie Resale</strong>" in confirm.content.decode()
    assert changed_on_page(confirm) == 1
