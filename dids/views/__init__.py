"""The DIDs pages of the GUI, one module per area: the list, the export, the DID page
(its read part in detail, its writes in actions)."""

from .actions import DidActionView, DidEditView
from .detail import DidDetailView
from .export import DidExportView
from .listing import DidListView

__all__ = ["DidActionView", "DidDetailView", "DidEditView", "DidExportView", "DidListView"]
