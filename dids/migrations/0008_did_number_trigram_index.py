"""On PostgreSQL, a trigram index for searching part of a DID number.

The DIDs list, `dids_get`'s `search_did_number` and the Django admin's search match
part of a number (`UPPER(number) LIKE '%…%'`). Without an index that reads every DID
(1,000,000 DIDs: 120-150 ms for a search that finds none); with a GIN trigram index on
the expression it takes a few milliseconds (23 MB at 1,000,000 DIDs). A pattern of fewer
than three characters, or one that most numbers hold, is still read along the number
index, as the planner decides. See portal/trigram.py for the extension and its fallback.
"""

from django.db import migrations

from portal import trigram

INDEXES = {"did_number_trigram": ("dids_did", "number")}


class Migration(migrations.Migration):
    dependencies = [("dids", "0007_picker_trigram_indexes")]

    operations = [trigram.operation(INDEXES)]
