"""The one filter vocabulary of DIDs: `dids_get`'s parameters, for the API and the GUI list.

`DidFilterSet` is handed a queryset that is already restricted by
`Did.objects.visible_to(account)`; filters only ever narrow it. The role rules of
the contract (§4: `search_provider` only for admins, accountants and Reseller PRO;
`search_dialplan` ignored for role *user*) live here and nowhere else.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import django_filters
from django import forms
from django.db.models import Field, Q, QuerySet

from accounts.models import User
from portal.text import is_valid_text

from .models import Did, VendorLookup

WHOLE_NUMBER = re.compile(r"[0-9]+\Z")
# Larger ids cannot exist in a bigint column; such values are valid and match nothing.
MAX_ID = 2**63 - 1


@Field.register_lookup
class LikePattern(VendorLookup):
    """Case-insensitive SQL LIKE with the value used as the whole pattern.

    Only `%` and `_` are special: no escape character (PostgreSQL's default
    escape, the backslash, is switched off with ESCAPE '').
    """

    lookup_name = "ilike_pattern"
    templates = {
        "postgresql": "UPPER({lhs}::text) LIKE UPPER({rhs}) ESCAPE ''",
        "default": "UPPER({lhs}) LIKE UPPER({rhs})",
    }


def like_pattern(value: str) -> str:
    """`%value%`, unless the value has `%` or `_`: then it is the pattern (legacy prefixes)."""
    if "%" in value or "_" in value:
        return value
    return f"%{value}%"


class ContractField(forms.Field):
    """A form field of a `dids_get` parameter; its error message is the `<what is expected>`.

    Values arrive as text (query string, form body) or, from a JSON body, as
    text already converted by the API view; anything else is malformed, and so is
    text that no database can take (`portal.text`: a NUL, a lone surrogate), for the
    list, the export and the API alike.
    """

    expected = "expected text"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not is_valid_text(value):
            raise forms.ValidationError(self.expected, code="invalid")
        return self.parse(value)

    def parse(self, value: str) -> Any:
        return value

    def invalid(self) -> forms.ValidationError:
        return forms.ValidationError(self.expected, code="invalid")


class TextField(ContractField):
    widget = forms.TextInput


class WholeNumberField(ContractField):
    expected = "expected a whole number"
    widget = forms.TextInput

    def __init__(self, *, minimum: int = 0, allow_all: bool = False, **kwargs: Any) -> None:
        self.minimum = minimum
        self.allow_all = allow_all
        if allow_all:
            self.expected = "expected a whole number or all"
        elif minimum:
            self.expected = f"expected a whole number of at least {minimum}"
        super().__init__(**kwargs)

    def parse(self, value: str) -> int | str:
        if self.allow_all and value.lower() == "all":
            return "all"
        if not WHOLE_NUMBER.match(value):
            raise self.invalid()
        digits = value.lstrip("0") or "0"
        # Beyond any id or row count: valid, and it matches nothing. Every such value
        # becomes MAX_ID + 1, so that `from - 1` is still a valid SQL OFFSET (a bigint)
        # and int() never sees thousands of digits.
        if len(digits) > len(str(MAX_ID)) or int(digits) > MAX_ID:
            number = MAX_ID + 1
        else:
            number = int(digits)
        if number < self.minimum:
            raise self.invalid()
        return number


class StatusField(ContractField):
    expected = "expected one of " + ", ".join(Did.Status.values)
    widget = forms.Select(choices=[("", "All"), *Did.Status.choices])

    def parse(self, value: str) -> str:
        status = value.lower()
        if status not in Did.Status.values:
            raise self.invalid()
        return status


class HideTerminatedWidget(forms.CheckboxInput):
    """A checkbox that submits `1` and hands the raw value to validation.

    Django's CheckboxInput turns any submitted text into a bool (`0` and `abc`
    would both become True); the contract needs `0`, `1` and malformed values apart.
    """

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs, check_test=lambda v: v in ("1", 1, True))

    def format_value(self, value: Any) -> str:
        return "1"

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class HideTerminatedField(ContractField):
    expected = "expected 0 or 1"
    widget = HideTerminatedWidget

    def parse(self, value: str) -> bool:
        if value not in ("0", "1"):
            raise self.invalid()
        return value == "1"


class ContractFilter(django_filters.Filter):
    """A filter whose field is a ContractField. With `method=`, django-filter skips
    absent or empty values (None), so a filter method only sees parsed values."""

    field_class = TextField

    def __init__(self, *args: Any, field_class: type[ContractField] | None = None, **kwargs: Any):
        # django-filter reads `field_class` from the class; taking it as an argument
        # lets one Filter class serve every parameter (the rest of kwargs go to the field).
        if field_class is not None:
            self.field_class = field_class
        super().__init__(*args, **kwargs)

    def __deepcopy__(self, memo: dict) -> ContractFilter:
        """django-filter deep-copies a FilterSet's filters for every instance (then sets
        each copy's `parent` and `model`): a shallow copy is that here, with its own
        FilterMethod, bound to the copy and so to the new FilterSet's account, never to
        another's. The rest is read-only configuration (0.1 ms of every request)."""
        new = copy.copy(self)
        new.method = self.method
        memo[id(self)] = new
        return new


