"""factory_boy factories for every model; tests build data with these."""

import factory
from django.utils import timezone

from accounts.models import AccountantGroup, ApiPermissionGroup, ApiSettings, User
from dids.models import Device, DialPlan, Did, Provider


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"account{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = User.Role.USER
    password = factory.django.Password("correct-horse-battery")


class AccountantGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountantGroup

    name = factory.Sequence(lambda n: f"Accountant group {n}")
    rights = factory.LazyFunction(dict)


class ApiPermissionGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiPermissionGroup

    name = factory.Sequence(lambda n: f"API group {n}")
    methods = factory.LazyFunction(dict)


class ApiSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiSettings

    reseller = None
    allow_api = True
    api_secret_key = "secret"


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    name = factory.Sequence(lambda n: f"Carrier {n}")


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    type = "SIP"
    name = factory.Sequence(lambda n: f"dev{n}")
    extension = factory.Sequence(lambda n: f"{100 + n}")
    user = factory.SubFactory(UserFactory)


class DialPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DialPlan

    name = factory.Sequence(lambda n: f"Plan {n}")
    type = DialPlan.Type.IVR


class DidFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Did

    number = factory.Sequence(lambda n: f"3706{n:07d}")
    status = Did.Status.FREE
    updated_at = factory.LazyFunction(timezone.now)
