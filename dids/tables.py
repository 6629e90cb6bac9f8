"""The DIDs list as a django-tables2 table: the contract's elements as columns.

Which columns a viewer gets comes from `dids.presentation.role_elements` and what a
cell shows from `dids.presentation (Presenter)`, so the list never shows a column
or a value that `dids_get` hides from the same account. Sorting happens in the
database (django-tables2 hands each column the queryset), always with the id as
the last key so that pages never overlap or skip rows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from html import escape
from itertools import cycle
from typing import Any

import django_tables2 as tables
from django.db import connections, models
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.expressions import BaseExpression, Expression
from django.db.models.functions import Collate, Concat
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User

from .models import Did, display_name_sql
from .presentation import Presenter, role_elements, row_of

# The largest page a person (or a crafted `per_page`) may ask for; export is for more.
MAX_PAGE_SIZE = 1000
# Shown in a cell whose element is absent for that DID (e.g. no owner for reseller stock).
ABSENT = "—"

SortKeys = Callable[[QuerySet, User], list[Expression]]


def number_sort_key(queryset: QuerySet) -> Expression:
    """The DID number as the contract orders it: by code point ("C" collation)."""
    if connections[queryset.db].vendor == "postgresql":
        return Collate("number", "C")
    return F("number")  # SQLite's BINARY collation is code point order already


def device_display_sql() -> Expression:
    """SQL twin of `dids.models.device_display`: `TYPE/name`, the extension for fax or no name."""
    label = Case(
        When(Q(device__type__iexact="FAX") | Q(device__name=""), then=F("device__extension")),
        default=F("device__name"),
    )
    return Concat(F("device__type"), Value("/"), label, output_field=models.CharField())


def call_limit_sort_key() -> Expression:
    # 0 means Unlimited, which belongs after every real limit, not before.
    return Case(
        When(call_limit=0, then=Value(2**31)),
        default=F("call_limit"),
        output_field=models.BigIntegerField(),
    )


SORT_KEYS: dict[str, SortKeys] = {
    "id": lambda qs, viewer: [F("id")],
    "did": lambda qs, viewer: [number_sort_key(qs)],
    "provider": lambda qs, viewer: [F("provider__name")],
    "language": lambda qs, viewer: [F("language")],
    # Labels are the capitalised values, so sorting by value sorts by what is shown.
    "status": lambda qs, viewer: [F("status")],
    "reseller": lambda qs, viewer: [display_name_sql("reseller__")],
    "owner": lambda qs, viewer: [F("owner_name")],
    "device": lambda qs, viewer: [device_display_sql()],
    "dial_plan": lambda qs, viewer: [F("dial_plan__name"), F("dial_plan__type")],
    "simultaneous_call_limit": lambda qs, viewer: [call_limit_sort_key()],
    "comment": lambda qs, viewer: [
        F("reseller_comment") if viewer.writes_reseller_comment else F("comment")
    ],
    "tone_zone": lambda qs, viewer: [F("tone_zone")],
}


def sorted_by(queryset: QuerySet, keys: list[Expression], descending: bool) -> QuerySet:
    """Order by the keys then the id; empty values first ascending, last descending
    (the same on PostgreSQL and SQLite, which differ in where NULLs go by default)."""
    expressions: list[BaseExpression] = []
    for key in [*keys, F("id")]:
        expressions.append(key.desc(nulls_last=True) if descending else key.asc(nulls_first=True))
    return queryset.order_by(*expressions)


# The markup of the cells that are more than text, shared by the columns' render()
# and DidTable.body_html(), the list's fast path: plain strings with every value escaped
# (html.escape, which Django's escape wraps), marked safe by their callers.
def _number_html(url: str, query: str, number: str) -> str:
    return f'<a href="{url}{escape(query)}">{escape(number)}</a>'


def _status_html(status: str, label: str) -> str:
    return f'<span class="did-status did-status-{escape(status)}">{escape(label)}</span>'


def _comment_html(text: str) -> str:
    # Full text, as the API gives it; the stylesheet clips long ones, the title shows all.
    text = escape(text)
    return f'<span class="did-comment" title="{text}">{text}</span>'


def _checkbox_html(pk: int, number: str) -> str:
    return (
        f'<input type="checkbox" name="_selected_action" value="{pk}" class="action-select"'
        f' aria-label="Select DID {escape(number)}" />'
    )


def detail_url_of() -> Callable[[int], str]:
    """`reverse("dids:detail", args=[pk])` for many pks, reversed once."""
    marker = 987654321
    head, tail = reverse("dids:detail", args=[marker]).split(str(marker))
    return lambda pk: f"{head}{pk}{tail}"


class ElementColumn(tables.Column):
    """One contract element as a column; the value comes from dids.presentation."""

    def __init__(self, element: str, **kwargs: Any) -> None:
        self.element = element
        # The accessor is the pk (never empty) so that `render` is called for every
        # row and decides itself between a value and ABSENT.
        kwargs.setdefault("accessor", "pk")
        kwargs.setdefault("attrs", {"td": {"class": f"col-{element}"}, "th": {}})
        super().__init__(**kwargs)

    def render(self, record: Did, table: DidTable) -> str:
        # No value, whether the API leaves the element out or sends it empty (docs/gui.md).
        return table.elements(record).get(self.element) or ABSENT

    def value(self, record: Did, table: DidTable) -> str:
        return self.render(record, table)


class DidNumberColumn(ElementColumn):
    def render(self, record: Did, table: DidTable) -> str:
        url = reverse("dids:detail", args=[record.pk])
        return mark_safe(_number_html(url, table.detail_query, record.number))  # noqa: S308

    def value(self, record: Did, table: DidTable) -> str:
        return record.number


class StatusColumn(ElementColumn):
    def render(self, record: Did, table: DidTable) -> str:
        return mark_safe(_status_html(record.status, record.status_label))  # noqa: S308

    def value(self, record: Did, table: DidTable) -> str:
        return record.status_label


class CommentColumn(ElementColumn):
    def render(self, record: Did, table: DidTable) -> str:
        text = table.elements(record).get(self.element)
        if text is None:
            return ABSENT
        return mark_safe(_comment_html(text))  # noqa: S308


class DidTable(tables.Table):
    """The DIDs list. Construct with `viewer=`: the columns depend on the viewer's role;
    `selectable=True` adds the leading checkbox column of bulk actions (dids.views.bulk)."""

    # Posted as `_selected_action`, the Django admin's name; static/dids/bulk.js drives
    # the header checkbox (hidden without JavaScript, where it could do nothing).
    selection = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th": {"class": "action-checkbox-column"},
            "td": {"class": "action-checkbox"},
            "th__input": {
                "id": "action-toggle",
                "hidden": "hidden",
                "aria-label": "Select every DID on this page",
            },
            "td__input": {
                "name": "_selected_action",
                "class": "action-select",
                "aria-label": lambda record: f"Select DID {record.number}",
            },
        },
    )
    id = ElementColumn("id", verbose_name="ID")
    did = DidNumberColumn("did", verbose_name="DID")
    provider = ElementColumn("provider", verbose_name="Provider")
    language = ElementColumn("language", verbose_name="Language")
    status = StatusColumn("status", verbose_name="Status")
    reseller = ElementColumn("reseller", verbose_name="Reseller")
    owner = ElementColumn("owner", verbose_name="Owner")
    device = ElementColumn("device", verbose_name="Device")
    dial_plan = ElementColumn("dial_plan", verbose_name="Dial plan")
    simultaneous_call_limit = ElementColumn("simultaneous_call_limit", verbose_name="Call limit")
    comment = CommentColumn("comment", verbose_name="Comment")
    tone_zone = ElementColumn("tone_zone", verbose_name="Tone zone")

    class Meta:
        model = Did
        fields: tuple[str, ...] = ()
        template_name = "dids/_table.html"
        attrs = {"id": "result_list", "class": "did-table"}
        row_attrs = {"data-id": lambda record: record.pk}
        empty_text = "No DIDs found"
        order_by_field = "sort"
        page_field = "page"
        per_page_field = "per_page"

    def __init__(
        self, data: QuerySet, *, viewer: User, selectable: bool = False, **kwargs: Any
    ) -> None:
        self.viewer = viewer
        self.allowed = role_elements(viewer)
        # A role never gets a column for an element that the API hides from it.
        hidden = [name for name in self.base_columns if self._element(name) not in self.allowed]
        if selectable:  # the checkbox column is no element: always in `hidden` above
            hidden.remove("selection")
        kwargs["exclude"] = (*kwargs.get("exclude", ()), *hidden)
        self._elements: dict[int, dict[str, str]] = {}
        self._presenter = Presenter(viewer, self.allowed)
        super().__init__(data, **kwargs)

    @cached_property
    def detail_query(self) -> str:
        """The list's query string, carried on each DID link: the DID page leads back to
        this very list and to its previous and next DID (dids/views/did_page.py)."""
        request = getattr(self, "request", None)
        query = request.GET.urlencode() if request is not None else ""
        return f"?{query}" if query else ""

    @classmethod
    def _element(cls, name: str) -> str:
        column = cls.base_columns[name]
        return column.element if isinstance(column, ElementColumn) else name

    def elements(self, did: Did) -> dict[str, str]:
        """The row's elements (dids.presentation), computed once per row for all its cells."""
        if did.pk not in self._elements:
            self._elements[did.pk] = self._presenter.elements(row_of(did))
        return self._elements[did.pk]

    def body_html(self) -> SafeString:
        """The page's rows as HTML: what django-tables2's generic template writes
        (`{% for row in table.paginated_rows %}…`, the tests hold the two equal), in
        one pass over the rows instead of a template round per cell: a 100-row page
        is otherwise mostly the CPU of django-tables2's per-cell machinery."""
        columns = [
            (column.name, getattr(column.column, "element", None), column.attrs["td"].as_html())
            for column in self.columns
        ]
        query = self.detail_query
        detail_url = detail_url_of()
        lines: list[str] = []
        present = self._presenter.elements
        for parity, did in zip(cycle(("even", "odd")), self.paginated_rows.data, strict=False):
            elements = present(row_of(did))  # once per row: no per-cell cache needed
            pk = did.pk
            lines.append(f'<tr data-id="{pk}" class="{parity}">')
            for name, element, td in columns:
                if name == "selection":
                    cell = _checkbox_html(pk, did.number)
                elif name == "did":
                    cell = _number_html(detail_url(pk), query, did.number)
                elif name == "status":
                    cell = _status_html(did.status, elements["status"])
                elif name == "comment" and elements.get("comment") is not None:
                    cell = _comment_html(elements["comment"])
                else:
                    cell = escape(elements.get(element) or ABSENT)
                lines.append(f"<td {td}>{cell}</td>")
            lines.append("</tr>")
        return mark_safe("".join(lines))  # noqa: S308 -- every value above is escaped

    def paginate(self, *args: Any, per_page: int | None = None, **kwargs: Any) -> None:
        # `per_page` may come from the query string: keep it within what a page can hold.
        if per_page is not None:
            per_page = max(1, min(per_page, MAX_PAGE_SIZE))
        super().paginate(*args, per_page=per_page, **kwargs)


def _order_method(name: str) -> Callable[[DidTable, QuerySet, bool], tuple[QuerySet, bool]]:
    def order(self: DidTable, queryset: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return sorted_by(queryset, SORT_KEYS[name](queryset, self.viewer), is_descending), True

    order.__name__ = f"order_{name}"
    return order


# django-tables2's `order_<column>` hook, one per column, from SORT_KEYS.
for _name in SORT_KEYS:
    setattr(DidTable, f"order_{_name}", _order_method(_name))
