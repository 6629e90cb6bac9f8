"""Loading a whole set-up from a scenario file (the format: docs/scenarios.md).

`load_scenario(data, replace=...)` validates and writes in one transaction: any
invalid entry raises `ScenarioError` with a message naming the entry and the
problem (`dids[3] (id 6502): unknown dial_plan 999`) and nothing is written.
Ids in the file become primary keys, so API parameters such as `search_user=5`
refer to them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.apps import apps
from django.core.management.color import no_style
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import (
    ACCOUNTANT_RIGHTS,
    API_METHODS,
    AccountantGroup,
    ApiPermissionGroup,
    ApiSettings,
    Level,
    SystemSettings,
    User,
    api_method_levels,
)
from portal.text import is_valid_text

from .models import Device, DialPlan, Did, DidHistory, Provider

SECTIONS = (
    "system",
    "api_settings",
    "accountant_groups",
    "api_permission_groups",
    "users",
    "providers",
    "devices",
    "dial_plans",
    "dids",
)
MAX_ID = 2**63 - 1
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?\Z")


class ScenarioError(Exception):
    """An invalid scenario; the message names the entry and the problem."""


@dataclass
class LoadSummary:
    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in self.counts.items())


class Entry:
    """One object of the file, with typed accessors that raise errors naming it."""

    def __init__(self, section: str, index: int, data: Any, label_key: str = "id") -> None:
        self.section = section
        self.index = index
        if not isinstance(data, dict):
            raise ScenarioError(f"{section}[{index}]: expected an object")
        self.data = data
        label = data.get(label_key)
        self.label = f"{section}[{index}]"
        if label is not None:
            self.label += f" ({label})" if label_key != "id" else f" (id {label})"

    def error(self, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.label}: {problem}")

    def only(self, allowed: Iterable[str]) -> None:
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise self.error(f"unknown field {unknown[0]!r}")

    def text(self, key: str, *, required: bool = False, default: str = "", max_length: int = 0):
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(f"missing {key}")
            return default
        if not isinstance(value, str):
            raise self.error(f"{key} must be text")
        if not is_valid_text(value):
            raise self.error(f"{key} must be text without a NUL character or a lone surrogate")
        if required and value == "":
            raise self.error(f"{key} must not be empty")
        if max_length and len(value) > max_length:
            raise self.error(f"{key} is longer than {max_length} characters")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(f"{key} must be true or false")
        return value

    def integer(self, key: str, *, default: int | None = None, minimum: int = 0, maximum=MAX_ID):
        value = self.data.get(key)
        if value is None:
            if default is None:
                raise self.error(f"missing {key}")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{key} must be a whole number")
        if not minimum <= value <= maximum:
            raise self.error(f"{key} {value} is out of range ({minimum} to {maximum})")
        return value

    def identifier(self) -> int:
        return self.integer("id", minimum=1)

    def timestamp(self, key: str) -> datetime | None:
        value = self.data.get(key)
        if value is None:
            return None
        problem = f"bad {key} {value!r}: expected an RFC 3339 timestamp"
        if not isinstance(value, str) or not RFC3339.match(value):
            raise self.error(problem)
        try:
            moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            raise self.error(problem) from None
        # A value without an offset is read as UTC.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    def choice(self, key: str, choices: Iterable[str], default: str) -> str:
        value = self.data.get(key, default)
        if value is None:
            value = default
        options = list(choices)
        if value not in options:
            raise self.error(f"invalid {key} {value!r}: expected one of {', '.join(options)}")
        return value


class Loader:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.accountant_groups: dict[str, AccountantGroup] = {}
        self.api_permission_groups: dict[str, ApiPermissionGroup] = {}
        self.providers: dict[int, Provider] = {}
        self.devices: dict[int, Device] = {}
        self.dial_plans: dict[int, DialPlan] = {}
        self.summary = LoadSummary()
        self.now = timezone.now()

    # --- lookups (objects of this file first, then the database) --------------

    def user(self, entry: Entry, key: str, username: Any) -> User:
        if not isinstance(username, str):
            raise entry.error(f"{key} must be a username")
        found = self.users.get(username)
        if found is None:
            found = User.objects.filter(username=username).first()
        if found is None:
            raise entry.error(f"unknown {key} {username!r}")
        return found

    def owner(self, entry: Entry, key: str = "owner") -> User | None:
        """`"system"` (the default) or a reseller's username."""
        value = entry.data.get(key, "system")
        if value in (None, "system"):
            return None
        account = self.user(entry, key, value)
        if not account.is_reseller:
            raise entry.error(f"{key} {value!r} is not a reseller")
        return account

    def by_id(self, entry: Entry, key: str, registry: dict, model) -> Any:
        value = entry.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise entry.error(f"{key} must be an id")
        found = registry.get(value)
        if found is None:
            found = model.objects.filter(pk=value).first() if 0 < value <= MAX_ID else None
        if found is None:
            raise entry.error(f"unknown {key} {value}")
        return found

    def check_new_id(self, entry: Entry, model, seen: set[int], pk: int) -> None:
        if pk in seen:
            raise entry.error(f"duplicate id {pk}")
        seen.add(pk)
        if model.objects.filter(pk=pk).exists():
            raise entry.error(f"id {pk} already exists")

    # --- sections --------------------------------------------------------------

    def load(self, data: Any) -> LoadSummary:
        if not isinstance(data, dict):
            raise ScenarioError("the scenario must be a JSON object")
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise ScenarioError(f"unknown top-level key {unknown[0]!r}")
        for section in SECTIONS[1:]:
            if section in data and not isinstance(data[section], list):
                raise ScenarioError(f"{section}: expected a list")
        if "system" in data:
            self.load_system(data["system"])
        # Groups and users come before the settings that name a reseller.
        self.load_accountant_groups(data.get("accountant_groups", []))
        self.load_api_permission_groups(data.get("api_permission_groups", []))
        self.load_users(data.get("users", []))
        self.load_api_settings(data.get("api_settings", []))
        self.load_providers(data.get("providers", []))
        self.load_devices(data.get("devices", []))
        self.load_dial_plans(data.get("dial_plans", []))
        self.load_dids(data.get("dids", []))
        reset_sequences()
        return self.summary

    def count(self, name: str, number: int) -> None:
        self.summary.counts[name] = number

    def load_system(self, data: Any) -> None:
        entry = Entry("system", 0, data)
        entry.label = "system"
        entry.only({"days_for_did_close", "resellers_can_add_their_own_dids"})
        system = SystemSettings.load()
        system.days_for_did_close = entry.integer(
            "days_for_did_close", default=system.days_for_did_close, maximum=1000
        )
        system.resellers_can_add_their_own_dids = entry.flag(
            "resellers_can_add_their_own_dids", default=system.resellers_can_add_their_own_dids
        )
        system.save()

    def load_api_settings(self, items: list) -> None:
        seen: set[str] = set()
        for index, data in enumerate(items):
            entry = Entry("api_settings", index, data, label_key="owner")
            entry.only(
                {"owner", "allow_api", "allow_get_api", "api_secret_key", "disable_hash_checking"}
            )
            owner_name = entry.data.get("owner", "system")
            reseller = self.owner(entry)
            key = "system" if reseller is None else reseller.username
            if key in seen:
                raise entry.error(f"duplicate API settings for {owner_name}")
            seen.add(key)
            existing = ApiSettings.objects.filter(reseller=reseller).exists()
            if existing:
                raise entry.error(f"API settings for {owner_name} already exist")
            ApiSettings.objects.create(
                reseller=reseller,
                allow_api=entry.flag("allow_api"),
                allow_get_api=entry.flag("allow_get_api"),
                api_secret_key=entry.text("api_secret_key", max_length=255),
                disable_hash_checking=entry.flag("disable_hash_checking"),
            )
        self.count("api_settings", len(items))

    def load_accountant_groups(self, items: list) -> None:
        for index, data in enumerate(items):
            entry = Entry("accountant_groups", index, data, label_key="name")
            entry.only({"name", *ACCOUNTANT_RIGHTS})
            name = entry.text("name", required=True, max_length=100)
            if name in self.accountant_groups:
                raise entry.error(f"duplicate accountant group name {name!r}")
            if AccountantGroup.objects.filter(name=name).exists():
                raise entry.error(f"accountant group {name!r} already exists")
            rights = {
                right: entry.choice(right, Level.values, Level.NONE) for right in ACCOUNTANT_RIGHTS
            }
            self.accountant_groups[name] = AccountantGroup.objects.create(name=name, rights=rights)
        self.count("accountant_groups", len(items))

    def load_api_permission_groups(self, items: list) -> None:
        for index, data in enumerate(items):
            entry = Entry("api_permission_groups", index, data, label_key="name")
            entry.only({"name", "methods"})
            name = entry.text("name", required=True, max_length=100)
            if name in self.api_permission_groups:
                raise entry.error(f"duplicate API permission group name {name!r}")
            if ApiPermissionGroup.objects.filter(name=name).exists():
                raise entry.error(f"API permission group {name!r} already exists")
            methods_data = entry.data.get("methods", {})
            if not isinstance(methods_data, dict):
                raise entry.error("methods must be an object")
            methods = {}
            for method, level in methods_data.items():
                if method not in API_METHODS:
                    raise entry.error(f"unknown API method {method!r}")
                if level not in api_method_levels(method):
                    raise entry.error(
                        f"invalid {method} right {level!r}: expected one of "
                        + ", ".join(api_method_levels(method))
                    )
                methods[method] = level
            self.api_permission_groups[name] = ApiPermissionGroup.objects.create(
                name=name, methods=methods
            )
        self.count("api_permission_groups", len(items))

    def load_users(self, items: list) -> None:
        entries = []
        seen_ids: set[int] = set()
        for index, data in enumerate(items):
            entry = Entry("users", index, data)
            entry.only(
                {
                    "id",
                    "username",
                    "role",
                    "owner",
                    "first_name",
                    "last_name",
                    "email",
                    "password",
                    "system_administrator",
                    "own_providers",
                    "api_restricted",
                    "accountant_group",
                    "api_permission_group",
                    "is_active",
                }
            )
            username = entry.text("username", required=True, max_length=150)
            if username in self.users:
                raise entry.error(f"duplicate username {username!r}")
            if User.objects.filter(username=username).exists():
                raise entry.error(f"username {username!r} already exists")
            pk = entry.identifier() if "id" in entry.data else None
            if pk is not None:
                self.check_new_id(entry, User, seen_ids, pk)
            role = entry.choice("role", User.Role.values, User.Role.USER)
            api_restricted = entry.flag("api_restricted")
            if api_restricted and role not in (User.Role.USER, User.Role.ACCOUNTANT):
                raise entry.error(
                    f"only users and accountants may be api_restricted, not role {role!r}"
                )
            system_administrator = entry.flag("system_administrator")
            if system_administrator and role != User.Role.ADMIN:
                raise entry.error("only an admin can be the system administrator")
            account = User(
                id=pk,
                username=username,
                role=role,
                first_name=entry.text("first_name", max_length=150),
                last_name=entry.text("last_name", max_length=150),
                email=entry.text("email", max_length=254),
                is_system_administrator=system_administrator,
                own_providers=entry.flag("own_providers"),
                api_restricted=api_restricted,
                is_active=entry.flag("is_active", default=True),
            )
            group = entry.data.get("accountant_group")
            if group is not None:
                account.accountant_group = self.named(
                    entry, "accountant_group", group, self.accountant_groups
                )
            group = entry.data.get("api_permission_group")
            if group is not None:
                account.api_permission_group = self.named(
                    entry, "api_permission_group", group, self.api_permission_groups
                )
            password = entry.text("password")
            if password:
                account.set_password(password)
            else:
                # Without a password the account cannot sign in to the GUI (the API needs none).
                account.set_unusable_password()
            self.users[username] = account
            entries.append((entry, account))

        has_system_administrator = User.objects.filter(is_system_administrator=True).exists()
        for entry, account in entries:
            if account.is_system_administrator:
                if has_system_administrator:
                    raise entry.error("there can be only one system administrator")
                has_system_administrator = True

        # Explicit ids first, then the accounts without one get the next free ids.
        last_stored = User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        next_id = max([*seen_ids, last_stored]) + 1
        for entry, account in entries:
            if account.pk is None:
                account.pk = next_id
                next_id += 1
            try:
                account.save(force_insert=True)
            except IntegrityError as error:
                raise entry.error(f"cannot be stored ({error})") from None
        # Owners may be defined anywhere in the list: resolve them once all exist.
        for entry, account in entries:
            owner = self.owner(entry)
            if owner is not None:
                if account.role != User.Role.USER:
                    raise entry.error(
                        f"only users can be owned by a reseller, not role {account.role!r}"
                    )
                account.owner = owner
                account.save(update_fields=["owner"])
        self.count("users", len(items))

    def named(self, entry: Entry, key: str, name: Any, registry: dict) -> Any:
        if not isinstance(name, str):
            raise entry.error(f"{key} must be a name")
        found = registry.get(name)
        if found is None:
            model = AccountantGroup if key == "accountant_group" else ApiPermissionGroup
            found = model.objects.filter(name=name).first()
        if found is None:
            raise entry.error(f"unknown {key} {name!r}")
        return found

    def load_providers(self, items: list) -> None:
        seen: set[int] = set()
        for index, data in enumerate(items):
            entry = Entry("providers", index, data)
            entry.only({"id", "name", "owner"})
            pk = entry.identifier()
            self.check_new_id(entry, Provider, seen, pk)
            self.providers[pk] = Provider.objects.create(
                id=pk,
                name=entry.text("name", required=True, max_length=100),
                owner=self.owner(entry),
            )
        self.count("providers", len(items))

    def load_devices(self, items: list) -> None:
        seen: set[int] = set()
        for index, data in enumerate(items):
            entry = Entry("devices", index, data)
            entry.only({"id", "type", "name", "extension", "user"})
            pk = entry.identifier()
            self.check_new_id(entry, Device, seen, pk)
            if entry.data.get("user") is None:
                raise entry.error("missing user")
            self.devices[pk] = Device.objects.create(
                id=pk,
                type=entry.text("type", required=True, max_length=20),
                name=entry.text("name", max_length=100),
                extension=entry.text("extension", max_length=50),
                user=self.user(entry, "user", entry.data["user"]),
            )
        self.count("devices", len(items))

    def load_dial_plans(self, items: list) -> None:
        seen: set[int] = set()
        for index, data in enumerate(items):
            entry = Entry("dial_plans", index, data)
            entry.only({"id", "name", "type", "owner"})
            pk = entry.identifier()
            self.check_new_id(entry, DialPlan, seen, pk)
            if entry.data.get("type") is None:
                raise entry.error("missing type")
            self.dial_plans[pk] = DialPlan.objects.create(
                id=pk,
                name=entry.text("name", required=True, max_length=100),
                type=entry.choice("type", DialPlan.Type.values, ""),
                owner=self.owner(entry),
            )
        self.count("dial_plans", len(items))

    def load_dids(self, items: list) -> None:
        seen_ids: set[int] = set()
        seen_numbers: set[str] = set()
        rows: list[tuple[Entry, Did, datetime | None]] = []
        for index, data in enumerate(items):
            entry = Entry("dids", index, data)
            entry.only(
                {
                    "id",
                    "did",
                    "status",
                    "provider",
                    "user",
                    "device",
                    "reseller",
                    "dial_plan",
                    "language",
                    "comment",
                    "reseller_comment",
                    "call_limit",
                    "tone_zone",
                    "grace_time",
                    "callerid_name_prefix",
                    "custom_sip_header",
                    "reserved_for_user_till",
                    "ai_agent_compatible",
                    "routes_to_openai_project_id",
                    "created_at",
                    "updated_at",
                }
            )
            pk = entry.identifier()
            if pk in seen_ids:
                raise entry.error(f"duplicate id {pk}")
            seen_ids.add(pk)
            number = entry.text("did", required=True, max_length=50)
            if number in seen_numbers:
                raise entry.error(f"duplicate did {number!r}")
            seen_numbers.add(number)
            if entry.data.get("status") is None:
                raise entry.error("missing status")
            status = entry.choice("status", Did.Status.values, "")
            reseller = None
            if entry.data.get("reseller") is not None:
                reseller = self.user(entry, "reseller", entry.data["reseller"])
                if not reseller.is_reseller:
                    raise entry.error(f"reseller {reseller.username!r} is not a reseller")
            user = None
            if entry.data.get("user") is not None:
                user = self.user(entry, "user", entry.data["user"])
            updated_at = entry.timestamp("updated_at")
            did = Did(
                id=pk,
                number=number,
                status=status,
                provider=self.by_id(entry, "provider", self.providers, Provider),
                user=user,
                device=self.by_id(entry, "device", self.devices, Device),
                reseller=reseller,
                dial_plan=self.by_id(entry, "dial_plan", self.dial_plans, DialPlan),
                language=entry.text("language", max_length=50),
                comment=entry.text("comment"),
                reseller_comment=entry.text("reseller_comment"),
                call_limit=entry.integer("call_limit", default=0, maximum=2**31 - 1),
                tone_zone=entry.text("tone_zone", max_length=20),
                grace_time=entry.integer("grace_time", default=0, maximum=2**31 - 1),
                callerid_name_prefix=entry.text("callerid_name_prefix", max_length=50),
                custom_sip_header=entry.text("custom_sip_header", max_length=255),
                reserved_for_user_till=entry.timestamp("reserved_for_user_till"),
                ai_agent_compatible=entry.flag("ai_agent_compatible"),
                routes_to_openai_project_id=entry.text(
                    "routes_to_openai_project_id", max_length=255
                ),
                updated_at=updated_at if updated_at is not None else self.now,
            )
            rows.append((entry, did, entry.timestamp("created_at")))
        self.check_conflicts(rows)
        Did.objects.bulk_create([did for _, did, _ in rows], batch_size=2000)
        # created_at is auto_now_add: a historical value from the file is written afterwards,
        # and without one a DID cannot have been created after its last change.
        for _, did, created_at in rows:
            if created_at is not None:
                Did.objects.filter(pk=did.pk).update(created_at=created_at)
        Did.objects.filter(
            pk__in=[did.pk for _, did, created_at in rows if created_at is None],
            created_at__gt=F("updated_at"),
        ).update(created_at=F("updated_at"))
        self.count("dids", len(items))

    @staticmethod
    def check_conflicts(rows: list[tuple[Entry, Did, datetime | None]]) -> None:
        """Refuse ids and numbers already in the database, naming the first entry that clashes."""
        for chunk_start in range(0, len(rows), 500):
            chunk = rows[chunk_start : chunk_start + 500]
            taken_ids = set(
                Did.objects.filter(pk__in=[d.pk for _, d, _ in chunk]).values_list("pk", flat=True)
            )
            taken_numbers = set(
                Did.objects.filter(number__in=[d.number for _, d, _ in chunk]).values_list(
                    "number", flat=True
                )
            )
            for entry, did, _ in chunk:
                if did.pk in taken_ids:
                    raise entry.error(f"id {did.pk} already exists")
                if did.number in taken_numbers:
                    raise entry.error(f"did {did.number!r} already exists")


