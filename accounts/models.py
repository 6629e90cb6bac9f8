"""Accounts, roles, groups of rights and the API settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce

from portal.statements import Statement


class Level(models.TextChoices):
    """The level of an accountant right."""

    NONE = "none", "None"
    READ = "read", "Read"
    WRITE = "write", "Write"


class MethodRight(models.TextChoices):
    """The level of an API method in an API permission group.

    A read method (`dids_get`) takes *disabled* or *read*; a write method
    (did_methods.md §1) *disabled* or *write* (`API_METHOD_LEVELS`).
    """

    DISABLED = "disabled", "Disabled"
    READ = "read", "Read"
    WRITE = "write", "Write"


# The registries below are the only places that name rights and methods: a new
# right or API method is one line here, no schema change (they are stored as JSON).
ACCOUNTANT_RIGHTS: dict[str, str] = {
    "manage_dids": "Manage DIDs",
}
# The canonical names of the API methods (an alias, e.g. `did_assign_device`, shares
# its canonical method's entry), in the order the group pages list them.
API_METHODS: dict[str, str] = {
    "dids_get": "dids_get",
    "did_create": "did_create",
    "did_device_assign": "did_device_assign",
    "did_device_unassign": "did_device_unassign",
    "did_details_update": "did_details_update",
    "did_subscription_stop": "did_subscription_stop",
    "did_close": "did_close",
    "did_terminate": "did_terminate",
    "did_make_free": "did_make_free",
    "did_delete": "did_delete",
}
READ_METHODS = frozenset({"dids_get"})


def api_method_levels(name: str) -> tuple[str, str]:
    """The two levels a method takes: *disabled* and the one that allows it."""
    allowing = MethodRight.READ if name in READ_METHODS else MethodRight.WRITE
    return (MethodRight.DISABLED, allowing)


def _validate_levels(value: object, registry: dict[str, str], choices: type[models.TextChoices]):
    if not isinstance(value, dict):
        raise ValidationError("Expected a mapping of names to levels.")
    for name, level in value.items():
        if name not in registry:
            raise ValidationError(f"Unknown name {name!r}.")
        if level not in choices.values:
            raise ValidationError(f"{name}: {level!r} is not one of {', '.join(choices.values)}.")


def validate_accountant_rights(value: object) -> None:
    _validate_levels(value, ACCOUNTANT_RIGHTS, Level)


def validate_api_methods(value: object) -> None:
    _validate_levels(value, API_METHODS, MethodRight)
    for name, level in value.items():
        if level not in api_method_levels(name):
            raise ValidationError(
                f"{name}: {level!r} is not one of {', '.join(api_method_levels(name))}."
            )


class AccountantGroup(models.Model):
    """A named set of rights for accountants; every right defaults to *none*."""

    name = models.CharField(max_length=100, unique=True)
    rights = models.JSONField(default=dict, blank=True, validators=[validate_accountant_rights])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def right(self, name: str) -> str:
        if name not in ACCOUNTANT_RIGHTS:
            raise KeyError(name)
        return (self.rights or {}).get(name, Level.NONE)

    @property
    def manage_dids(self) -> str:
        return self.right("manage_dids")


class ApiPermissionGroup(models.Model):
    """Per-method API rights for API-restricted accounts; every method defaults to disabled."""

    name = models.CharField(max_length=100, unique=True)
    methods = models.JSONField(default=dict, blank=True, validators=[validate_api_methods])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def method(self, name: str) -> str:
        if name not in API_METHODS:
            raise KeyError(name)
        return (self.methods or {}).get(name, MethodRight.DISABLED)

    def allows(self, name: str) -> bool:
        return self.method(name) == api_method_levels(name)[1]


class PortalUserManager(UserManager):
    def system_administrator(self) -> User | None:
        return self.filter(is_system_administrator=True).first()

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        """`createsuperuser` makes an admin of the portal too (and the system
        administrator if there is none yet), not a plain user who can open /admin/ only."""
        extra_fields.setdefault("role", User.Role.ADMIN)
        if extra_fields["role"] == User.Role.ADMIN:
            extra_fields.setdefault(
                "is_system_administrator", not self.filter(is_system_administrator=True).exists()
            )
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """An account of the portal. Every account has exactly one role."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        ACCOUNTANT = "accountant", "Accountant"
        RESELLER = "reseller", "Reseller"
        USER = "user", "User"

    # Usernames are compared exactly (case-sensitive), as MOR does for `u`.
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.USER)
    owner = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_accounts",
        help_text="The reseller that owns this account; empty means the system.",
    )
    is_system_administrator = models.BooleanField(
        "system administrator",
        default=False,
        help_text="Its display name is the owner shown for DIDs nobody holds.",
    )
    own_providers = models.BooleanField("Reseller PRO (own providers)", default=False)
    api_restricted = models.BooleanField("API restricted", default=False)
    accountant_group = models.ForeignKey(
        AccountantGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    api_permission_group = models.ForeignKey(
        ApiPermissionGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name="API permission group",
    )
    # Per-account GUI preferences.
    hide_terminated_dids = models.BooleanField(default=False)
    items_per_page = models.PositiveIntegerField(
        default=50, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )

    objects = PortalUserManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["admin", "accountant", "reseller", "user"]),
                name="user_role_valid",
            ),
            models.UniqueConstraint(
                fields=["is_system_administrator"],
                condition=Q(is_system_administrator=True),
                name="one_system_administrator",
            ),
            models.CheckConstraint(
                condition=Q(api_restricted=False) | Q(role__in=["accountant", "user"]),
                name="only_users_and_accountants_api_restricted",
            ),
            models.CheckConstraint(
                condition=Q(is_system_administrator=False) | Q(role="admin"),
                name="system_administrator_is_admin",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def display_name(self) -> str:
        return display_name(self.first_name, self.last_name, self.username)

    # Role helpers keep string comparisons out of views and templates.
    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_accountant(self) -> bool:
        return self.role == self.Role.ACCOUNTANT

    @property
    def is_reseller(self) -> bool:
        return self.role == self.Role.RESELLER

    @property
    def is_end_user(self) -> bool:
        return self.role == self.Role.USER

    def accountant_right(self, name: str) -> str:
        if not self.is_accountant or self.accountant_group is None:
            return Level.NONE
        return self.accountant_group.right(name)

    @property
    def can_read_dids(self) -> bool:
        """May see DIDs system-wide or its own: every role but an accountant without the right."""
        if not self.is_active:
            return False
        if self.is_accountant:
            return self.accountant_right("manage_dids") in (Level.READ, Level.WRITE)
        return self.role in (self.Role.ADMIN, self.Role.RESELLER, self.Role.USER)

    @property
    def sees_all_dids(self) -> bool:
        return self.is_active and (self.is_admin or (self.is_accountant and self.can_read_dids))

    @property
    def manages_all_dids(self) -> bool:
        """Changes every DID, for the system: admins, and accountants with *Manage DIDs* write."""
        if not self.is_active:
            return False
        return self.is_admin or (
            self.is_accountant and self.accountant_right("manage_dids") == Level.WRITE
        )

    @property
    def may_manage_dids(self) -> bool:
        """Changes some DIDs: the system's side (all), or a reseller (those it holds)."""
        return self.manages_all_dids or (self.is_active and self.is_reseller)

    @property
    def may_filter_by_provider(self) -> bool:
        return self.is_admin or self.is_accountant or (self.is_reseller and self.own_providers)

    @property
    def settings_owner(self) -> User | None:
        """Whose API settings apply: a reseller its own, a reseller's user its owner's."""
        if self.is_reseller:
            return self
        if self.is_end_user and self.owner_id is not None:
            return self.owner
        return None

    # What the administration pages let an account do; the navigation reads these too.
    @property
    def may_list_accounts(self) -> bool:
        """Admins list every account; a reseller lists the users it owns."""
        return self.is_active and (self.is_admin or self.is_reseller)

    @property
    def may_edit_api_settings(self) -> bool:
        """Admins edit the system's (and any reseller's) API settings; a reseller its own."""
        return self.is_active and (self.is_admin or self.is_reseller)

    @property
    def may_use_hash_tool(self) -> bool:
        """Only the owners of a secret: admins (the system's) and resellers (their own).

        For an ordinary request the hash is sha1(secret) whatever `u` is, so the hash
        is a credential for every account under the same settings: showing it to a
        system-owned user would hand it an admin's API access (and a reseller's user
        its reseller's). Their integrations get the hash from the operator.
        """
        return self.is_active and (self.is_admin or self.is_reseller)

    @property
    def writes_reseller_comment(self) -> bool:
        """Resellers and their users see and write the reseller's comment; the rest the main one."""
        return self.settings_owner is not None

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.api_restricted and self.role not in (self.Role.ACCOUNTANT, self.Role.USER):
            errors["api_restricted"] = "Only users and accountants can be API restricted."
        if self.is_system_administrator and self.role != self.Role.ADMIN:
            errors["is_system_administrator"] = "Only an admin can be the system administrator."
        if self.owner_id is not None:
            if self.role not in (self.Role.USER,):
                errors["owner"] = "Only users can be owned by a reseller."
            elif self.owner is not None and not self.owner.is_reseller:
                errors["owner"] = "The owner must be a reseller."
        if self.accountant_group_id is not None and self.role != self.Role.ACCOUNTANT:
            errors["accountant_group"] = "Only accountants belong to an accountant group."
        if errors:
            raise ValidationError(errors)


def display_name(first_name: str, last_name: str, username: str) -> str:
    """`first_name last_name` trimmed; the username when both are empty."""
    # Spaces only, as SQL TRIM does, so dids.models.display_name_sql agrees with it.
    name = f"{first_name} {last_name}".strip(" ")
    return name or username


class SystemSettings(models.Model):
    """Settings of the whole system: a single row (pk=1)."""

    days_for_did_close = models.PositiveIntegerField(
        "Days for DID close",
        default=90,
        validators=[MinValueValidator(0), MaxValueValidator(1000)],
        help_text="How long a closed DID stays reserved for its user (0 to 1000).",
    )
    resellers_can_add_their_own_dids = models.BooleanField(
        "Resellers can add their own DIDs",
        default=False,
        help_text="Resellers may create DIDs (pages and did_create), on their own providers only.",
    )

    class Meta:
        verbose_name = "system settings"
        verbose_name_plural = "system settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(days_for_did_close__lte=1000), name="days_for_did_close_range"
            ),
            models.CheckConstraint(condition=Q(pk=1), name="system_settings_singleton"),
        ]

    def __str__(self) -> str:
        return "System settings"

    @classmethod
    def load(cls) -> SystemSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


