"""The DID page's lifecycle actions: a button (and a small form) per action the viewer
may take, POST only, CSRF, a confirmation for destructive ones, the service called with
the GUI as channel and the client's address; refusals shown, nothing changed; 404
outside the viewer's visibility, 403 for those who may only look."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from accounts.models import SystemSettings, User
from dids.lifecycle import TRANSITIONS
from dids.models import Did, DidHistory
from dids.services import did_edit
from dids.tables import ABSENT
from dids.tests.test_lifecycle import (
    OPERATOR_ALLOWED,
    RESELLER_ALLOWED,
    STATES,
    TARGET_STATUS,
    World,
    row,
)
from dids.tests.test_parity import api_rows, gui_rows
from dids.views.did_forms import version_of
from portal.testing.factories import DeviceFactory, UserFactory

ACTIONS = list(TRANSITIONS)
SYSTEM_ONLY = [key for key, t in TRANSITIONS.items() if t.system_only]


@pytest.fixture
def world(reseller, other_reseller) -> World:
    return World(reseller, other_reseller)


@pytest.fixture
def accountant_writer(did_writers) -> User:
    return UserFactory(
        username="wendy",
        first_name="Wendy",
        last_name="Writer",
        role=User.Role.ACCOUNTANT,
        accountant_group=did_writers,
    )


def a_state_allowing(action: str, allowed: dict[str, set[str]]) -> str:
    return next(state for state in STATES if action in allowed.get(state, set()))


def a_state_refusing(action: str) -> str:
    return next(state for state in STATES if action not in OPERATOR_ALLOWED[state])


def action_data(did: Did, action: str, target=None, *, confirm: bool = True) -> dict[str, str]:
    did.refresh_from_db()
    data = {f"{action}-updated_at": version_of(did)}
    if target is not None:
        data[f"{action}-target"] = str(target.pk)
    if confirm:
        data[f"{action}-confirm"] = "1"
    return data


def post_action(client: Client, did: Did, action: str, target=None, **kwargs):
    return client.post(
        f"/dids/{did.pk}/action/{action}/", action_data(did, action, target, **kwargs)
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def offered(client: Client, did: Did) -> set[str]:
    """The actions the DID's page shows a form for."""
    response = client.get(f"/dids/{did.pk}/")
    assert response.status_code == 200
    return set(re.findall(r'<form method="post" action="/dids/\d+/action/(\w+)/"', _html(response)))


def _html(response) -> str:
    return response.content.decode()


def history_count(did: Did) -> int:
    return DidHistory.objects.filter(did_id=did.pk).count()


def target_of(world: World, action: str, did: Did):
    values = world.target(action, did)
    return next(iter(values.values())) if values else None


# --- What the page offers ------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_the_page_offers_the_operator_exactly_its_actions(client, portal_admin, world, state):
    did = world.did(state, held=False)
    client.force_login(portal_admin)

    assert offered(client, did) == OPERATOR_ALLOWED[state]


@pytest.mark.parametrize("state", list(RESELLER_ALLOWED))
def test_the_page_offers_the_reseller_exactly_its_actions(client, world, state):
    did = world.did(state, held=True)
    client.force_login(world.reseller)

    assert offered(client, did) == RESELLER_ALLOWED[state]


@pytest.mark.parametrize("persona", ["accountant", "end_user"])
def test_readers_get_no_forms_at_all(request, client, world, persona):
    actor = request.getfixturevalue(persona)
    did = world.did("active_device", held=False)  # frank's DID: end_user sees it
    client.force_login(actor)

    html = _html(client.get(f"/dids/{did.pk}/"))

    assert 'id="did-actions"' not in html
    assert 'id="did-edit-form"' not in html
    assert "/action/" not in html


# --- Every action, allowed -------------------------------------------------------------


