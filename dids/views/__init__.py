"""The DIDs pages of the GUI, one module per area: the list, the export, the DID page
(its read part in detail, its writes in actions), adding DIDs (create), importing them
(imports), bulk actions on the list (bulk)."""

from .actions import DidActionView, DidEditView
from .bulk import DidBulkView
from .create import DidCreateView
from .detail import DidDetailView
from .export import DidExportView
from .imports import DidImportPlanView, DidImportView
from .listing import DidListView

__all__ = [
    "DidActionView",
    "DidBulkView",
    "DidCreateView",
    "DidDetailView",
    "DidEditView",
    "DidExportView",
    "DidImportPlanView",
    "DidImportView",
    "DidListView",
]
