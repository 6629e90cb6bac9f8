"""The DID page's edit form: the fields each role may change, form errors that save
nothing, the stale save refused with who changed the DID, CSRF, and what the history
and the other faces (dids_get, the list) show afterwards."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from dids.models import Did, DidHistory
from dids.services import MAX_INTEGER, did_edit
from dids.tests.test_lifecycle import row
from dids.tests.test_parity import api_rows, gui_rows
from dids.views.did_forms import version_of
from portal.testing.factories import DidFactory, ProviderFactory, UserFactory

OPERATOR_FIELDS = [
    "provider",
    "language",
    "call_limit",
    "tone_zone",
    "grace_time",
    "callerid_name_prefix",
    "custom_sip_header",
    "ai_agent_compatible",
    "routes_to_openai_project_id",
    "comment",
    "reseller_comment",
]
RESELLER_FIELDS = [
    "language",
    "call_limit",
    "tone_zone",
    "callerid_name_prefix",
    "custom_sip_header",
    "reseller_comment",
]


@pytest.fixture
def accountant_writer(did_writers) -> User:
    return UserFactory(username="wendy", role=User.Role.ACCOUNTANT, accountant_group=did_writers)


@pytest.fixture
def did(reseller, reseller_user) -> Did:
    return DidFactory(
        number="37066265209",
        reseller=reseller,
        user=reseller_user,
        status=Did.Status.RESERVED,
        language="lt",
        comment="operator's note",
        reseller_comment="reseller's note",
        call_limit=2,
        tone_zone="lt",
        grace_time=5,
    )


def form_fields(response) -> list[str]:
    """The names of the edit form's visible fields, in page order."""
    assert response.status_code == 200
    html = response.content.decode()
    if 'id="did-edit-form"' not in html:
        return []
    form = html.split('id="did-edit-form"', 1)[1].split("</form>", 1)[0]
    names = re.findall(r'<(?:input|select|textarea)[^>]*name="edit-(\w+)"', form)
    return [n for n in names if n != "updated_at"]


def edit_data(did: Did, **values) -> dict[str, str]:
    """What the browser sends when the form is saved as shown, with `values` changed."""
    did.refresh_from_db()
    data = {
        "edit-updated_at": version_of(did),
        "edit-provider": str(did.provider_id or ""),
        "edit-language": did.language,
        "edit-call_limit": str(did.call_limit),
        "edit-tone_zone": did.tone_zone,
        "edit-grace_time": str(did.grace_time),
        "edit-callerid_name_prefix": did.callerid_name_prefix,
        "edit-custom_sip_header": did.custom_sip_header,
        "edit-routes_to_openai_project_id": did.routes_to_openai_project_id,
        "edit-comment": did.comment,
        "edit-reseller_comment": did.reseller_comment,
    }
    if did.ai_agent_compatible:
        data["edit-ai_agent_compatible"] = "on"
    for name, value in values.items():
        if value is None:
            data.pop(f"edit-{name}", None)
        else:
            data[f"edit-{name}"] = value
    return data


def save(client: Client, did: Did, **values):
    return client.post(f"/dids/{did.pk}/edit/", edit_data(did, **values))


def field_errors(response) -> dict[str, list[str]]:
    html = response.content.decode()
    form = html.split('id="did-edit-form"', 1)[1].split("</form>", 1)[0]
    errors = {}
    for name, block in re.findall(
        r'<div class="form-row errors field-(\w+)">\s*<ul class="errorlist"[^>]*>(.*?)</ul>',
        form,
        flags=re.S,
    ):
        errors[name] = [unescape(e) for e in re.findall(r"<li>(.*?)</li>", block)]
    top = re.search(r'id="did-edit-errors"><ul[^>]*>(.*?)</ul>', form, flags=re.S)
    if top:
        errors["__all__"] = [unescape(e) for e in re.findall(r"<li>(.*?)</li>", top.group(1))]
    return errors


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def history_count(did: Did) -> int:
    return DidHistory.objects.filter(did_id=did.pk).count()


# --- Who gets which fields -------------------------------------------------------------


@pytest.mark.parametrize("persona", ["portal_admin", "accountant_writer"])
def test_the_operator_edits_every_field(request, client, did, persona):
    client.force_login(request.getfixturevalue(persona))

    assert form_fields(client.get(f"/dids/{did.pk}/")) == OPERATOR_FIELDS


def test_a_reseller_edits_its_own_fields_only(client, reseller, did):
    client.force_login(reseller)

    assert form_fields(client.get(f"/dids/{did.pk}/")) == RESELLER_FIELDS