@pytest.mark.parametrize("persona", ["portal_admin", "accountant_writer"])
@pytest.mark.parametrize("action", ACTIONS)
def test_the_operator_takes_every_action_through_the_page(request, client, world, persona, action):
    actor = request.getfixturevalue(persona)
    did = world.did(a_state_allowing(action, OPERATOR_ALLOWED), held=False)
    client.force_login(actor)

    response = post_action(client, did, action, target_of(world, action, did))

    assert response.status_code == 302
    if TARGET_STATUS[action] is None:
        assert response["Location"] == "/dids/"
        assert not Did.objects.filter(pk=did.pk).exists()
        assert messages_of(response) == [f"DID {did.number} was deleted, with its history."]
        return
    assert response["Location"] == f"/dids/{did.pk}/"
    did.refresh_from_db()
    assert did.status == TARGET_STATUS[action]
    entry = did.history.first()
    assert (entry.by, entry.source, entry.address, entry.action) == (
        actor,
        DidHistory.Source.GUI,
        "127.0.0.1",
        TRANSITIONS[action].name,
    )
    (message,) = messages_of(response)
    assert message.startswith(f"DID {did.number}: “{TRANSITIONS[action].name}” done")
    assert message.endswith(f"It is now {did.status_label}.")


@pytest.mark.parametrize(
    "action", sorted({a for actions in RESELLER_ALLOWED.values() for a in actions})
)
def test_the_reseller_takes_its_actions_on_its_own_did(client, world, action):
    did = world.did(a_state_allowing(action, RESELLER_ALLOWED), held=True)
    client.force_login(world.reseller)

    response = post_action(client, did, action, target_of(world, action, did))

    assert response["Location"] == f"/dids/{did.pk}/"
    did.refresh_from_db()
    assert did.status == TARGET_STATUS[action]
    assert did.reseller == world.reseller
    assert did.history.first().by == world.reseller


# --- Every action, refused -------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_the_status_does_not_allow_is_refused_and_changes_nothing(
    client, portal_admin, world, action
):
    did = world.did(a_state_refusing(action), held=False)
    before, history = row(did.pk), history_count(did)
    client.force_login(portal_admin)

    response = post_action(client, did, action, target_of(world, action, did))

    assert response["Location"] == f"/dids/{did.pk}/"
    (message,) = messages_of(response)
    assert message.startswith(f"DID {did.number} ")
    assert "possible" in message
    assert row(did.pk) == before
    assert history_count(did) == history


@pytest.mark.parametrize("action", SYSTEM_ONLY)
def test_a_reseller_may_not_take_the_operators_actions(client, world, action):
    state = {"terminate": "closed", "delete": "terminated"}.get(action, "free_held")
    did = world.did(state, held=True)
    if state == "terminated":  # a reseller holds no terminated DID: it would not see it
        Did.objects.filter(pk=did.pk).update(reseller=world.reseller)
    before = row(did.pk)
    client.force_login(world.reseller)

    response = post_action(client, did, action, target_of(world, action, did))

    assert messages_of(response) == [f'You may not "{TRANSITIONS[action].name}" DIDs.']
    assert row(did.pk) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_another_resellers_did_is_a_404_for_every_action(client, world, action):
    did = world.did(a_state_allowing(action, OPERATOR_ALLOWED), held=True)
    before = row(did.pk)
    client.force_login(world.other_reseller)

    response = post_action(client, did, action, target_of(world, action, did))

    assert response.status_code == 404
    assert row(did.pk) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_an_accountant_with_read_only_is_refused_every_action(client, accountant, world, action):
    did = world.did(a_state_allowing(action, OPERATOR_ALLOWED), held=False)
    before, history = row(did.pk), history_count(did)
    client.force_login(accountant)

    response = post_action(client, did, action, target_of(world, action, did))

    assert response.status_code == 403
    assert "You may look at DIDs but not change them." in _html(response)
    assert row(did.pk) == before
    assert history_count(did) == history


@pytest.mark.parametrize("action", ["close", "make_free", "reassign_device", "unassign_device"])
def test_a_user_cannot_change_its_own_did(client, world, action):
    did = world.did("active_device", held=False)  # frank's
    before = row(did.pk)
    client.force_login(world.sys_user)

    response = post_action(client, did, action, target_of(world, action, did))

    assert response.status_code == 403
    assert row(did.pk) == before


def test_a_user_gets_a_404_for_another_users_did(client, world, reseller_user):
    did = world.did("active_device", held=False)  # frank's
    client.force_login(reseller_user)

    assert post_action(client, did, "close").status_code == 404


def test_an_accountant_without_manage_dids_gets_the_403_page(
    client, accountant_without_right, world
):
    did = world.did("active_device", held=False)
    before = row(did.pk)
    client.force_login(accountant_without_right)

    response = post_action(client, did, "close")

    assert response.status_code == 403
    assert "You are not authorized to manage DIDs" in _html(response)
    assert row(did.pk) == before