def _or_defaults(get: Callable[[], ApiSettings], reseller: User | None) -> ApiSettings:
    """The stored settings, or unsaved defaults when the owner has no row."""
    try:
        return get()
    except ApiSettings.DoesNotExist:
        return ApiSettings(reseller=reseller)


class ApiSettingsQuerySet(models.QuerySet):
    def of(self, reseller: User | None) -> ApiSettings:
        """The settings of the system (None) or of a reseller, read through this
        queryset (e.g. select_for_update()); unsaved defaults when it has no row.
        get(): one row per owner at most (one_api_settings_per_owner)."""
        lookup = {"reseller__isnull": True} if reseller is None else {"reseller": reseller}
        return _or_defaults(lambda: self.get(**lookup), reseller)


class ApiSettingsManager(models.Manager.from_queryset(ApiSettingsQuerySet)):  # type: ignore[misc]
    # Every API request reads these, so they are compiled once (portal.statements).
    def system(self) -> ApiSettings:
        return _or_defaults(_SYSTEM_SETTINGS.get, None)

    def for_reseller(self, reseller: User) -> ApiSettings:
        return _or_defaults(partial(_RESELLER_SETTINGS.get, reseller=reseller.pk), reseller)


class ApiSettings(models.Model):
    """API settings of the system (reseller empty) or of one reseller.

    The secret key is stored as given: the API hash is SHA1 over the request's
    parameters and this secret, so the portal must be able to recompute it.
    It is never shown back in full, logged or listed.
    """

    reseller = models.OneToOneField(
        User,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_settings",
        limit_choices_to={"role": User.Role.RESELLER},
    )
    allow_api = models.BooleanField("Allow API", default=False)
    allow_get_api = models.BooleanField(
        "Allow GET API",
        default=False,
        help_text="Good for testing, unsafe in production. Only the system setting counts.",
    )
    api_secret_key = models.CharField("API Secret Key", max_length=255, blank=True)
    disable_hash_checking = models.BooleanField("Disable hash checking", default=False)

    objects = ApiSettingsManager()

    class Meta:
        verbose_name = "API settings"
        verbose_name_plural = "API settings"
        constraints = [
            # One row for the system (reseller NULL) and one per reseller.
            models.UniqueConstraint(
                Coalesce("reseller", Value(0)), name="one_api_settings_per_owner"
            ),
        ]

    def __str__(self) -> str:
        return f"API settings of {self.reseller or 'the system'}"

    @property
    def masked_secret(self) -> str:
        return mask_secret(self.api_secret_key)

    def clean(self) -> None:
        super().clean()
        if self.allow_api and not self.api_secret_key:
            raise ValidationError(
                {"allow_api": "Allow API cannot be switched on without an API Secret Key."}
            )
        if self.reseller_id is not None and not self.reseller.is_reseller:
            raise ValidationError({"reseller": "Only resellers have API settings of their own."})


