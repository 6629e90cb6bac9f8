"""DIDs and the things around them: providers, devices, dial plans, history."""

from __future__ import annotations

import functools
import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import connections, models
from django.db.models import Case, F, Field, Lookup, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Collate, NullIf, Trim

from accounts.models import Level, User

DID_NUMBER_VALIDATOR = RegexValidator(
    r"^[0-9][0-9A-Za-z]*\Z",
    "A DID number is digits, optionally followed by letters after a leading digit.",
)


def writes_every_did(account: User | None) -> bool:
    """Admins, and accountants whose group grants *Manage DIDs* write (domain §1)."""
    if account is None or not getattr(account, "is_authenticated", False) or not account.is_active:
        return False
    if account.is_admin:
        return True
    return account.is_accountant and account.accountant_right("manage_dids") == Level.WRITE


def _active(account: User | None) -> bool:
    return account is not None and getattr(account, "is_authenticated", False) and account.is_active


class ProviderQuerySet(models.QuerySet):
    """Who sees and who changes providers (domain §1, §3). Deny by default."""

    def visible_to(self, account: User | None) -> ProviderQuerySet:
        if not _active(account):
            return self.none()
        if account.sees_all_dids:
            return self.all()
        if account.is_reseller and account.own_providers:
            return self.filter(owner=account)
        return self.none()

    def manageable_by(self, account: User | None) -> ProviderQuerySet:
        if writes_every_did(account):
            return self.all()
        if _active(account) and account.is_reseller and account.own_providers:
            return self.filter(owner=account)
        return self.none()


class DeviceQuerySet(models.QuerySet):
    """A reseller has its own users' devices; a user reads its own (domain §1, §3)."""

    def visible_to(self, account: User | None) -> DeviceQuerySet:
        if not _active(account):
            return self.none()
        if account.sees_all_dids:
            return self.all()
        if account.is_reseller:
            return self.filter(user__owner=account)
        if account.is_end_user:
            return self.filter(user=account)
        return self.none()

    def manageable_by(self, account: User | None) -> DeviceQuerySet:
        if writes_every_did(account):
            return self.all()
        if _active(account) and account.is_reseller:
            return self.filter(user__owner=account)
        return self.none()


class DialPlanQuerySet(models.QuerySet):
    """A reseller has its own dial plans; users never see dial plans (contract §5)."""

    def visible_to(self, account: User | None) -> DialPlanQuerySet:
        if not _active(account):
            return self.none()
        if account.sees_all_dids:
            return self.all()
        if account.is_reseller:
            return self.filter(owner=account)
        return self.none()

    def manageable_by(self, account: User | None) -> DialPlanQuerySet:
        if writes_every_did(account):
            return self.all()
        if _active(account) and account.is_reseller:
            return self.filter(owner=account)
        return self.none()


class Provider(models.Model):
    """The carrier a DID comes from; owned by the system or by a Reseller PRO."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="providers",
        help_text="Empty for the system; a Reseller PRO for its own providers.",
    )

    objects = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Device(models.Model):
    """A user's endpoint."""

    type = models.CharField(max_length=20, help_text="SIP, IAX2, FAX, …")
    name = models.CharField(max_length=100, blank=True)
    extension = models.CharField(max_length=50, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="devices"
    )

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["type", "name", "id"]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        return device_display(self.type, self.name, self.extension)


def device_display(type_: str, name: str, extension: str) -> str:
    """`TYPE/name`; a fax device or one without a name shows its extension instead."""
    label = extension if type_.upper() == "FAX" or not name else name
    return f"{type_}/{label}"


class DialPlan(models.Model):
    class Type(models.TextChoices):
        CALLINGCARD = "callingcard"
        AUTHBYPIN = "authbypin"
        CALLBACK = "callback"
        PBXFUNCTION = "pbxfunction"
        IVR = "ivr"
        RINGGROUP = "ringgroup"
        QUEUE = "queue"
        QUICKFORWARDDIDS = "quickforwarddids"

    name = models.CharField(max_length=100)
    type = models.CharField(max_length=20, choices=Type.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dial_plans",
    )

    objects = DialPlanQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    type__in=[
                        "callingcard",
                        "authbypin",
                        "callback",
                        "pbxfunction",
                        "ivr",
                        "ringgroup",
                        "queue",
                        "quickforwarddids",
                    ]
                ),
                name="dial_plan_type_valid",
            )
        ]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        return dial_plan_display(self.name, self.type)


def dial_plan_display(name: str, type_: str) -> str:
    return f"{name} ({type_})"


