"""The contract's conformance examples E1-E25 (did_methods.md §17) against a running server.

Each example starts from the example scenario freshly loaded, POSTs a form body of
`u`, the parameters shown and the printed `hash` to pytest-django's live server over
HTTP, and checks the answer to the byte and the effect on the database: exactly the
fields named change (besides `updated_at`), with one history entry by the caller,
source API; "nothing" means every row is unchanged.
"""

from __future__ import annotations

import hashlib
import html
import json
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from django.utils import timezone

from accounts.models import AuditEntry, User
from dids.models import Did, DidHistory
from dids.scenario import load_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "example.json"
SYSTEM = "s3cr3t-system"
NORTHWIND = "s3cr3t-northwind"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

pytestmark = pytest.mark.django_db(transaction=True)


def success(text: str) -> str:
    return f"{DECLARATION}<page><status><success>{text}</success></status></page>"


def error(text: str) -> str:
    return f"{DECLARATION}<page><status><error>{text}</error></status></page>"


# (example, u, URL path, parameters, hash string, hash, answer, effect)
# An effect maps a DID id to {field: new value}; None is "nothing".
EXAMPLES = [
    ("E2", "ops", "did_create", {"provider_id": "10", "did": "14155550100"},
     "1014155550100s3cr3t-system", "8307195238d771176b3368060a3f0ded5cbbcea2",
     error("DID already exists"), None),
    ("E3", "ops", "did_create", {"provider_id": "10", "did": "1-415-555-0199"},
     "101-415-555-0199s3cr3t-system", "41d317e5465bbae3bb34fedc37d0714b41f2b1cc",
     error("Invalid DID specified"), None),
    ("E4", "northwind", "did_create", {"provider_id": "12", "did": "442071230299"},
     "12442071230299s3cr3t-northwind", "599702b7bd21bb4bf6fa29e4b4b94f960a32714c",
     error("You are not authorized to manage DIDs"), None),
    ("E5", "ops", "did_device_assign", {"device_id": "20", "did": "14155550100"},
     "2014155550100s3cr3t-system", "7f57c9d2ead679a3a894b275aa3f07255a18c751",
     success("Device assigned to DID"),
     {100: {"status": "active", "user_id": 6, "device_id": 20}}),
    ("E6", "ops", "did_device_assign", {"device_id": "21", "did": "14155550100"},
     "2114155550100s3cr3t-system", "9f4c52b473686738dc6cb54f9f9ada99c278eac5",
     error("Your are not authorized to use this Device"), None),
    ("E7", "northwind", "did_device_assign", {"device_id": "21", "did": "442071230200"},
     "21442071230200s3cr3t-northwind", "180d24b770bf6ddc46c9105a1dd817f7f17f6d6a",
     success("Device assigned to DID"),
     {200: {"status": "active", "user_id": 7, "device_id": 21}}),
    ("E8", "ops", "did_device_assign", {"device_id": "20", "did": "14155550105"},
     "2014155550105s3cr3t-system", "c51f23a7dded8011ecee9f6bd6f040e013e4b9ce",
     error("DID is not free"), None),
    ("E9", "zenith", "", {"action": "did_assign_device", "device_id": "21", "did": "442071230201"},
     "21442071230201s3cr3t-northwind", "b08d67bf9da3f862108982b13efd54bda31498ef",
     error("API method not permitted: did_device_assign"), None),
    ("E10", "ops", "did_device_unassign", {"did": "14155550103", "device_id": "20"},
     "2014155550103s3cr3t-system", "c6a4bc8f462d8385086c46a3d2bacf2972885b46",
     success("Device was unassigned from DID"),
     {103: {"status": "free", "user_id": None, "device_id": None}}),
    ("E11", "ops", "did_device_unassign", {"did": "14155550104"},
     "14155550104s3cr3t-system", "5a94d71c2d067ccaed40b2f950101b39f4ecff8a",
     error("DID is assigned to dialplan"), None),
    ("E12", "ops", "did_details_update",
     {"did_id": "101", "did_user_id": "6", "call_limit": "2", "comment": ""},
     "101s3cr3t-system", "b273d38e3e72cefb195d1ba5fa52ce844f2695ad",
     success("DID details successfully updated"),
     {101: {"status": "reserved", "user_id": 6, "call_limit": 2, "comment": ""}}),
    ("E13", "ops", "did_details_update", {"did_id": "100", "did_user_id": "2"},
     "100s3cr3t-system", "c88d95bf4774f33ad546a89c05a7492ffee152eb",
     success("DID details successfully updated"), {100: {"reseller_id": 2}}),
    ("E14", "ops", "did_details_update",
     {"did_id": "102", "did_user_id": "-1", "call_limit": "abc"},
     "102s3cr3t-system", "26208cf91e98f79931baef21cb57601a6c6cfd46",
     error("Call limit is incorrect format"), None),
    ("E15", "northwind", "did_details_update", {"did_id": "201", "did_user_id": "6"},
     "201s3cr3t-northwind", "553c4b5735c393630a6717012f7630a283a3df3d",
     error("User was not found"), None),
    ("E16", "ops", "did_details_update", {"did_id": "106", "did_user_id": "6"},
     "106s3cr3t-system", "e604ce79c71e6fc0804e5096690033edd17d480b",
     error("DID is terminated"), None),
    ("E17", "ops", "did_subscription_stop", {"dids_id": "103"},
     "103s3cr3t-system", "29b88d20de90bd6ce9da52361c266846b48349c8",
     success("DID was successfully closed"), {103: {"status": "closed"}}),
    ("E18", "northwind", "did_subscription_stop", {"did_id": "202"},
     "202s3cr3t-northwind", "c3d54cce4513299c3f5486aab6ee0f6251d8ae9b",
     success("DID was successfully closed"), {202: {"status": "closed"}}),
    ("E19", "ledger", "did_subscription_stop", {"dids_id": "103"},
     "103s3cr3t-system", "29b88d20de90bd6ce9da52361c266846b48349c8",
     error("You are not authorized to use this functionality"), None),
    ("E20", "ops", "did_close", {"dids_id": "203"},
     "203s3cr3t-system", "954bf0661239fffb13bb2fae27736d2a714494d1",
     f"{DECLARATION}<page><status><success>DID successfully closed</success></status>"
     "<did_details><id>203</id></did_details></page>",
     {203: {"status": "closed"}}),
    ("E21", "ops", "did_terminate", {"dids_id": "105"},
     "105s3cr3t-system", "fd34721e6d403909985b67f45f0453181a7f999c",
     success("DID successfully terminated"),
     {105: {"status": "terminated", "user_id": None, "reserved_for_user_till": None}}),
    ("E22", "ops", "did_terminate", {"dids_id": "200"},
     "200s3cr3t-system", "de9454757cbab54ba9c1f0ba98523a46abf17f55",
     error("DID was not terminated"), None),
    ("E23", "northwind", "did_make_free", {"dids_id": "205"},
     "205s3cr3t-northwind", "30c115a1f551213fe00dd9e77af1a191513ae466",
     success("DID successfully made available"),
     {205: {"status": "free", "user_id": None, "reserved_for_user_till": None}}),
    ("E25", "ops", "did_delete", {"dids_id": "105"},
     "105s3cr3t-system", "fd34721e6d403909985b67f45f0453181a7f999c",
     error("DID status must be terminated"), None),
]  # fmt: skip

