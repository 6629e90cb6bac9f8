"""The write methods' hash (did_methods.md §3): the worked examples of §3.3 verbatim, and
for every method a hash that leaves out one hashed value is refused."""

import hashlib

import pytest

from accounts.api_hash import HashedParameters, api_hash, hashed_parameters
from accounts.models import User
from dids.api.methods import BY_NAME, METHODS, hashed_parameters_of
from dids.api.methods.testing import call_method, error_of
from portal.testing.factories import UserFactory

# (method, parameters besides u and hash, hash string, hash) — §3.3, verbatim.
EXAMPLES = [
    ("did_create", {"provider_id": "1", "did": "4793469588", "comment": "x"},
     "14793469588secret", "6190768859a33e169940a021ec051434003aa028"),
    ("did_create", {"did": "4793469588"},
     "4793469588secret", "7b7798f6b8d2633ff3c7ac440d09e82c20ce22d6"),
    ("did_create", {"provider_id": "1", "did": " 4793469588 "},
     "1 4793469588 secret", "64a156e272858d838c23e7d112bd9754d622d967"),
    ("did_device_assign", {"device_id": "2", "did": "37063045437"},
     "237063045437secret", "c3374a0cc0ac4f8841c6f42e566376610530e560"),
    ("did_device_assign", {"did": "37063045437", "device_id": "2", "user_id": "5"},
     "5237063045437secret", "d989f8e4fe3b0feb195a5aa77d78f92fa31680f6"),
    ("did_device_unassign", {"did": "37063045437"},
     "37063045437secret", "fe20924085d8f347d8f143f478e31f844f4462ec"),
    ("did_device_unassign", {"did": "37063045437", "device_id": "2"},
     "237063045437secret", "c3374a0cc0ac4f8841c6f42e566376610530e560"),
    ("did_details_update", {"did_id": "6511", "did_user_id": "5", "call_limit": "10"},
     "6511secret", "f7de355c9b4421ce6c705b4b32c89dbcaca51e46"),
    ("did_details_update", {"did_id": "6511", "status": "free"},
     "free6511secret", "3779cb27a463dce9b7ff07237939594915bc1ae2"),
    ("did_subscription_stop", {"dids_id": "2"},
     "2secret", "38282ca5e65e63746498ef5b39a2fe71c6448df4"),
    ("did_subscription_stop", {"dids_id": "2", "device_id": "9"},
     "2secret", "38282ca5e65e63746498ef5b39a2fe71c6448df4"),
    ("did_subscription_stop", {"did_id": "6511"},
     "6511secret", "f7de355c9b4421ce6c705b4b32c89dbcaca51e46"),
    ("did_subscription_stop", {"dids_id": "2", "did_id": "6511"},
     "2secret", "38282ca5e65e63746498ef5b39a2fe71c6448df4"),
    ("did_close", {"dids_id": "1"},
     "1secret", "bc2f114099d16656d37e45fd9e8744cb9386d462"),
    ("did_terminate", {"dids_id": "6511"},
     "6511secret", "f7de355c9b4421ce6c705b4b32c89dbcaca51e46"),
    ("did_make_free", {"dids_id": "6511"},
     "6511secret", "f7de355c9b4421ce6c705b4b32c89dbcaca51e46"),
    ("did_delete", {"dids_id": "12"},
     "12secret", "60b20184852a62b975febcb6fbd7d475071e817a"),
]  # fmt: skip


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


@pytest.fixture
def frank(db, system_api):
    """A user owned by the system: check 7 answers it `Access Denied`, after the hash."""
    return UserFactory(username="frank", role=User.Role.USER)


@pytest.mark.parametrize(("method", "params", "hash_string", "digest"), EXAMPLES)
def test_worked_example_hash_string_and_hash(method, params, hash_string, digest):
    pairs = hashed_parameters(params, hashed_parameters_of(method))
    assert "".join(value for _, value in pairs) + "secret" == hash_string
    assert sha1(hash_string) == digest
    assert api_hash(params, "secret", hashed_parameters_of(method)) == digest


