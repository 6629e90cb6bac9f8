"""The DIDs pages of the GUI, one module per area: the list, the export, the DID page,
bulk actions."""

from .bulk import DidBulkView
from .detail import DidDetailView
from .export import DidExportView
from .listing import DidListView

__all__ = ["DidBulkView", "DidDetailView", "DidExportView", "DidListView"]
