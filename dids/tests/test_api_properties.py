"""Property-based: whatever parameters arrive, in whatever transport, for every role,
dids_get never fails with a server error, always answers well-formed XML, and never
returns a DID outside the caller's visibility (dids_get.md §1, §3, §5, §6)."""

import json
from urllib.parse import urlencode

import pytest
from defusedxml.ElementTree import fromstring
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.api_hash import api_hash
from accounts.models import User
from dids.api.testing import DIDS_GET_URL, XML_DECLARATION
from dids.filters import DidFilterSet
from dids.models import DialPlan, Did
from portal.testing.factories import (
    ApiSettingsFactory,
    DeviceFactory,
    DialPlanFactory,
    DidFactory,
    ProviderFactory,
    UserFactory,
)

PARAMETERS = list(DidFilterSet.base_filters)  # the contract's, in order

INTERESTING = [
    "", "0", "1", "2", "00", "007", "all", "ALL", "aLl", "-1", "+1", "1.0", " 1", "1 ",
    "9" * 19, "9" * 40, "free", "FREE", "reserved", "active", "closed", "terminated",
    "%", "_", "%%", "3706%", "%1", "1_", "\\", "'", '"', "<x>&", "en", "EN", "fr",
    "Alice", "erin", "charlie", "Admin", "\x00", "\x01", "é", "中", "🎉",
]  # fmt: skip

values = st.one_of(
    st.sampled_from(INTERESTING),
    st.integers(min_value=0, max_value=10**6).map(str),
    st.text(max_size=12),
)
json_values = st.one_of(
    values,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
names = st.sampled_from([*PARAMETERS, "search_colour", "p", "s_user", "action"])
form_params = st.dictionaries(names, values, max_size=6)
json_params = st.dictionaries(names, json_values, max_size=6)

ERROR_PREFIXES = ("Invalid ", "No DIDs found")
ROLES = ["alice", "bob", "charlie", "pro", "erin", "frank"]


@pytest.fixture
def inventory(portal_admin, accountant, reseller, other_reseller, reseller_user, end_user):
    ApiSettingsFactory(reseller=None, allow_api=True, api_secret_key="secret")
    pro = UserFactory(username="pro", role=User.Role.RESELLER, own_providers=True)
    for holder in (reseller, other_reseller, pro):
        ApiSettingsFactory(reseller=holder, api_secret_key="secret")
    stranger = UserFactory(username="stranger", owner=other_reseller)
    carrier = ProviderFactory(name="Carrier")
    own = ProviderFactory(name="Own", owner=pro)
    plan = DialPlanFactory(name="IVR", type=DialPlan.Type.IVR)
    phone = DeviceFactory(user=reseller_user)
    DidFactory(number="100", provider=carrier, language="en")
    DidFactory(number="101", user=end_user, status=Did.Status.RESERVED, comment="<x>&")
    DidFactory(number="102", reseller=reseller, provider=carrier)
    DidFactory(
        number="103",
        reseller=reseller,
        user=reseller_user,
        device=phone,
        status=Did.Status.ACTIVE,
        reseller_comment="r\x01c",
    )
    DidFactory(number="104", reseller=other_reseller, user=stranger, status=Did.Status.RESERVED)
    DidFactory(number="105", status=Did.Status.TERMINATED, dial_plan=plan, language="EN")
    DidFactory(number="37060000001", reseller=pro, provider=own, status=Did.Status.ACTIVE)
    DidFactory(number="9A", status=Did.Status.CLOSED, user=end_user)
    return {
        username: set(
            Did.objects.visible_to(User.objects.get(username=username)).values_list("id", flat=True)
        )
        for username in ROLES
    }


def check(response, visible: set[int]) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    body = response.getvalue()
    assert body.startswith(XML_DECLARATION)
    root = fromstring(body)  # strict: raises on anything not well-formed
    assert root.tag == "page"
    error = root.find("error")
    if error is not None:
        assert error.text.startswith(ERROR_PREFIXES), error.text
        return
    dids = root.find("dids")
    assert dids is not None
    ids = [int(did.find("id").text) for did in dids]
    assert ids, "an empty list must be the 'No DIDs found' error"
    assert set(ids) <= visible
    numbers = [did.find("did").text for did in dids]
    assert numbers == sorted(numbers)  # code point order (numbers are unique here)


common = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def hash_for(params: dict[str, object]) -> str:
    """The hash a correct client sends: legacy hashed parameters (`s_user` here) count
    when they arrive as non-empty text (a JSON number counts as the text it is written as)."""
    texts = {}
    for name, value in params.items():
        if isinstance(value, bool) or value is None or isinstance(value, list | dict):
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        if text and "\x00" not in text:
            texts[name] = text
    return api_hash(texts, "secret")


@pytest.mark.parametrize("username", ROLES)
@common
@given(params=form_params, in_query=st.booleans())
def test_form_or_query_parameters(inventory, username, params, in_query):
    client = Client()
    params.pop("action", None)
    auth = {"u": username, "hash": hash_for(params)}
    if in_query:
        response = client.post(DIDS_GET_URL + "?" + urlencode(params), auth)
    else:
        response = client.post(DIDS_GET_URL, {**params, **auth})
    check(response, inventory[username])


@pytest.mark.parametrize("username", ROLES)
@common
@given(params=json_params)
def test_json_parameters(inventory, username, params):
    client = Client()
    body = json.dumps({**params, "u": username, "hash": hash_for(params)})
    response = client.post(DIDS_GET_URL, body, content_type="application/json")
    check(response, inventory[username])
