from django.apps import AppConfig


class DidsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dids"
