"""On PostgreSQL, trigram indexes for the device picker's search (dids/views/pickers.py).

The picker matches part of a device's name or extension (`UPPER(name) LIKE '%…%'`):
without an index that reads every device (about half a second at 100,000 devices on
a busy machine); with a GIN trigram index on each expression it takes milliseconds
(bench/overview.py). See portal/trigram.py for the extension and its fallback.
"""

from django.db import migrations

from portal import trigram

INDEXES = {
    "device_name_trigram": ("dids_device", "name"),
    "device_extension_trigram": ("dids_device", "extension"),
}


class Migration(migrations.Migration):
    dependencies = [("dids", "0006_did_prefix_statistics")]

    operations = [trigram.operation(INDEXES)]
