"""Property-based: random parameters for every write method and every role never give a
server error, always answer well-formed XML in the method's envelope, and never change a
DID outside the caller's scope (did_methods.md §2.1, §5, §7)."""

import html
import json
from urllib.parse import urlencode

import pytest
from defusedxml.ElementTree import fromstring
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.models import API_METHODS, User
from dids.api.methods import BY_NAME
from dids.api.methods.testing import hash_for, method_url
from dids.api.testing import XML_DECLARATION, body_of
from dids.models import Did
from portal.testing.factories import ApiPermissionGroupFactory, UserFactory

from .conftest import reseller_request, secret_of, system_request

NAMES = [
    "did", "dids_id", "did_id", "device_id", "provider_id", "did_user_id", "call_limit",
    "grace_time", "language", "did_provider_id", "comment", "reseller_comment",
    "custom_sip_header", "active_from", "active_till", "test", "user_id", "status", "p",
]  # fmt: skip
# Ids that exist in the world (DIDs 100-114 have numbers 100-114 too), and neighbours.
ID_VALUES = [str(n) for n in range(1, 40)] + [str(n) for n in range(95, 120)]
INTERESTING = [
    "", "-1", "0", "00100", " 100", "100 ", "\t105\n", "1e5", "abc", "7abc", "1.5", "-5",
    "9" * 19, "9" * 40, "2147483647", "2147483648", "x" * 256, "a\nb", "\x00", "<x>&",
    "é", "中", "🎉", "1", "test",
]  # fmt: skip
values = st.one_of(
    st.sampled_from(ID_VALUES),
    st.sampled_from(INTERESTING),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12),
)
json_values = st.one_of(
    values,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
CALLERS = ["alice", "wendy", "bob", "bert", "nina", "charlie", "dave", "erin", "frank", "rita"]


def envelope(body: bytes, test: bool, method: str) -> tuple[str, str]:
    """The method's envelope, parsed strictly: (`error`|`success`|`status`, text)."""
    if test:
        page = body.decode()
        body = html.unescape(page.split("<pre>", 1)[1].split("</pre>", 1)[0]).encode()
    assert body.startswith(XML_DECLARATION)
    root = fromstring(body)
    assert root.tag == "page"
    status = root[0]
    assert status.tag == "status"
    assert len(status) == 1
    (inner,) = status
    if method == "did_delete" and inner.tag == "status":
        assert len(root) == 1
    else:
        assert inner.tag in ("error", "success")
    if inner.tag == "error":
        assert len(root) == 1
    return inner.tag, inner.text or ""


def scope_of(caller: User, method: str, before: dict[int, dict]) -> set[int]:
    """The DIDs the caller may change with this method (§5.2)."""
    if caller.manages_all_dids:
        if BY_NAME[method].name in ("did_device_assign", "did_device_unassign"):
            return {pk for pk, row in before.items() if row["reseller_id"] is None}
        return set(before)
    if caller.is_reseller and caller.is_active:
        return {pk for pk, row in before.items() if row["reseller_id"] == caller.pk}
    return set()


def dids() -> dict[int, dict]:
    return {row["id"]: row for row in Did.objects.values()}


@pytest.fixture
def restricted(world):
    """rita: an API-restricted accountant with Manage DIDs write and every write level."""
    group = ApiPermissionGroupFactory(
        name="All",
        methods={name: "read" if name == "dids_get" else "write" for name in API_METHODS},
    )
    return UserFactory(
        username="rita",
        role=User.Role.ACCOUNTANT,
        accountant_group=world.writer.accountant_group,
        api_restricted=True,
        api_permission_group=group,
    )


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(sorted(BY_NAME)),
    # Half the time a side's request from that side's caller (so that some succeed).
    who=st.one_of(
        st.tuples(st.sampled_from(["alice", "wendy", "rita"]), st.just("system")),
        st.tuples(st.just("charlie"), st.just("reseller")),
        st.tuples(st.sampled_from(CALLERS), st.sampled_from(["none", "system", "reseller"])),
    ),
    params=st.one_of(st.just({}), st.dictionaries(st.sampled_from(NAMES), values, max_size=3)),
    transport=st.sampled_from(["form", "json", "query"]),
    json_params=st.dictionaries(st.sampled_from(NAMES), json_values, max_size=3),
    right_hash=st.sampled_from([True] * 9 + [False]),
)
def test_random_requests_never_fail_and_stay_in_scope(
    client,
    world,
    restricted,
    settings,
    method,
    who,
    params,
    transport,
    json_params,
    right_hash,
):
    settings.API_AUTH_FAILURE_LIMIT = 0  # wrong hashes on purpose: no throttling here
    caller, base = who
    account = User.objects.get(username=caller)
    before = dids()
    held_before = {pk for pk, row in before.items() if row["reseller_id"] == account.pk}
    # Random values over a request that would succeed for one side, or over nothing.
    request = {"system": system_request, "reseller": reseller_request}.get(base)
    data: dict = {"u": caller, **(request(world, BY_NAME[method].name) if request else {})}
    data.update(params)
    if transport == "json":
        data.update(json_params)
    if right_hash:
        data["hash"] = hash_for(method, data, secret_of(account))
    url = method_url(method)
    if transport == "json":
        response = client.post(url, json.dumps(data), content_type="application/json")
    elif transport == "query":
        response = client.post(f"{url}?{urlencode(data)}")
    else:
        response = client.post(url, data)
    body = body_of(response)

    assert response.status_code == 200
    test = data.get("test") == "1"
    expected_type = "text/html; charset=utf-8" if test else "text/xml; charset=utf-8"
    assert response["Content-Type"] == expected_type
    kind, text = envelope(body, test, BY_NAME[method].name)
    assert text
    event(f"{kind}: {text[:40]}")

    after = dids()
    changed = {pk for pk in before if before[pk] != after.get(pk)}
    assert changed <= scope_of(account, method, before), (caller, method, data, text)
    if kind == "error":
        assert changed == set(), (caller, method, data, text)
    created = set(after) - set(before)
    if created:
        assert (BY_NAME[method].name, kind) == ("did_create", "success")
        assert account.may_manage_dids
        (new,) = created
        assert after[new]["reseller_id"] == (account.pk if account.is_reseller else None)
    if account.is_reseller:
        # §5.3: a reseller never takes a DID away from the operator, nor gives one away.
        held_after = {pk for pk, row in after.items() if row["reseller_id"] == account.pk}
        assert held_after == (held_before & set(after)) | created