@pytest.mark.parametrize(("method", "params", "hash_string", "digest"), EXAMPLES)
def test_worked_example_is_accepted_by_the_api(client, frank, method, params, hash_string, digest):
    response = call_method(client, method, {"u": "frank", **params, "hash": digest}, secret=None)
    assert error_of(response) == "Access Denied"  # past check 5: the hash was right
    upper = call_method(
        client, method, {"u": "frank", **params, "hash": digest.upper()}, secret=None
    )
    assert error_of(upper) == "Access Denied"


def test_the_fourth_example_is_the_printf_sha1sum_one():
    assert sha1("237063045437secret") == "c3374a0cc0ac4f8841c6f42e566376610530e560"


# For every method and alias: a request carrying every hashed parameter it names.
FULL_REQUESTS = {
    "did_create": {"provider_id": "1", "did": "4793469588", "user_id": "5"},
    "did_device_assign": {"device_id": "2", "did": "37063045437", "user_id": "5"},
    "did_device_unassign": {"device_id": "2", "did": "37063045437"},
    "did_details_update": {"did_id": "6511", "status": "free", "device": "4"},
    "did_subscription_stop": {"dids_id": "2"},
    "did_close": {"dids_id": "1"},
    "did_terminate": {"dids_id": "6511"},
    "did_make_free": {"dids_id": "6511"},
    "did_delete": {"dids_id": "12"},
}
LEAVE_ONE_OUT = [
    (name, left_out)
    for name, method in sorted(BY_NAME.items())
    for left_out, _ in hashed_parameters(FULL_REQUESTS[method.name], method.hashed_parameters)
]


@pytest.mark.parametrize(("name", "left_out"), LEAVE_ONE_OUT)
def test_a_hash_that_leaves_out_one_hashed_value_is_refused(client, frank, name, left_out):
    params = {"u": "frank", **FULL_REQUESTS[BY_NAME[name].name]}
    rule = hashed_parameters_of(name)
    values = [value for key, value in hashed_parameters(params, rule) if key != left_out]
    response = call_method(
        client, name, {**params, "hash": sha1("".join(values) + "secret")}, secret=None
    )
    assert error_of(response) == "Incorrect hash"
    # The complete hash is accepted.
    assert error_of(call_method(client, name, params)) == "Access Denied"


@pytest.mark.parametrize("name", sorted(METHODS))
def test_u_hash_p_action_and_test_are_never_hashed(client, frank, name):
    params = {"u": "frank", **FULL_REQUESTS[name]}
    digest = api_hash(params, "secret", hashed_parameters_of(name))
    response = call_method(
        client, name, {**params, "p": "pw", "test": "0", "hash": digest}, secret=None
    )
    assert error_of(response) == "Access Denied"


@pytest.mark.parametrize(
    "name", ["did_subscription_stop", "did_close", "did_terminate", "did_make_free", "did_delete"]
)
def test_fixed_list_methods_hash_no_legacy_parameter(client, frank, name):
    params = {"u": "frank", "dids_id": "7", "user_id": "5", "did": "123", "status": "x"}
    response = call_method(client, name, {**params, "hash": sha1("7secret")}, secret=None)
    assert error_of(response) == "Access Denied"


def test_subscription_stop_without_any_id_hashes_the_secret_alone(client, frank):
    response = call_method(
        client, "did_subscription_stop", {"u": "frank", "hash": sha1("secret")}, secret=None
    )
    assert error_of(response) == "Access Denied"


def test_values_enter_the_hash_as_received_not_trimmed(client, frank):
    params = {"u": "frank", "did": "\t37063045437 "}
    assert error_of(
        call_method(client, "did_device_unassign", {**params, "hash": sha1("37063045437secret")},
                    secret=None)
    ) == "Incorrect hash"  # fmt: skip
    assert error_of(
        call_method(client, "did_device_unassign",
                    {**params, "hash": sha1("\t37063045437 secret")}, secret=None)
    ) == "Access Denied"  # fmt: skip


def test_an_empty_hashed_value_is_absent():
    rule = hashed_parameters_of("did_create")
    assert hashed_parameters({"provider_id": "", "did": "5"}, rule) == [("did", "5")]


def test_legacy_order_keeps_the_methods_own_parameters_in_the_files_order():
    rule = HashedParameters.legacy_order("did", "provider_id")
    assert rule.names.index("provider_id") < rule.names.index("did")
    assert HashedParameters.legacy_order("not_in_the_file").names[-1] == "not_in_the_file"