def mask_secret(secret: str) -> str:
    """Show that a secret is set without revealing it (nor its length)."""
    if not secret:
        return ""
    return "•" * 8 + (secret[-2:] if len(secret) >= 12 else "")


_SYSTEM_SETTINGS = Statement(lambda: ApiSettings.objects.filter(reseller__isnull=True))
_RESELLER_SETTINGS = Statement(
    lambda reseller: ApiSettings.objects.filter(reseller_id=reseller),
    reseller=ApiSettings._meta.get_field("reseller"),
)


class AuditEntry(models.Model):
    """One change to an account, a group or a setting: who, when, what (old → new).

    Secrets and passwords are never stored here, only the fact that they changed.
    Entries are written by accounts.services (and the Django admin) and never edited.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The actor's name is copied so that the entry stays readable if the account goes.
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=50, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    # A list of {"field": label, "old": text, "new": text} or {"field": label, "note": text}.
    changes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        who = self.actor_name or "system"
        return f"{who} {self.get_action_display().lower()} {self.object_repr}"


class ApiKnownClient(models.Model):
    """A client address from which an account authenticated to the API (dids_get.md §7).

    For 30 days after its last success there, the lock for that `u` does not apply to
    that address: nobody can lock an integration out by failing its `u` from
    elsewhere. Written by accounts.authentication, at most once an hour per client.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_known_clients")
    # REMOTE_ADDR as the server gives it (an IPv4 or IPv6 address).
    address = models.CharField(max_length=64)
    last_success_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "address"], name="api_known_client_once")
        ]
        verbose_name = "API known client"

    def __str__(self) -> str:
        return f"{self.user.username} from {self.address}"