def reset_sequences() -> None:
    """After explicit ids, the next automatic id must follow the largest one (PostgreSQL)."""
    models = [
        *apps.get_app_config("accounts").get_models(),
        *apps.get_app_config("dids").get_models(),
    ]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def delete_portal_data() -> None:
    """Everything the portal holds: DIDs and what is around them, accounts, groups, settings."""
    DidHistory.objects.all().delete()
    Did.objects.all().delete()
    Device.objects.all().delete()
    DialPlan.objects.all().delete()
    Provider.objects.all().delete()
    ApiSettings.objects.all().delete()
    SystemSettings.objects.all().delete()
    apps.get_model("admin", "LogEntry").objects.all().delete()
    apps.get_model("sessions", "Session").objects.all().delete()
    # Remaining account models (audit trail and the like) that point at users go first.
    skip = {User, AccountantGroup, ApiPermissionGroup, ApiSettings, SystemSettings}
    for model in apps.get_app_config("accounts").get_models():
        if model not in skip:
            model.objects.all().delete()
    User.objects.update(owner=None)
    User.objects.all().delete()
    AccountantGroup.objects.all().delete()
    ApiPermissionGroup.objects.all().delete()


def load_scenario(
    data: Any, *, replace: bool = False, progress: Callable[[str], None] | None = None
) -> LoadSummary:
    """Load a scenario in one transaction; raises ScenarioError and writes nothing if invalid."""
    with transaction.atomic():
        if replace:
            delete_portal_data()
            if progress:
                progress("Deleted all portal data.")
        return Loader().load(data)
