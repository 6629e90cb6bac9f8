"""The DIDs pages of the GUI, one module per area: the list, the export, the DID page,
adding DIDs, importing them."""

from .create import DidCreateView
from .detail import DidDetailView
from .export import DidExportView
from .imports import DidImportPlanView, DidImportView
from .listing import DidListView

__all__ = [
    "DidCreateView",
    "DidDetailView",
    "DidExportView",
    "DidImportPlanView",
    "DidImportView",
    "DidListView",
]
