"""Realistic DID inventories at any size, for demos and benchmarks.

`generate_inventory(dids=N)` adds resellers, end users, devices, dial plans,
providers and N DIDs in every lifecycle status, consistent with the domain
(reserved and closed DIDs have an end user, active ones a device or a dial plan,
a reseller's DIDs go to the reseller's own users). On PostgreSQL the DIDs are
written with COPY through a staging table (a million rows in well under a
minute here); elsewhere with bulk_create.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User

from .models import Device, DialPlan, Did, Provider

COUNTRY_PREFIXES = ("1212", "1415", "1646", "4420", "4416", "3317", "4930", "3706", "3712", "6129")
LANGUAGES = ("en", "en", "en", "en-GB", "fr", "de", "lt", "lv", "es", "")
TONE_ZONES = ("us", "uk", "fr", "de", "lt", "it", "")
FIRST_NAMES = ("Acme", "Blue", "Cedar", "Delta", "Echo", "Falcon", "Granite", "Harbor", "Iris")
LAST_NAMES = ("Corp", "Hotels", "Logistics", "Dental", "Motors", "Studio", "Bakery", "Legal")
STATUS_WEIGHTS = {
    Did.Status.FREE: 35,
    Did.Status.RESERVED: 10,
    Did.Status.ACTIVE: 40,
    Did.Status.CLOSED: 5,
    Did.Status.TERMINATED: 10,
}
# Every stored column of a DID but its id, from the model itself.
COLUMNS = tuple(field.column for field in Did._meta.concrete_fields if not field.primary_key)


@dataclass
class Customer:
    user_id: int
    device_ids: list[int]


@dataclass
class Holder:
    """The system (reseller_id None) or one reseller, with its customers and dial plans."""

    reseller_id: int | None
    customers: list[Customer]
    dial_plan_ids: list[int]
    provider_ids: list[int]


def _build_holders(
    rng: random.Random, resellers: int, users: int, tag: str, existing: list[User]
) -> list[Holder]:
    """Create the accounts, devices, dial plans and providers the DIDs will point at.

    `existing` resellers get new customers and DIDs too (the demo's reseller does).
    """
    # Display names stay clean on a first run; later runs number theirs.
    run_suffix = "" if tag.endswith("x0") else f" ({tag})"
    system_providers = [
        Provider.objects.create(name=f"Carrier {name}{run_suffix}").pk
        for name in ("Alpha", "Beta", "Gamma", "Delta")
    ]
    holders = [
        Holder(
            None,
            [],
            [
                DialPlan.objects.create(name=f"Main IVR{run_suffix}", type=DialPlan.Type.IVR).pk,
                DialPlan.objects.create(
                    name=f"Sales queue{run_suffix}", type=DialPlan.Type.QUEUE
                ).pk,
            ],
            system_providers,
        )
    ]
    for index in range(resellers):
        reseller = User.objects.create(
            username=f"gen-{tag}-reseller{index}",
            first_name=rng.choice(FIRST_NAMES),
            last_name="Telecom",
            role=User.Role.RESELLER,
            own_providers=index % 3 == 0,
        )
        reseller.set_unusable_password()
        reseller.save(update_fields=["password"])
        plan = DialPlan.objects.create(
            name=f"Front desk {index}", type=DialPlan.Type.RINGGROUP, owner=reseller
        )
        providers = list(system_providers)
        if reseller.own_providers:
            providers.append(
                Provider.objects.create(name=f"{reseller.first_name} Wholesale", owner=reseller).pk
            )
        holders.append(Holder(reseller.pk, [], [plan.pk], providers))
    for reseller in existing:
        plan = DialPlan.objects.create(
            name=f"Hunt group{run_suffix}", type=DialPlan.Type.RINGGROUP, owner=reseller
        )
        own = list(Provider.objects.filter(owner=reseller).values_list("pk", flat=True))
        holders.append(Holder(reseller.pk, [], [plan.pk], system_providers + own))

    new_users = [
        User(
            username=f"gen-{tag}-user{index}",
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            role=User.Role.USER,
            owner_id=holders[index % len(holders)].reseller_id,
            password=make_password(None),  # unusable: generated customers do not sign in
        )
        for index in range(users)
    ]
    User.objects.bulk_create(new_users, batch_size=1000)
    created = User.objects.filter(username__startswith=f"gen-{tag}-user").values_list(
        "pk", "owner_id"
    )
    devices = []
    by_holder = {holder.reseller_id: holder for holder in holders}
    for index, (user_id, owner_id) in enumerate(created):
        by_holder[owner_id].customers.append(Customer(user_id, []))
        devices.append(
            Device(
                type=rng.choice(("SIP", "SIP", "IAX2", "FAX")),
                name=f"dev{index}",
                extension=str(1000 + index),
                user_id=user_id,
            )
        )
    Device.objects.bulk_create(devices, batch_size=1000)
    customers = {c.user_id: c for h in holders for c in h.customers}
    for device_id, user_id in Device.objects.filter(
        user__username__startswith=f"gen-{tag}-user"
    ).values_list("pk", "user_id"):
        customers[user_id].device_ids.append(device_id)
    return [holder for holder in holders if holder.customers or holder.reseller_id is None]


def _rows(rng: random.Random, holders: list[Holder], count: int, start: int, tag: int):
    """Yield one DID a time, as a mapping of column to value."""
    now = timezone.now()
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    for index in range(count):
        serial = start + index
        holder = holders[0] if rng.random() < 0.6 else rng.choice(holders)
        status = rng.choices(statuses, weights)[0]
        customer = rng.choice(holder.customers) if holder.customers else None
        user_id = device_id = dial_plan_id = till = None
        if status in (Did.Status.RESERVED, Did.Status.CLOSED) and customer:
            user_id = customer.user_id
        if status == Did.Status.ACTIVE:
            if customer and customer.device_ids and rng.random() < 0.8:
                user_id, device_id = customer.user_id, rng.choice(customer.device_ids)
            else:
                dial_plan_id = rng.choice(holder.dial_plan_ids)
        if status == Did.Status.CLOSED:
            till = now + timedelta(days=rng.randint(1, 90))
        updated = now - timedelta(seconds=rng.randint(0, 400 * 86400))
        yield {
            "number": f"{COUNTRY_PREFIXES[serial % len(COUNTRY_PREFIXES)]}{tag:02d}{serial:09d}",
            "status": status,
            "provider_id": rng.choice(holder.provider_ids),
            "user_id": user_id,
            "device_id": device_id,
            "reseller_id": holder.reseller_id,
            "dial_plan_id": dial_plan_id,
            "language": rng.choice(LANGUAGES),
            "comment": "main line" if device_id and rng.random() < 0.1 else "",
            "reseller_comment": (
                "customer line" if holder.reseller_id and user_id and rng.random() < 0.2 else ""
            ),
            "call_limit": rng.choice((0, 0, 0, 2, 5, 10)),
            "tone_zone": rng.choice(TONE_ZONES),
            "grace_time": 0,
            "callerid_name_prefix": "",
            "custom_sip_header": "",
            "reserved_for_user_till": till,
            "ai_agent_compatible": rng.random() < 0.3,
            "routes_to_openai_project_id": "",
            "created_at": updated,
            "updated_at": updated,
        }


def _copy_value(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _write_postgresql(rows, batch: int, advance: Callable[[int], None]) -> None:
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        # Same column types, no id and no constraints: COPY in fast, then insert in one go.
        cursor.execute(
            f"CREATE TEMP TABLE did_staging ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns} FROM dids_did WITH NO DATA"
        )
        buffer = io.StringIO()
        pending = 0
        for row in rows:
            buffer.write("\t".join(_copy_value(row[column]) for column in COLUMNS) + "\n")
            pending += 1
            if pending == batch:
                _flush(cursor, columns, buffer)
                advance(pending)
                buffer, pending = io.StringIO(), 0
        if pending:
            _flush(cursor, columns, buffer)
            advance(pending)
        # Numbers already in the inventory are skipped, never duplicated.
        cursor.execute(
            f"INSERT INTO dids_did ({columns}) SELECT {columns} FROM did_staging "  # noqa: S608
            "ON CONFLICT (number) DO NOTHING"
        )
        # Dropped now, not only at commit: a caller's outer transaction may run us twice.
        cursor.execute("DROP TABLE did_staging")
        cursor.execute("ANALYZE dids_did")


def _flush(cursor, columns: str, buffer: io.StringIO) -> None:
    with cursor.cursor.copy(f"COPY did_staging ({columns}) FROM STDIN") as copy:
        copy.write(buffer.getvalue())


def _write_orm(rows, batch: int, advance: Callable[[int], None]) -> None:
    chunk: list[Did] = []
    for row in rows:
        chunk.append(Did(**row))
        if len(chunk) == batch:
            Did.objects.bulk_create(chunk, ignore_conflicts=True)
            advance(len(chunk))
            chunk = []
    if chunk:
        Did.objects.bulk_create(chunk, ignore_conflicts=True)
        advance(len(chunk))


def generate_inventory(
    *,
    dids: int,
    resellers: int = 20,
    users: int = 2000,
    seed: int = 1,
    existing_resellers: list[User] | None = None,
    advance: Callable[[int], None] = lambda n: None,
) -> int:
    """Add a consistent inventory of `dids` DIDs; returns how many DIDs were added."""
    rng = random.Random(seed)  # noqa: S311 (test data, not security)
    before = Did.objects.count()
    # Each run gets its own tag, so generated names and numbers never clash with earlier runs.
    run = Provider.objects.filter(name__startswith="Carrier Alpha").count()
    tag = f"{seed}x{run}"
    with transaction.atomic():
        holders = _build_holders(rng, resellers, users, tag, existing_resellers or [])
        start = (Did.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        rows = _rows(rng, holders, dids, start, run % 100)
        batch = 20000
        if connection.vendor == "postgresql":
            _write_postgresql(rows, batch, advance)
        else:
            _write_orm(rows, min(batch, 2000), advance)
            # bulk_create stamps created_at with now (auto_now_add); the generated history
            # has each DID created when it was last changed, as COPY writes it.
            Did.objects.filter(pk__gte=start, created_at__gt=F("updated_at")).update(
                created_at=F("updated_at")
            )
    return Did.objects.count() - before