def test_the_action_forms_are_csrf_protected(portal_admin, world):
    did = world.did("active_device", held=False)
    before = row(did.pk)
    client = Client(enforce_csrf_checks=True)
    client.force_login(portal_admin)

    response = post_action(client, did, "close")

    assert response.status_code == 403
    assert row(did.pk) == before


def test_an_action_url_answers_post_only(client, portal_admin, world):
    did = world.did("active_device", held=False)
    client.force_login(portal_admin)

    assert client.get(f"/dids/{did.pk}/action/close/").status_code == 405


def test_an_unknown_action_is_a_404(client, portal_admin, world):
    did = world.did("active_device", held=False)
    client.force_login(portal_admin)

    assert client.post(f"/dids/{did.pk}/action/explode/", {}).status_code == 404


def test_an_unknown_did_is_a_404(client, portal_admin):
    client.force_login(portal_admin)

    assert client.post("/dids/98765/action/close/", {}).status_code == 404


# --- Confirmation -------------------------------------------------------------------------


@pytest.mark.parametrize("action", [k for k, t in TRANSITIONS.items() if t.destructive])
def test_a_destructive_action_asks_first_and_changes_nothing_until_confirmed(
    client, portal_admin, world, action
):
    did = world.did(a_state_allowing(action, OPERATOR_ALLOWED), held=False)
    before = row(did.pk)
    client.force_login(portal_admin)

    response = post_action(client, did, action, confirm=False)

    assert response.status_code == 200
    html = unescape(_html(response))
    assert f"Are you sure you want to {TRANSITIONS[action].name} DID {did.number}?" in re.sub(
        r"<[^>]+>", "", html
    )
    assert f'name="{action}-confirm" value="1"' in html
    assert f'action="/dids/{did.pk}/action/{action}/"' in html
    assert row(did.pk) == before
    # The confirmation page's own form does it.
    response = client.post(
        f"/dids/{did.pk}/action/{action}/",
        {f"{action}-updated_at": version_of(did), f"{action}-confirm": "1"},
    )
    assert response.status_code == 302
    assert row(did.pk) != before


def test_closing_explains_how_long_the_did_stays_reserved(client, portal_admin, world):
    SystemSettings.objects.update_or_create(pk=1, defaults={"days_for_did_close": 30})
    did = world.did("active_device", held=False)
    client.force_login(portal_admin)

    response = post_action(client, did, "close", confirm=False)

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", unescape(_html(response))))
    until = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert (
        "With the system's Days for DID close at 30 days, it stays reserved for its end user "
        f"until {until} "
    ) in text


def test_non_destructive_actions_need_no_confirmation(client, portal_admin, world):
    did = world.did("closed", held=False)
    client.force_login(portal_admin)

    response = post_action(client, did, "reactivate", confirm=False)

    assert response.status_code == 302
    did.refresh_from_db()
    assert did.status == Did.Status.ACTIVE


# --- Targets ---------------------------------------------------------------------------------


def panel_errors(response, action: str) -> list[str]:
    html = _html(response)
    form = html.split(f'id="action-{action}"', 1)[1].split("</form>", 1)[0]
    return [unescape(e) for e in re.findall(r"<li>(.*?)</li>", form)]


def test_the_target_is_an_id_typed_or_picked(client, portal_admin, world):
    did = world.did("free", held=False)
    client.force_login(portal_admin)

    html = _html(client.get(f"/dids/{did.pk}/"))

    assert (
        f'<input type="text" name="reserve-target" data-picker="users" inputmode="numeric" '
        f'autocomplete="off" size="10" placeholder="user ID" data-picker-did="{did.pk}"'
    ) in html
    assert 'data-picker="devices"' in html
    assert 'data-picker="dial-plans"' in html
    assert 'data-picker="resellers"' in html
    assert "<select" not in html.split('id="did-actions"', 1)[1].split('id="did-fields"', 1)[0]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "Pick a user: type its ID or search for it."),
        ("abc", "A user's ID is a whole number, e.g. 42."),
        ("-3", "A user's ID is a whole number, e.g. 42."),
        ("99999999999999999999", "A user's ID is a whole number, e.g. 42."),
        ("987654", "There is no user with ID 987654 that you may pick."),
    ],
)
def test_a_bad_target_is_a_form_error_and_changes_nothing(
    client, portal_admin, world, value, error
):
    did = world.did("free", held=False)
    before = row(did.pk)
    client.force_login(portal_admin)
    data = action_data(did, "reserve")
    data["reserve-target"] = value

    response = client.post(f"/dids/{did.pk}/action/reserve/", data)

    assert response.status_code == 200
    assert panel_errors(response, "reserve") == [error]
    assert f'name="reserve-target" value="{value}"' in _html(response) or value == ""
    assert row(did.pk) == before