def test_a_reseller_pro_also_sets_the_provider(client, reseller, did):
    reseller.own_providers = True
    reseller.save()
    client.force_login(reseller)

    assert form_fields(client.get(f"/dids/{did.pk}/")) == ["provider", *RESELLER_FIELDS]


@pytest.mark.parametrize("persona", ["accountant", "reseller_user"])
def test_readers_and_users_get_a_read_only_page(request, client, did, persona):
    client.force_login(request.getfixturevalue(persona))

    assert form_fields(client.get(f"/dids/{did.pk}/")) == []


# --- Saving ------------------------------------------------------------------------------


def test_the_operator_saves_and_the_history_says_old_and_new(client, portal_admin, did):
    provider = ProviderFactory(name="Carrier X")
    client.force_login(portal_admin)

    response = save(
        client,
        did,
        provider=str(provider.pk),
        language="de",
        call_limit="4",
        tone_zone="de",
        grace_time="30",
        callerid_name_prefix="VIP",
        custom_sip_header="X-Customer: 42",
        ai_agent_compatible="on",
        routes_to_openai_project_id="proj_1",
        comment="new note\r\nsecond line",
    )

    assert response.status_code == 302
    assert response["Location"] == f"/dids/{did.pk}/"
    did.refresh_from_db()
    assert (did.provider, did.language, did.call_limit, did.tone_zone, did.grace_time) == (
        provider,
        "de",
        4,
        "de",
        30,
    )
    assert did.comment == "new note\nsecond line"
    assert (did.custom_sip_header, did.ai_agent_compatible) == ("X-Customer: 42", True)
    entry = did.history.first()
    assert (entry.by, entry.source, entry.address, entry.action) == (
        portal_admin,
        "gui",
        "127.0.0.1",
        "edit",
    )
    assert entry.changes["language"] == ["lt", "de"]
    assert entry.changes["provider"] == [None, f"Carrier X (#{provider.pk})"]
    assert "reseller_comment" not in entry.changes  # unchanged fields are not written
    assert messages_of(response) == [
        f"DID {did.number} saved: Provider, Language, Call limit, Tone zone, "
        "Grace time (seconds), CallerID name prefix, Custom SIP header, AI-agent compatible, "
        "VoiceAI routing target, Comment."
    ]


def test_saving_an_unchanged_form_writes_nothing(client, portal_admin, did):
    updated = did.updated_at
    client.force_login(portal_admin)

    response = save(client, did)

    assert messages_of(response) == [f"DID {did.number}: nothing to save, no field was changed."]
    did.refresh_from_db()
    assert did.updated_at == updated
    assert history_count(did) == 0


def test_the_operator_clears_the_provider(client, portal_admin, did):
    did.provider = ProviderFactory()
    did.save()
    client.force_login(portal_admin)

    save(client, did, provider="")

    did.refresh_from_db()
    assert did.provider is None


@pytest.mark.parametrize(
    ("values", "field", "error"),
    [
        ({"call_limit": "abc"}, "call_limit", "Enter a whole number."),
        ({"call_limit": "-1"}, "call_limit", "Ensure this value is greater than or equal to 0."),
        (
            {"call_limit": str(MAX_INTEGER + 1)},
            "call_limit",
            f"Ensure this value is less than or equal to {MAX_INTEGER}.",
        ),
        ({"call_limit": ""}, "call_limit", "This field is required."),
        ({"grace_time": "1.5"}, "grace_time", "Enter a whole number."),
        (
            {"tone_zone": "atlantis"},
            "tone_zone",
            "Select a valid choice. atlantis is not one of the available choices.",
        ),
        (
            {"language": "en\ngb"},
            "language",
            "Language must be one line of text without control characters.",
        ),
        (
            {"language": "x" * 51},
            "language",
            "Ensure this value has at most 50 characters (it has 51).",
        ),
        ({"comment": "a\x00b"}, "comment", "Null characters are not allowed."),
        (
            {"custom_sip_header": "X-A: 1\tX-B"},
            "custom_sip_header",
            "Custom SIP header must be one line of text without control characters.",
        ),
        ({"provider": "abc"}, "provider", "A provider's ID is a whole number, e.g. 42."),
        (
            {"provider": "987654"},
            "provider",
            "There is no provider with ID 987654 that you may pick.",
        ),
    ],
)
def test_bad_input_is_a_form_error_and_saves_nothing(
    client, portal_admin, did, values, field, error
):
    before, history = row(did.pk), history_count(did)
    client.force_login(portal_admin)

    response = save(client, did, **{"grace_time": "6", **values})

    assert response.status_code == 200
    assert field_errors(response) == {field: [error]}
    assert "Nothing was saved." in response.content.decode()
    assert row(did.pk) == before
    assert history_count(did) == history