class Joined(models.Func):
    """Text joined with SQL's `||` (PostgreSQL and SQLite alike). For columns that are
    never NULL it is Concat's result; where a LEFT JOIN found no row it is NULL (Concat's
    would be '', which display_name_sql turns into NULL all the same). Concat writes a
    COALESCE and casts per pair at every compile: a quarter of a listing query's."""

    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = models.CharField()


def display_name_sql(prefix: str) -> Coalesce:
    """SQL twin of `accounts.models.display_name` for the account at `prefix`."""
    full = Trim(Joined(F(f"{prefix}first_name"), Value(" "), F(f"{prefix}last_name")))
    return Coalesce(NullIf(full, Value("")), F(f"{prefix}username"))


def system_administrator_name_sql() -> Coalesce:
    admin = User.objects.filter(is_system_administrator=True).annotate(display=display_name_sql(""))
    return Coalesce(Subquery(admin.values("display")[:1]), Value(""))


class VendorLookup(Lookup):
    """A lookup whose SQL is a template per database vendor (`{lhs}`, `{rhs}`), with
    "default" for the others; the parameters are the sides' own, left then right."""

    templates: dict[str, str]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        template = self.templates.get(connection.vendor, self.templates["default"])
        return template.format(lhs=lhs, rhs=rhs), [*lhs_params, *rhs_params]


@Field.register_lookup
class InWindow(VendorLookup):
    """`pk__in_window=<subquery of ids>`: the value is in what a (sliced) subquery selects.

    On PostgreSQL `= ANY(ARRAY(subquery))`: the subquery runs first, once (an InitPlan),
    and its ids are looked up through the index; the planner does not turn it into a
    join, so the query may keep its written join order (dids.streaming.fixed_join_order)
    and still start from the window's few ids. Elsewhere `IN (subquery)`.
    """

    lookup_name = "in_window"
    templates = {"postgresql": "{lhs} = ANY(ARRAY{rhs})", "default": "{lhs} IN {rhs}"}


@functools.cache
def owner_name_sql() -> Case:
    """The `owner` element in SQL. Built once: every listing uses it, and building the
    expression tree (with its subquery) cost about a millisecond of each request's CPU.
    Sharing it is safe: a queryset resolves an annotation into a copy of its own."""
    return Case(
        When(user__isnull=False, then=display_name_sql("user__")),
        When(reseller__isnull=True, then=system_administrator_name_sql()),
        default=Value(None),
        output_field=models.CharField(),
    )


class DidQuerySet(models.QuerySet):
    def visible_to(self, account: User | None) -> DidQuerySet:
        """The only rule of which DIDs an account may see (contract §6). Deny by default."""
        if account is None or not getattr(account, "is_authenticated", False):
            return self.none()
        if not account.is_active:
            return self.none()
        if account.sees_all_dids:
            return self.all()
        if account.is_reseller:
            return self.filter(reseller=account)
        if account.is_end_user:
            return self.filter(user=account)
        return self.none()

    def manageable_by(self, account: User | None) -> DidQuerySet:
        """The DIDs an account may change (beside `visible_to`, never wider): admins and
        accountants with *Manage DIDs* write every DID, a reseller those it holds, anyone
        else none. What it may do to each is the lifecycle's table (dids.lifecycle)."""
        if account is None or not getattr(account, "is_authenticated", False):
            return self.none()
        if account.manages_all_dids:
            return self.all()
        if account.may_manage_dids:  # a reseller
            return self.filter(reseller=account)
        return self.none()

    def with_owner_name(self) -> DidQuerySet:
        """Annotate `owner_name`: what the `owner` element shows, NULL where it is absent."""
        return self.annotate(owner_name=owner_name_sql())

    def in_contract_order(self) -> DidQuerySet:
        """By number compared by code point (PostgreSQL's "C" collation), then id.

        Numbers are unique (a constraint), so the id never decides and the SQL leaves it
        out: with it PostgreSQL sorts every row a deep window passes by (number, id) again
        (1M DIDs, `from=500000`, with the covering index did_number_id: 88 -> 36 ms)."""
        if connections[self.db].vendor == "postgresql":
            return self.order_by(Collate("number", "C"))
        # SQLite compares text with BINARY collation: UTF-8 byte order is code point order.
        return self.order_by("number")

    def for_listing(self) -> DidQuerySet:
        """Everything a list row shows, in one query."""
        return self.select_related(
            "provider", "user", "device", "reseller", "dial_plan"
        ).with_owner_name()