def test_a_reseller_cannot_name_another_resellers_user(client, world):
    did = world.did("free_held", held=True)
    before = row(did.pk)
    client.force_login(world.reseller)

    response = post_action(client, did, "reserve", world.other_user)

    # Outside its circle the account does not exist for the reseller: not even its name.
    assert panel_errors(response, "reserve") == [
        f"There is no user with ID {world.other_user.pk} that you may pick."
    ]
    assert world.other_user.display_name not in _html(response)
    assert row(did.pk) == before


def test_a_target_the_service_refuses_is_explained_with_its_name_beside_it(
    client, portal_admin, world
):
    did = world.did("reserved", held=False)  # reserved for frank
    other = DeviceFactory(user=world.sys_user2, name="grace-pbx")
    before = row(did.pk)
    client.force_login(portal_admin)

    response = post_action(client, did, "assign_device", other)

    assert response.status_code == 200
    assert panel_errors(response, "assign_device") == [
        f"DID {did.number} is reserved for another user than {world.sys_user2.display_name}."
    ]
    html = _html(response)
    assert f'name="assign_device-target" value="{other.pk}"' in html
    assert f"SIP/grace-pbx of {world.sys_user2.display_name}</span>" in html
    assert row(did.pk) == before


def test_the_operator_cannot_put_a_system_did_on_a_resellers_users_device(
    client, portal_admin, world
):
    did = world.did("free", held=False)
    client.force_login(portal_admin)

    response = post_action(client, did, "assign_device", world.res_device)

    assert panel_errors(response, "assign_device") == [
        f"The device {world.res_device} does not belong to accounts of the system."
    ]


def test_a_reserved_did_suggests_the_devices_of_its_user(client, portal_admin, world):
    did = world.did("reserved", held=False)  # frank's, who has two devices
    DeviceFactory(user=world.sys_user2, name="not-franks")
    client.force_login(portal_admin)

    html = _html(client.get(f"/dids/{did.pk}/"))
    suggested = re.findall(r'name="assign_device-choice" value="(\d+)"', html)

    assert sorted(int(pk) for pk in suggested) == sorted(
        [world.sys_device.pk, world.sys_device2.pk]
    )
    # A suggestion is a button of the action's form: it picks that device.
    did.refresh_from_db()
    response = client.post(
        f"/dids/{did.pk}/action/assign_device/",
        {"assign_device-updated_at": version_of(did), "assign_device-choice": world.sys_device2.pk},
    )
    assert response.status_code == 302
    did.refresh_from_db()
    assert (did.status, did.device) == ("active", world.sys_device2)


def test_a_reseller_with_few_users_gets_them_as_suggestions(client, world):
    did = world.did("free_held", held=True)
    client.force_login(world.reseller)

    html = _html(client.get(f"/dids/{did.pk}/"))

    assert set(re.findall(r'name="reserve-choice" value="(\d+)"', html)) == {
        str(world.res_user.pk),
        str(world.res_user2.pk),
    }


def test_many_candidates_are_left_to_the_picker(client, portal_admin, world):
    UserFactory.create_batch(12, role=User.Role.RESELLER)
    UserFactory.create_batch(12, role=User.Role.USER)
    did = world.did("free", held=False)
    client.force_login(portal_admin)

    html = _html(client.get(f"/dids/{did.pk}/"))

    assert "hand_to_reseller-choice" not in html
    assert "reserve-choice" not in html


# --- Concurrency ----------------------------------------------------------------------------


def test_an_action_on_a_did_changed_since_the_page_was_opened_is_refused(
    client, portal_admin, other_admin, world
):
    did = world.did("active_device", held=False)
    opened = version_of(did)
    did_edit(did_id=did.pk, fields={"language": "de"}, actor=other_admin, source="api")
    before, history = row(did.pk), history_count(did)
    client.force_login(portal_admin)

    response = client.post(
        f"/dids/{did.pk}/action/close/", {"close-updated_at": opened, "close-confirm": "1"}
    )

    assert response["Location"] == f"/dids/{did.pk}/"
    (message,) = messages_of(response)
    assert f"was changed by {other_admin.display_name} at " in message
    assert "since you opened it" in message
    assert row(did.pk) == before
    assert history_count(did) == history