def test_the_operator_may_not_use_another_resellers_provider(client, portal_admin, did):
    foreign = ProviderFactory(owner=UserFactory(role=User.Role.RESELLER))
    before = row(did.pk)
    client.force_login(portal_admin)

    response = save(client, did, provider=str(foreign.pk))

    assert field_errors(response) == {"provider": [f"You may not use the provider {foreign}."]}
    # The form shows the chosen provider's name beside its id.
    assert f'id="id_edit-provider_name">{foreign}</span>' in response.content.decode()
    assert row(did.pk) == before


def test_a_form_error_keeps_what_was_typed(client, portal_admin, did):
    client.force_login(portal_admin)

    response = save(client, did, language="fr", call_limit="many", comment="typed")

    html = response.content.decode()
    assert 'name="edit-language" value="fr"' in html
    assert 'name="edit-call_limit" value="many"' in html
    assert ">\ntyped</textarea>" in html


# --- Two people at once -----------------------------------------------------------------


def test_a_stale_save_is_refused_with_who_changed_it_and_keeps_the_input(
    client, portal_admin, other_admin, did
):
    data = edit_data(did, language="fr", comment="mine")
    did_edit(did_id=did.pk, fields={"call_limit": 9}, actor=other_admin, source="gui")
    before, history = row(did.pk), history_count(did)
    client.force_login(portal_admin)

    response = client.post(f"/dids/{did.pk}/edit/", data)

    assert response.status_code == 200
    (error,) = field_errors(response)["__all__"]
    assert error.startswith(f"DID {did.number} was changed by {other_admin.display_name} at ")
    assert error.endswith(
        "since you opened it. Nothing was saved: look at its current state and try again."
    )
    assert row(did.pk) == before
    assert history_count(did) == history
    html = response.content.decode()
    assert 'name="edit-language" value="fr"' in html
    # Saving again (after a look at the current state) is a deliberate choice: it works.
    did.refresh_from_db()
    assert f'name="edit-updated_at" value="{version_of(did)}"' in html
    data["edit-updated_at"] = version_of(did)
    assert client.post(f"/dids/{did.pk}/edit/", data).status_code == 302
    did.refresh_from_db()
    assert (did.language, did.comment) == ("fr", "mine")


def test_a_form_without_its_version_saves_nothing(client, portal_admin, did):
    before = row(did.pk)
    client.force_login(portal_admin)

    response = save(client, did, language="de", updated_at=None)

    assert field_errors(response)["__all__"] == [
        "This form is incomplete: reload the DID's page and try again."
    ]
    assert row(did.pk) == before


# --- The reseller's side -------------------------------------------------------------------


def test_a_reseller_saves_its_fields(client, reseller, did):
    client.force_login(reseller)

    response = save(
        client, did, reseller_comment="for erin", language="en", tone_zone="us", call_limit="3"
    )

    assert response.status_code == 302
    did.refresh_from_db()
    assert (did.reseller_comment, did.language, did.tone_zone, did.call_limit) == (
        "for erin",
        "en",
        "us",
        3,
    )
    assert did.comment == "operator's note"
    assert did.history.first().by == reseller


def test_a_reseller_cannot_slip_in_the_operators_fields(client, reseller, did):
    before = row(did.pk)
    client.force_login(reseller)

    save(client, did, comment="mine now", grace_time="99", ai_agent_compatible="on")

    assert row(did.pk) == before


def test_a_reseller_pro_picks_only_its_own_providers(client, reseller, did):
    reseller.own_providers = True
    reseller.save()
    system = ProviderFactory(name="System carrier")
    did.provider = system
    did.save()
    own = ProviderFactory(name="Own carrier", owner=reseller)
    client.force_login(reseller)

    page = client.get(f"/dids/{did.pk}/").content.decode()
    # The operator's provider is not shown to the reseller, not even its id.
    assert 'name="edit-provider" value=' not in page
    assert "System carrier" not in page
    response = save(client, did, provider=str(system.pk))
    assert field_errors(response) == {
        "provider": [f"There is no provider with ID {system.pk} that you may pick."]
    }
    # Left empty, the provider stays as it is; set, it is the reseller's own.
    assert save(client, did, provider="", language="en").status_code == 302
    did.refresh_from_db()
    assert (did.provider, did.language) == (system, "en")
    save(client, did, provider=str(own.pk))
    did.refresh_from_db()
    assert did.provider == own