# The transition each successful example records (domain.md §4's names).
ACTIONS = {
    "E5": "assign device",
    "E7": "assign device",
    "E10": "unassign device",
    "E12": "reserve for user",
    "E13": "hand to reseller",
    "E17": "close",
    "E18": "close",
    "E20": "close",
    "E21": "terminate",
    "E23": "make free",
}
# Closing starts the period of Days for DID close (90 in the example).
CLOSES = {"E17", "E18", "E20"}


@pytest.fixture
def example(transactional_db):
    load_scenario(json.loads(EXAMPLE.read_text()), replace=True)


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def post(live_server, path: str, params: dict[str, str]) -> tuple[int, str, str]:
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(  # noqa: S310 (the live test server, over loopback)
        f"{live_server.url}/billing/api/{path}", data=data, method="POST"
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310
        return response.status, response.headers["Content-Type"], response.read().decode()


def table() -> dict[int, dict]:
    return {row["id"]: row for row in Did.objects.order_by("id").values()}


def everything() -> tuple:
    return (
        table(),
        list(DidHistory.objects.order_by("id").values()),
        list(AuditEntry.objects.order_by("id").values()),
    )


def dids_get(live_server, u: str, secret: str, number: str) -> dict[str, str]:
    status, _, body = post(
        live_server, "dids_get", {"u": u, "hash": sha1(secret), "search_did_number": number}
    )
    assert status == 200
    (did,) = fromstring(body).find("dids")
    return {child.tag: child.text or "" for child in did}


@pytest.mark.parametrize(
    ("name", "u", "path", "params", "hash_string", "digest", "answer", "effect"),
    EXAMPLES,
    ids=[example[0] for example in EXAMPLES],
)
def test_conformance_example(
    live_server, example, name, u, path, params, hash_string, digest, answer, effect
):
    assert sha1(hash_string) == digest
    before = everything()
    started = timezone.now()

    status, content_type, body = post(live_server, path, {"u": u, **params, "hash": digest})

    assert (status, content_type) == (200, "text/xml; charset=utf-8")
    assert body == answer
    if effect is None:
        assert everything() == before
        return
    caller = User.objects.get(username=u)
    after = table()
    assert set(after) == set(before[0])
    changed = {
        pk: {
            field: value
            for field, value in row.items()
            if value != before[0][pk][field] and field != "updated_at"
        }
        for pk, row in after.items()
        if row != before[0][pk]
    }
    expected = {pk: dict(fields) for pk, fields in effect.items()}
    if name in CLOSES:
        (pk,) = expected
        till = changed[pk].pop("reserved_for_user_till")
        assert started + timedelta(days=90) <= till <= timezone.now() + timedelta(days=90)
    assert changed == expected
    (pk,) = effect
    assert after[pk]["updated_at"] >= started
    (entry,) = DidHistory.objects.filter(did_id=pk).exclude(id__in=[h["id"] for h in before[1]])
    assert (entry.by, entry.source, entry.action) == (caller, "api", ACTIONS[name])
    assert entry.address == "127.0.0.1"


def test_e1_the_operator_creates_a_did(live_server, example):
    before = table()
    status, _, body = post(
        live_server,
        "did_create",
        {
            "u": "ops",
            "provider_id": "10",
            "did": "14155550199",
            "hash": "bf2289692047de7b20ea0460ac14a4153c65c553",
        },
    )
    assert sha1("1014155550199s3cr3t-system") == "bf2289692047de7b20ea0460ac14a4153c65c553"
    did = Did.objects.get(number="14155550199")
    assert status == 200
    assert body == (
        f"{DECLARATION}<page><status><success>DID created</success></status>"
        f"<did_details><id>{did.pk}</id></did_details></page>"
    )
    assert set(table()) == set(before) | {did.pk}
    assert (did.status, did.provider.name, did.reseller, did.user) == (
        "free",
        "Carrier One",
        None,
        None,
    )
    (entry,) = did.history.all()
    assert (entry.by.username, entry.source, entry.action) == ("ops", "api", "create")
    # Listed at once by dids_get.
    listed = dids_get(live_server, "ops", SYSTEM, "14155550199")
    assert (listed["id"], listed["did_status"], listed["provider"]) == (
        str(did.pk),
        "free",
        "Carrier One",
    )


def test_e1_with_test_1_creates_the_same_did_and_shows_its_number(live_server, example):
    status, content_type, body = post(
        live_server,
        "did_create",
        {
            "u": "ops",
            "provider_id": "10",
            "did": "14155550199",
            "test": "1",
            "hash": "bf2289692047de7b20ea0460ac14a4153c65c553",
        },
    )
    did = Did.objects.get(number="14155550199")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    document = html.unescape(body.split("<pre>", 1)[1].split("</pre>", 1)[0])
    root = fromstring(document.encode())
    assert [(el.tag, el.text) for el in root.find("did_details")] == [
        ("id", str(did.pk)),
        ("did", "14155550199"),
    ]
    assert root.find("status/success").text == "DID created"


def test_e24_the_operator_deletes_a_terminated_did(live_server, example):
    status, _, body = post(
        live_server,
        "did_delete",
        {"u": "ops", "dids_id": "106", "hash": "e604ce79c71e6fc0804e5096690033edd17d480b"},
    )
    assert status == 200
    assert body == (
        f"{DECLARATION}<page><status><status>DID successfully deleted</status></status></page>"
    )
    assert not Did.objects.filter(pk=106).exists()
    assert not DidHistory.objects.filter(did_id=106).exists()
    (entry,) = AuditEntry.objects.filter(object_type="DID")
    assert (entry.actor.username, entry.action, entry.object_id) == ("ops", "delete", "106")
    assert "14155550106" in entry.object_repr
    assert any("API" in str(change.get("note", "")) for change in entry.changes)


@pytest.mark.parametrize(
    ("name", "u", "secret", "number", "expected"),
    [
        ("E5", "ops", SYSTEM, "14155550100", {"did_status": "active", "device": "SIP/acme-pbx"}),
        ("E7", "northwind", NORTHWIND, "442071230200", {"did_status": "active", "user_id": "7"}),
        ("E13", "northwind", NORTHWIND, "14155550100", {"did_status": "free"}),
        ("E23", "northwind", NORTHWIND, "442071230205", {"did_status": "free"}),
    ],
)
def test_effects_are_seen_through_dids_get(live_server, example, name, u, secret, number, expected):
    (row,) = [example_row for example_row in EXAMPLES if example_row[0] == name]
    _, caller, path, params, _, digest, answer, _ = row
    assert post(live_server, path, {"u": caller, **params, "hash": digest})[2] == answer
    listed = dids_get(live_server, u, secret, number)
    assert {key: listed.get(key) for key in expected} == expected
