"""Forms of the administration pages and the sign-in.

Forms only parse input; the rules live in accounts.services, which raise
ValidationError keyed by these forms' field names (see `add_service_errors`).
"""

from __future__ import annotations

import json
import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, QueryDict

from portal.text import is_valid_text

from . import services
from .models import ACCOUNTANT_RIGHTS, API_METHODS, Level, MethodRight, User, api_method_levels

LOCKED_MESSAGE = "Too many failed sign-in attempts. Try again in {minutes} minute{s}."


def client_address(request: HttpRequest | None) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a proxy rewrites
    # REMOTE_ADDR, which is how the deployment docs tell you to run behind one.
    if request is None:
        return ""
    return request.META.get("REMOTE_ADDR", "") or ""


class SignInLockoutMixin:
    """Refuses a sign-in early (without checking the password) while it is locked out.

    The attempt takes its slot in the lockout's counters before the password is
    checked (accounts.services, login_attempt_*), so parallel attempts cannot get
    more than the limit checked. A valid device cookie for the username replaces
    the account's counter by its own. On success the request is given a fresh
    device cookie (written by accounts.middleware.DeviceCookieMiddleware).

    For Django's AuthenticationForm and its subclasses (the Django admin's sign-in).
    """

    request: HttpRequest | None
    cleaned_data: dict
    user_cache: User | None

    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        cookies = self.request.COOKIES if self.request is not None else {}
        attempt = services.login_attempt_start(
            username=username,
            address=address,
            device_cookie=cookies.get(services.DEVICE_COOKIE_NAME),
        )
        if attempt.locked_for:
            minutes = max(1, math.ceil(attempt.locked_for / 60))
            raise ValidationError(
                LOCKED_MESSAGE.format(minutes=minutes, s="" if minutes == 1 else "s"),
                code="locked",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            services.login_attempt_failed(attempt)
            raise
        except BaseException:
            services.login_attempt_abandoned(attempt)
            raise
        if self.user_cache is None:
            services.login_attempt_abandoned(attempt)  # incomplete form: nothing was checked
        else:
            services.login_attempt_succeeded(attempt)
            if self.request is not None:
                self.request.portal_device_cookie = services.device_cookie_issue(username=username)
        return cleaned


class PortalAuthenticationForm(SignInLockoutMixin, AuthenticationForm):
    """The portal's sign-in form."""


class PortalAdminAuthenticationForm(SignInLockoutMixin, AdminAuthenticationForm):
    """The Django admin's sign-in form, under the same lockout as the portal's."""


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where the form has it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


# The fields that apply only to some roles; the others apply to every role. The form
# shows only those of the chosen role (static/portal/portal.js), which also empties the
# hidden ones when the form is sent, so that a field out of view never refuses the
# account; without scripts every field shows, and the service's rules say what is wrong.
ROLE_FIELDS: dict[str, tuple[str, ...]] = {
    "owner": (User.Role.USER,),
    "accountant_group": (User.Role.ACCOUNTANT,),
    "api_restricted": (User.Role.USER, User.Role.ACCOUNTANT),
    "api_permission_group": (User.Role.USER, User.Role.ACCOUNTANT),
    "own_providers": (User.Role.RESELLER,),
    "is_system_administrator": (User.Role.ADMIN,),
}


class AccountForm(forms.ModelForm):
    """The fields of an account an admin edits; validation is the service's."""

    class Meta:
        model = User
        fields = services.EDITABLE_USER_FIELDS
        labels = {"own_providers": "Reseller PRO (own providers)", "is_active": "Active"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, roles in ROLE_FIELDS.items():
            self.fields[name].widget.attrs["data-for-roles"] = " ".join(roles)
        owner = self.fields["owner"]
        owner.queryset = User.objects.filter(role=User.Role.RESELLER).order_by("username")
        owner.empty_label = "— the system —"
        owner.help_text = "Only users can be owned by a reseller; empty means the system."
        self.fields["accountant_group"].help_text = "Accountants only: their rights."
        self.fields[
            "api_permission_group"
        ].help_text = "Applies only when the account is API restricted."
        self.fields["api_restricted"].help_text = "Only users and accountants can be restricted."
        self.fields[
            "is_system_administrator"
        ].help_text = (
            "One admin only: choosing this one moves the designation from the current one."
        )

    def _post_clean(self) -> None:
        # The model's rules are applied by accounts.services, with the previous state
        # at hand (e.g. moving the system administrator); the instance stays untouched.
        pass


class PasswordPairForm(forms.Form):
    """A new password typed twice; the two must match. (Django's validators run in the
    service that sets it, with the account at hand for the similarity check.)"""

    password = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label="New password (again)",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if (
            cleaned.get("password")
            and cleaned.get("password_confirm")
            and cleaned["password"] != cleaned["password_confirm"]
        ):
            self.add_error("password_confirm", "The two passwords do not match.")
        return cleaned


class AccountCreateForm(PasswordPairForm, AccountForm):
    """A new account with its first password."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].label = "Password"
        self.fields["password_confirm"].label = "Password (again)"


class PasswordResetForm(PasswordPairForm):
    """An admin sets a new password for an account."""


class OwnPasswordChangeForm(PasswordResetForm):
    """Everyone's own password: the current one first, then the new one twice."""

    current_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "password", "password_confirm"]

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_current_password(self) -> str:
        current = self.cleaned_data["current_password"]
        if not self.user.check_password(current):
            raise ValidationError("Your current password was entered incorrectly.")
        return current


class AccountFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    role = forms.ChoiceField(
        required=False, choices=[("", "All roles"), *User.Role.choices], label="Role"
    )


class _LevelsForm(forms.Form):
    """A name and one level per registered right or method."""

    registry: dict[str, str] = {}
    level_choices: list[tuple[str, str]] = []

    name = forms.CharField(max_length=100)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key, label in self.registry.items():
            self.fields[key] = forms.ChoiceField(
                label=label, choices=self.choices_for(key), widget=forms.RadioSelect
            )

    def choices_for(self, key: str) -> list[tuple[str, str]]:
        return self.level_choices

    @classmethod
    def lowest_level(cls, key: str) -> str:
        return cls.level_choices[0][0]

    def levels(self) -> dict[str, str]:
        return {key: self.cleaned_data[key] for key in self.registry}


class AccountantGroupForm(_LevelsForm):
    registry = ACCOUNTANT_RIGHTS
    level_choices = Level.choices


class ApiPermissionGroupForm(_LevelsForm):
    """Each method offers its own two levels: dids_get disabled/read, a write method
    disabled/write."""

    registry = API_METHODS
    level_choices = MethodRight.choices

    def choices_for(self, key: str) -> list[tuple[str, str]]:
        return [(level, MethodRight(level).label) for level in api_method_levels(key)]

    @classmethod
    def lowest_level(cls, key: str) -> str:
        return MethodRight.DISABLED


class ApiSettingsForm(forms.Form):
    """System API settings (with Allow GET API) or a reseller's (without)."""

    allow_api = forms.BooleanField(label="Allow API", required=False)
    allow_get_api = forms.BooleanField(
        label="Allow GET API",
        required=False,
        help_text="Good for testing, unsafe in production.",
    )
    disable_hash_checking = forms.BooleanField(
        label="Disable hash checking",
        required=False,
        help_text="Requests then need no hash: anyone who knows a username can call the API.",
    )
    new_secret = forms.CharField(
        label="New API Secret Key",
        required=False,
        strip=False,
        max_length=255,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the current secret key. It is shown once after saving.",
    )
    generate_secret = forms.BooleanField(label="Generate a strong secret key", required=False)
    remove_secret = forms.BooleanField(label="Remove the secret key", required=False)

    def __init__(self, *args, system: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not system:
            del self.fields["allow_get_api"]

    def clean(self) -> dict:
        cleaned = super().clean()
        chosen = [
            bool(cleaned.get("new_secret")),
            bool(cleaned.get("generate_secret")),
            bool(cleaned.get("remove_secret")),
        ]
        if sum(chosen) > 1:
            raise ValidationError("Choose one: type a new secret key, generate one, or remove it.")
        return cleaned

    def new_secret_value(self) -> str | None:
        """The secret to store: typed, generated, or None to keep the current one."""
        if self.cleaned_data.get("generate_secret"):
            return services.generate_api_secret()
        return self.cleaned_data.get("new_secret") or None


class SystemSettingsForm(forms.Form):
    days_for_did_close = forms.IntegerField(
        label="Days for DID close",
        min_value=0,
        max_value=1000,
        help_text="How long a closed DID stays reserved for its user (0 to 1000).",
    )
    resellers_can_add_their_own_dids = forms.BooleanField(
        label="Resellers can add their own DIDs",
        required=False,
        help_text="Resellers may create DIDs (the DID pages and the API's did_create), "
        "on their own providers only (Reseller PRO).",
    )


class HashToolForm(forms.Form):
    request = forms.CharField(
        label="Request",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "spellcheck": "false"}),
        help_text=(
            "A full URL, a query string, parameters one per line (name=value), or a "
            "JSON object body. A hash already in it is ignored."
        ),
        max_length=20000,
    )

    def clean_request(self) -> dict[str, str]:
        try:
            return parse_api_request(self.cleaned_data["request"])
        except NotTextError as error:
            raise ValidationError(str(error)) from None
        except ValueError:
            raise ValidationError(
                "This looks like JSON but is not a JSON object; paste a URL, a query "
                "string, name=value lines or a JSON object."
            ) from None

    settings_of = forms.ModelChoiceField(
        label="Settings of",
        queryset=User.objects.none(),
        required=False,
        empty_label="The system",
        help_text="Whose API secret key the hash is for.",
    )

    method = forms.ChoiceField(
        label="API method",
        required=False,
        choices=[("", "As the request names it (its URL or action), else dids_get")]
        + [(name, name) for name in API_METHODS],
        help_text="Each method has its own hashed parameters; an alias in the request "
        "counts as its method.",
    )

    def __init__(self, *args, viewer: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if viewer.is_admin:
            self.fields["settings_of"].queryset = User.objects.filter(
                role=User.Role.RESELLER
            ).order_by("username")
        else:
            # Everyone else gets the hash for their own settings only.
            del self.fields["settings_of"]


class NotTextError(ValueError):
    """A pasted request whose decoded parameters hold what is not text (portal.text)."""


def parse_api_request(text: str) -> dict[str, str]:
    """The parameters of a pasted request: a URL, a query string, name=value lines,
    or a JSON object body.

    A URL or query string is percent-decoded as the API decodes it (the last value of
    a repeated name wins, as Django's QueryDict.get does); lines are taken literally;
    JSON numbers keep the text they are written with, as the API's JSON parser does.
    Raises ValueError for JSON that is not an object, and NotTextError when a name or
    a value is not text once decoded (`%00`, a JSON `"\\ud800"`): the API refuses
    such a value as malformed, and no page could show it.
    """
    params = _parse_api_request(text)
    for name, value in params.items():
        if not is_valid_text(value):
            shown = f"“{name}”" if is_valid_text(name) else "a parameter"
            raise NotTextError(
                f"The value of {shown} is not text (it holds a NUL character or a lone "
                "surrogate once decoded): dids_get refuses it as malformed."
            )
        if not is_valid_text(name):
            raise NotTextError(
                "A parameter name is not text (it holds a NUL character or a lone "
                "surrogate once decoded)."
            )
    return params


def _parse_api_request(text: str) -> dict[str, str]:
    text = text.strip()
    if text.startswith("{"):
        data = json.loads(text, parse_int=str, parse_float=str)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        # Other JSON values are malformed for the API; they never make a valid request.
        return {name: value for name, value in data.items() if isinstance(value, str)}
    if "?" in text:
        text = text.split("?", 1)[1]
    text = text.split("#", 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and not any("&" in line for line in lines):
        params: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition("=")
            params[name.strip()] = value
        return params
    query = QueryDict("&".join(lines))
    return {name: query.get(name, "") for name in query}