def test_another_resellers_did_is_a_404(client, other_reseller, did):
    before = row(did.pk)
    client.force_login(other_reseller)

    assert save(client, did, language="de").status_code == 404
    assert row(did.pk) == before


@pytest.mark.parametrize("persona", ["accountant", "reseller_user"])
def test_readers_and_users_cannot_save(request, client, did, persona):
    before = row(did.pk)
    client.force_login(request.getfixturevalue(persona))

    response = save(client, did, language="de", reseller_comment="x")

    assert response.status_code == 403
    assert row(did.pk) == before


def test_the_edit_form_is_csrf_protected(portal_admin, did):
    before = row(did.pk)
    client = Client(enforce_csrf_checks=True)
    client.force_login(portal_admin)

    assert save(client, did, language="de").status_code == 403
    assert row(did.pk) == before


# --- History and the other faces --------------------------------------------------------------


def history_rows(response) -> list[list[str]]:
    section = response.content.decode().split('id="did-history"', 1)[1]
    rows = re.findall(r"<tr>\s*(<td>.*?)</tr>", section, flags=re.S)
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, flags=re.S)
        ]
        for row in rows
    ]


def test_the_history_names_the_channel_and_shows_the_address_to_operators_only(
    client, portal_admin, reseller, did
):
    client.force_login(portal_admin)
    save(client, did, language="de", custom_sip_header="X-Tag: 1")

    (entry,) = history_rows(client.get(f"/dids/{did.pk}/"))
    assert entry[1:4] == ["Alice Admin", "GUI from 127.0.0.1", "edit"]
    assert "language: lt → de" in entry[4]

    client.force_login(reseller)
    (entry,) = history_rows(client.get(f"/dids/{did.pk}/"))
    assert entry[1:4] == ["Operator", "GUI", "edit"]
    assert "custom_sip_header: — → X-Tag: 1" in entry[4]


def test_an_end_user_does_not_see_the_custom_sip_header_in_history(
    client, portal_admin, reseller_user, did
):
    client.force_login(portal_admin)
    save(client, did, language="de", custom_sip_header="X-Tag: 1")
    client.force_login(reseller_user)

    (entry,) = history_rows(client.get(f"/dids/{did.pk}/"))

    assert entry[4] == "language: lt → de"
    assert "X-Tag" not in client.get(f"/dids/{did.pk}/").content.decode()


def test_after_an_edit_dids_get_and_the_list_show_the_new_values(
    client, system_api, portal_admin, did
):
    client.force_login(portal_admin)
    save(client, did, language="en", call_limit="7", tone_zone="us", comment="fresh")

    params = {"search_did_number": did.number}
    ((_, api),) = api_rows(client, portal_admin, params)
    ((_, gui),) = gui_rows(client, params)
    expected = ("en", "7", "us", "fresh")
    assert (api["language"], api["simultaneous_call_limit"], api["tone_zone"], api["comment"]) == (
        expected
    )
    assert (gui["language"], gui["simultaneous_call_limit"], gui["tone_zone"]) == expected[:3]
    assert "fresh" in gui["comment"]


# --- Whatever a browser (or anything else) sends -----------------------------------------

EDIT_VALUES = st.one_of(
    st.text(max_size=60),
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    st.sampled_from(["", "0", "lt", "us-old", "X-A: 1", "on", "#1", "1e3", " 7 "]),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.dictionaries(
        st.sampled_from([*OPERATOR_FIELDS, "updated_at", "number", "status"]),
        EDIT_VALUES,
        max_size=5,
    ),
    persona=st.sampled_from(["portal_admin", "reseller"]),
)
def test_any_input_is_saved_as_the_services_allow_or_refused_whole(
    request, portal_admin, reseller, did, values, persona
):
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    did.refresh_from_db()
    before, history = row(did.pk), history_count(did)

    response = client.post(f"/dids/{did.pk}/edit/", edit_data(did, **values))

    assert response.status_code in (200, 302)
    after = row(did.pk)
    if response.status_code == 200:  # refused: an error on the page, nothing changed
        assert field_errors(response)
        assert after == before
        assert history_count(did) == history
        return
    changed = {name for name in after if after[name] != before[name]} - {"updated_at"}
    # The number and the status are never the edit form's; each side keeps to its fields.
    assert changed <= set(OPERATOR_FIELDS if persona == "portal_admin" else RESELLER_FIELDS)
    assert history_count(did) == history + (1 if changed else 0)