class Did(models.Model):
    class Status(models.TextChoices):
        FREE = "free", "Free"
        RESERVED = "reserved", "Reserved"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"
        TERMINATED = "terminated", "Terminated"

    number = models.CharField("DID", max_length=50, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.FREE)
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="dids"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dids",
        verbose_name="end user",
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="dids"
    )
    reseller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reseller_dids",
        limit_choices_to={"role": "reseller"},
    )
    dial_plan = models.ForeignKey(
        DialPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="dids"
    )
    language = models.CharField(max_length=50, blank=True)
    comment = models.TextField(blank=True)
    reseller_comment = models.TextField(blank=True)
    call_limit = models.PositiveIntegerField(
        "simultaneous call limit", default=0, help_text="0 means unlimited."
    )
    tone_zone = models.CharField(max_length=20, blank=True)
    grace_time = models.PositiveIntegerField(default=0, help_text="Seconds.")
    callerid_name_prefix = models.CharField("CallerID name prefix", max_length=50, blank=True)
    custom_sip_header = models.CharField("custom SIP header", max_length=255, blank=True)
    reserved_for_user_till = models.DateTimeField(null=True, blank=True)
    ai_agent_compatible = models.BooleanField("AI-agent compatible", default=False)
    routes_to_openai_project_id = models.CharField(
        "VoiceAI routing target", max_length=255, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    objects = DidQuerySet.as_manager()

    class Meta:
        verbose_name = "DID"
        verbose_name_plural = "DIDs"
        ordering = ["number", "id"]
        indexes = [
            # A window of ids in contract order (dids_get's `from`, the list's deep pages:
            # `SELECT id … ORDER BY number OFFSET n`) is read from these indexes alone, on
            # PostgreSQL, with the id carried in them (INCLUDE; SQLite builds them without
            # it): 1M DIDs, `from=500000`, 313 -> 43 ms; with `search_status`, 182 -> 21 ms.
            models.Index(fields=["number"], include=["id"], name="did_number_id"),
            # Also serves a reseller's number blocks from the index alone (status in it).
            models.Index(
                fields=["reseller", "number", "status"],
                include=["id"],
                name="did_reseller_number_status",
            ),
            models.Index(fields=["user", "number"], name="did_user_number"),
            models.Index(fields=["status", "number"], include=["id"], name="did_status_number"),
            models.Index(
                fields=["reserved_for_user_till"],
                condition=Q(status="closed"),
                name="did_closed_till",
            ),
            models.Index(fields=["device"], name="did_device"),
            models.Index(fields=["dial_plan"], name="did_dial_plan"),
            models.Index(fields=["provider"], name="did_provider"),
            # The home page (dids/overview.py): counts by status, reseller, user and provider
            # from the index alone, the DIDs added per month, the last changed.
            models.Index(fields=["reseller", "status", "user", "provider"], name="did_overview"),
            models.Index(fields=["created_at"], name="did_created"),
            models.Index(fields=["reseller", "created_at"], name="did_reseller_created"),
            models.Index(fields=["updated_at"], name="did_updated"),
            models.Index(fields=["reseller", "updated_at"], name="did_reseller_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["free", "reserved", "active", "closed", "terminated"]),
                name="did_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def status_label(self) -> str:
        return self.Status(self.status).label

    @property
    def call_limit_display(self) -> str:
        return call_limit_display(self.call_limit)

    def comment_for(self, account: User) -> str:
        """The comment the account's side writes (contract §5)."""
        return self.reseller_comment if account.writes_reseller_comment else self.comment


def call_limit_display(limit: int) -> str:
    return "Unlimited" if limit == 0 else str(limit)


class DidHistory(models.Model):
    """One change to a DID: who, when, from where, what."""

    class Source(models.TextChoices):
        GUI = "gui", "GUI"
        API = "api", "API"
        IMPORT = "import", "Import"
        SYSTEM = "system", "System"

    did = models.ForeignKey(Did, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    address = models.CharField("client address", max_length=45, blank=True)
    action = models.CharField(max_length=50)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "DID history"

    def __str__(self) -> str:
        return f"{self.did} {self.action} at {self.at:%Y-%m-%d %H:%M:%S}"


class DidImport(models.Model):
    """A CSV file uploaded for import, with the dry run computed for it.

    "Import" applies the plan only when a fresh dry run of the same file, against the
    data as it is then, gives the same plan (same digest); otherwise the new plan is
    stored and shown instead (dids.imports). Kept for a day.
    """

    class State(models.TextChoices):
        PLANNED = "planned", "Dry run"
        APPLYING = "applying", "Importing"
        APPLIED = "applied", "Imported"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    filename = models.CharField(max_length=255, blank=True)
    content = models.BinaryField()
    file_digest = models.CharField(max_length=64)
    plan = models.JSONField(default=dict)
    plan_digest = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNED)
    applied_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename or 'import'} ({self.get_state_display()})"