def picker_widget(kind: str, none_label: str) -> forms.TextInput:
    """An id field that picker.js turns into a search by name (0 offered as `none_label`)."""
    return forms.TextInput(attrs={"data-picker": kind, "data-none-label": none_label})


def _id_filter(field: str, value: int) -> Q | None:
    """`field` equals the id; 0 means none; None when the id cannot exist."""
    if value == 0:
        return Q(**{f"{field}__isnull": True})
    if value > MAX_ID:
        return None
    return Q(**{f"{field}_id": value})


class _SharedWidgets(dict):
    """A filter form's `base_fields`, copied for each form without deep-copying every
    field's widget, choices and validators (Django's forms deep-copy `base_fields`: 0.2 ms
    of every request). Nothing changes these fields or widgets once built: a form
    validates with them and renders them, each time into new attributes."""

    def __deepcopy__(self, memo: dict) -> dict[str, forms.Field]:
        return {name: copy.copy(field) for name, field in self.items()}


class DidFilterSet(django_filters.FilterSet):
    """`dids_get`'s parameters, in the contract's table order (which is also the error order)."""

    search_did_number = ContractFilter(
        field_class=TextField, method="filter_did_number", label="DID number"
    )
    search_status = ContractFilter(field_class=StatusField, method="filter_status", label="Status")
    search_did_owner = ContractFilter(
        field_class=TextField, method="filter_did_owner", label="Owner"
    )
    # The id fields are name pickers in the GUI (static/portal/picker.js,
    # dids/views/pickers.py): the person picks a name, the form still sends the id.
    search_dialplan = ContractFilter(
        field_class=WholeNumberField,
        method="filter_dialplan",
        label="Dial plan",
        widget=picker_widget("dial-plans", "DIDs without a dial plan"),
    )
    search_user = ContractFilter(
        field_class=WholeNumberField,
        method="filter_user",
        label="User",
        widget=picker_widget("users", "DIDs without an end user"),
    )
    search_device = ContractFilter(
        field_class=WholeNumberField,
        method="filter_device",
        label="Device",
        allow_all=True,
        widget=picker_widget("devices", "DIDs without a device"),
    )
    search_provider = ContractFilter(
        field_class=WholeNumberField,
        method="filter_provider",
        label="Provider",
        widget=picker_widget("providers", "DIDs without a provider"),
    )
    search_language = ContractFilter(
        field_class=TextField, method="filter_language", label="Language"
    )
    search_hide_terminated_dids = ContractFilter(
        field_class=HideTerminatedField,
        method="filter_hide_terminated",
        label="Hide terminated DIDs",
    )
    # Windowing, not filtering: validated here in the contract's order, applied by
    # `window()` so that callers can count the matches first.
    from_ = ContractFilter(
        field_name="from",
        field_class=WholeNumberField,
        method="no_filter",
        minimum=1,
        label="From",
    )
    max_results = ContractFilter(
        field_class=WholeNumberField, method="no_filter", minimum=1, label="Max results"
    )

    class Meta:
        model = Did
        fields: list[str] = []

    def __init__(
        self, data=None, queryset=None, *, request=None, account: User | None = None, **kwargs: Any
    ) -> None:
        super().__init__(data, queryset, request=request, **kwargs)
        self.account = account if account is not None else getattr(request, "user", None)

    def get_form_class(self) -> type[forms.Form]:
        """The form class, built once per FilterSet class: its fields are the filters'
        (the same for every instance: none depends on the request), and building them
        and the class cost 0.12 ms of every request. Each form gets its own copy of
        each field, sharing the field's widget (_SharedWidgets)."""
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            form_class.base_fields = _SharedWidgets(form_class.base_fields)
            cls._form_class = form_class
        return form_class

    # --- validation --------------------------------------------------------

    def error_messages(self) -> list[str]:
        """Every malformed parameter in the contract's words (`Invalid <name>: <expected>`),
        in the contract's order: dids_get answers the first, the GUI list shows them all."""
        if not self.is_bound or self.is_valid():
            return []
        errors = self.form.errors
        return [f"Invalid {name}: {errors[name][0]}" for name in self.filters if name in errors]

    @property
    def qs(self) -> QuerySet:
        """The matching DIDs in contract order; none at all when a parameter is malformed."""
        if not hasattr(self, "_qs"):
            if self.is_bound and not self.is_valid():
                self._qs = self.queryset.none()
            else:
                qs = self.queryset.all()
                if self.is_bound:
                    qs = self.filter_queryset(qs)
                self._qs = qs.in_contract_order()
        return self._qs

    def window(self) -> tuple[int, int | None]:
        """0-based (offset, limit) from `from` and `max_results`; limit None means all."""
        data = self.form.cleaned_data if self.is_bound and self.is_valid() else {}
        start = (data.get("from") or 1) - 1
        return start, data.get("max_results")

    def windowed(self, *, final: bool = False) -> QuerySet:
        """The matching DIDs within `from`/`max_results`, in contract order.

        The window is cut from ids alone (a sliced id subquery) and the rows are then
        fetched by id: a deep `from` skips index entries instead of fully joined rows
        (PostgreSQL, 1M DIDs, from=500000: 1.4 s -> 0.3 s), and the result is still a
        plain queryset that the GUI's table can sort and paginate.

        `final=True` is for a caller that only reads the rows (dids_get): a window from
        the first DID is then a plain LIMIT on the ordered query, which streams along
        the number index (the id subquery would sort every matching row first).
        """
        qs = self.qs
        offset, stop = self._window_slice()
        if offset == 0 and stop is None:
            return qs
        if final and offset == 0:
            return qs[:stop]
        return self.queryset.filter(pk__in=self.window_ids()).in_contract_order()

    def window_ids(self) -> QuerySet:
        """The ids of the matching DIDs within `from`/`max_results`, in contract order:
        a sliced `values("pk")` to read rows by (dids.presentation.window_rows)."""
        offset, stop = self._window_slice()
        return self.qs.values("pk")[offset:stop]

    def _window_slice(self) -> tuple[int, int | None]:
        offset, limit = self.window()
        # A limit beyond any row count is no limit.
        stop = offset + limit if limit is not None and offset + limit <= MAX_ID else None
        return offset, stop

    # --- filters -------------------------------------------------------------

    def no_filter(self, qs: QuerySet, name: str, value: Any) -> QuerySet:
        return qs

    def filter_did_number(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(number__ilike_pattern=like_pattern(value))

    def filter_status(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(status=value)

    def filter_did_owner(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if "owner_name" not in qs.query.annotations:
            qs = qs.with_owner_name()
        return qs.filter(owner_name__ilike_pattern=like_pattern(value))

    def filter_dialplan(self, qs: QuerySet, name: str, value: int) -> QuerySet:
        if self.account is not None and self.account.is_end_user:
            return qs
        return self._by_id(qs, "dial_plan", value)

    def filter_user(self, qs: QuerySet, name: str, value: int) -> QuerySet:
        if value == 0:
            return qs.filter(user__isnull=True)
        if value > MAX_ID:
            return qs.none()
        return qs.filter(Q(user_id=value) | Q(reseller_id=value))

    def filter_device(self, qs: QuerySet, name: str, value: int | str) -> QuerySet:
        if value == "all":
            return qs
        return self._by_id(qs, "device", value)

    def filter_provider(self, qs: QuerySet, name: str, value: int) -> QuerySet:
        if self.account is None or not self.account.may_filter_by_provider:
            return qs  # silently ignored, as in the legacy system
        return self._by_id(qs, "provider", value)

    def filter_language(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value.lower() == "all":
            return qs
        return qs.filter(language__iexact=value)

    def filter_hide_terminated(self, qs: QuerySet, name: str, value: bool) -> QuerySet:
        return qs.exclude(status=Did.Status.TERMINATED) if value else qs

    @staticmethod
    def _by_id(qs: QuerySet, field: str, value: int) -> QuerySet:
        condition = _id_filter(field, value)
        return qs.none() if condition is None else qs.filter(condition)


# `from` is a Python keyword: the filter is declared as `from_` and renamed here,
# keeping the contract's order (it comes before max_results).
DidFilterSet.base_filters["from"] = DidFilterSet.base_filters.pop("from_")
DidFilterSet.base_filters.move_to_end("max_results")
