"""The data generator and the demo: realistic, consistent inventories."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q

from accounts.models import User
from dids.generator import generate_inventory
from dids.models import Did

pytestmark = pytest.mark.django_db


def test_generated_inventory_is_consistent_with_the_lifecycle():
    added = generate_inventory(dids=600, resellers=3, users=40, seed=3)

    assert added == 600
    statuses = dict(Did.objects.values_list("status").annotate(Count("id")))
    assert set(statuses) == set(Did.Status.values)
    # Reserved and closed DIDs are kept for an end user; closed ones until a date.
    assert not Did.objects.filter(status__in=["reserved", "closed"], user__isnull=True).exists()
    assert not Did.objects.filter(status="closed", reserved_for_user_till__isnull=True).exists()
    # Active DIDs work through a device or a dial plan.
    assert not Did.objects.filter(
        status="active", device__isnull=True, dial_plan__isnull=True
    ).exists()
    # A device belongs to the DID's end user; a reseller's DIDs go to its own users.
    assert not Did.objects.filter(device__isnull=False).exclude(device__user=F("user")).exists()
    assert (
        not Did.objects.filter(reseller__isnull=False, user__isnull=False)
        .exclude(user__owner=F("reseller"))
        .exists()
    )
    assert not Did.objects.filter(reseller__isnull=True, user__owner__isnull=False).exists()
    assert Did.objects.filter(reseller__isnull=False).exists()
    assert not Did.objects.filter(
        Q(status__in=["free", "terminated"]) & (Q(user__isnull=False) | Q(device__isnull=False))
    ).exists()
    # Nothing is created after its last change.
    assert not Did.objects.filter(created_at__gt=F("updated_at")).exists()


def test_generating_twice_adds_new_accounts_and_numbers():
    generate_inventory(dids=100, resellers=2, users=10, seed=1)
    generate_inventory(dids=100, resellers=2, users=10, seed=1)
    assert Did.objects.count() == 200
    assert User.objects.filter(role=User.Role.RESELLER).count() == 4


def test_generate_dids_command_reports_what_it_added():
    out = StringIO()
    call_command("generate_dids", "--dids", "50", "--users", "5", "--no-progress", stdout=out)
    assert out.getvalue().strip() == "Added 50 DIDs."


def test_demo_has_an_account_per_role_and_dids_in_every_status():
    out = StringIO()
    call_command("demo", "--dids", "300", stdout=out, stderr=StringIO())

    for username, password in [
        ("admin", "demo-admin-pass"),
        ("accountant", "demo-accountant-pass"),
        ("reseller", "demo-reseller-pass"),
        ("customer", "demo-customer-pass"),
        ("user", "demo-user-pass"),
    ]:
        assert User.objects.get(username=username).check_password(password)
        assert f"{username:<11} {password}" in out.getvalue()
    assert {u.role for u in User.objects.filter(username__in=["admin", "accountant"])} == {
        "admin",
        "accountant",
    }
    reseller = User.objects.get(username="reseller")
    held = Did.objects.filter(reseller=reseller)
    assert set(held.values_list("status", flat=True)) == set(Did.Status.values)
    assert held.count() > 20
    assert Did.objects.count() == 315
    assert "Demo accounts (sign in at http://127.0.0.1:8000/login/)" in out.getvalue()
    assert re.search(
        r"^  http://127\.0\.0\.1:8000/billing/api/dids_get\?u=admin&\S+&hash=[0-9a-f]{40}$",
        out.getvalue(),
        flags=re.M,
    )


def test_demo_prints_the_urls_of_the_address_it_serves_on(portal_admin):
    out = StringIO()
    call_command("demo", "--base-url", "http://192.0.2.7:8080/", stdout=out, stderr=StringIO())

    assert "sign in at http://192.0.2.7:8080/login/" in out.getvalue()
    assert "  http://192.0.2.7:8080/billing/api/dids_get?u=admin&" in out.getvalue()


def test_demo_leaves_an_existing_database_alone(portal_admin):
    out = StringIO()
    call_command("demo", stdout=out, stderr=StringIO())
    assert "demo not loaded again" in out.getvalue()
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


def test_every_generated_row_names_every_stored_column():
    """COPY writes the columns of the model: a new field must be generated too."""
    import random

    from dids.generator import COLUMNS, Holder, _rows

    holders = [Holder(None, [], [1], [1])]
    row = next(_rows(random.Random(1), holders, 1, 1, 0))

    assert set(row) == set(COLUMNS)
