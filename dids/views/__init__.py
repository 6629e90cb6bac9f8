"""The DIDs pages of the GUI, one module per area: the list, the export, the DID page,
adding DIDs."""

from .create import DidCreateView
from .detail import DidDetailView
from .export import DidExportView
from .listing import DidListView

__all__ = ["DidCreateView", "DidDetailView", "DidExportView", "DidListView"]