def test_a_page_older_than_the_dids_status_says_what_is_possible_now(client, portal_admin, world):
    did = world.did("terminated", held=False)
    client.force_login(portal_admin)

    response = post_action(client, did, "close")

    assert messages_of(response) == [
        f'DID {did.number} is terminated: only "make free" or "delete" are possible.'
    ]


def test_a_form_without_its_version_changes_nothing(client, portal_admin, world):
    did = world.did("closed", held=False)
    before = row(did.pk)
    client.force_login(portal_admin)

    response = client.post(f"/dids/{did.pk}/action/reactivate/", {})

    assert response.status_code == 200
    assert panel_errors(response, "reactivate") == [
        "This form is incomplete: reload the DID's page and try again."
    ]
    assert row(did.pk) == before


# --- dids_get and the list show the new state -------------------------------------------------


EXPECTED_AFTER = {
    # action: what the DID shows afterwards (status, owner, device), by the world's names
    "reserve": ("Reserved", "sys_user", ""),
    "assign_device": ("Active", "sys_user", "sys_device"),
    "assign_dial_plan": ("Active", "system", ""),
    "reassign_device": ("Active", "sys_user", "sys_device2"),
    "unassign_device": ("Free", "system", ""),
    "close": ("Closed", "sys_user", "sys_device"),
    "close_again": ("Closed", "sys_user", "sys_device"),
    "reactivate": ("Active", "sys_user", "sys_device"),
    "make_free": ("Free", "system", ""),
    "hand_to_reseller": ("Free", None, ""),
    "take_back": ("Free", "system", ""),
    "terminate": ("Terminated", "system", ""),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_after_every_action_dids_get_and_the_list_show_the_new_state(
    client, system_api, portal_admin, world, action
):
    did = world.did(a_state_allowing(action, OPERATOR_ALLOWED), held=False)
    client.force_login(portal_admin)
    assert post_action(client, did, action, target_of(world, action, did)).status_code == 302

    params = {"search_did_number": did.number, "search_hide_terminated_dids": "0"}
    api = api_rows(client, portal_admin, params)
    gui = gui_rows(client, params)
    if action == "delete":
        assert api == gui == []
        return
    status, owner, device = EXPECTED_AFTER[action]
    names = {"system": portal_admin.display_name, None: None}
    owner_name = names[owner] if owner in names else getattr(world, owner).display_name
    device_name = str(getattr(world, device)) if device else ""
    ((api_id, api_row),) = api
    ((gui_id, gui_row),) = gui
    assert api_id == gui_id == did.pk
    assert (api_row["status"], api_row.get("owner"), api_row["device"]) == (
        status,
        owner_name,
        device_name,
    )
    # The list shows an empty or absent value as ABSENT (one convention, docs/gui.md).
    assert (gui_row["status"], gui_row["device"]) == (status, device_name or ABSENT)
    assert gui_row["owner"] == (owner_name if owner_name is not None else ABSENT)
    if action == "close":
        assert api_row["reserved_for_user_till"] > timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def test_user_suggestions_are_the_end_users_of_the_dids_side(client, portal_admin, world):
    did = world.did("free", held=False)
    client.force_login(portal_admin)

    html = _html(client.get(f"/dids/{did.pk}/"))

    # The system's end users: not the admin itself, not the reseller's users.
    assert set(re.findall(r'name="reserve-choice" value="(\d+)"', html)) == {
        str(world.sys_user.pk),
        str(world.sys_user2.pk),
    }


def test_the_page_does_not_query_per_candidate(client, portal_admin, world):
    """The page costs the same queries with two candidate devices as with ten (no N+1),
    and stays within a small fixed number."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    did = world.did("reserved", held=False)
    client.force_login(portal_admin)
    client.get(f"/dids/{did.pk}/")  # warm up (session, sites of first use)
    with CaptureQueriesContext(connection) as few:
        client.get(f"/dids/{did.pk}/")
    DeviceFactory.create_batch(8, user=world.sys_user)
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/dids/{did.pk}/")

    assert len(many) == len(few) <= 14
    assert len(re.findall(r'name="assign_device-choice"', _html(response))) == 10
