"""On PostgreSQL, trigram indexes for the user picker's search (dids/views/pickers.py):
part of a username, first or last name (`UPPER(username) LIKE '%…%'`) from an index.
See portal/trigram.py for the extension and its fallback."""

from django.db import migrations

from portal import trigram

INDEXES = {
    "user_username_trigram": ("accounts_user", "username"),
    "user_first_name_trigram": ("accounts_user", "first_name"),
    "user_last_name_trigram": ("accounts_user", "last_name"),
}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_api_known_client")]

    operations = [trigram.operation(INDEXES)]
