"""The instrument exports this site reads, each through one allotropy converter."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportFormat:
    vendor: str  # allotropy's Vendor name
    title: str  # as the upload page names the export
    instrument: str  # the instrument's human name
    extensions: tuple[str, ...]
    # Where the sample ID stands in ASM's sample document, first found wins ("TUBE NAME": an FCS keyword).
    sample_id_fields: tuple[str, ...] = ("sample identifier",)

    @property
    def described(self) -> str:
        """The title with its file types, e.g. "Vi-CELL XR (.txt, .xls, .xlsx)"."""
        return f"{self.title} ({', '.join('.' + extension for extension in self.extensions)})"


READERS = (
    ExportFormat("BECKMAN_VI_CELL_BLU", "Vi-CELL BLU", "Beckman Coulter Vi-CELL BLU", ("csv",)),
    ExportFormat("BECKMAN_VI_CELL_XR", "Vi-CELL XR", "Beckman Coulter Vi-CELL XR", ("txt", "xls", "xlsx")),
    ExportFormat("CHEMOMETEC_NUCLEOVIEW", "NucleoView NC-200", "ChemoMetec NucleoCounter NC-200", ("csv",)),
    ExportFormat("CHEMOMETEC_NC_VIEW", "NC-View", "ChemoMetec NucleoCounter (NC-View)", ("csv",)),
    ExportFormat("ROCHE_CEDEX_HIRES", "Cedex HiRes", "Roche Cedex HiRes", ("csv", "xlsx")),
    ExportFormat("BD_BIOSCIENCES_FACSDIVA", "FACSDiva XML", "BD flow cytometer (FACSDiva)", ("xml",)),
    # FlowJo's own sample identifier is a number of the workspace: the tube name, as FACSDiva's, is the sample's.
    ExportFormat("FLOWJO", "FlowJo workspace", "Flow cytometer (FlowJo analysis)", ("wsp",),
                 ("TUBE NAME", "written name", "sample identifier")),
)


def formats_for(filename: str) -> tuple[ExportFormat, ...]:
    """The formats a file may be in, judged by its extension."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return tuple(export_format for export_format in READERS if extension in export_format.extensions)


def reader(vendor: str) -> ExportFormat:
    """The format read by an allotropy converter."""
    return next(export_format for export_format in READERS if export_format.vendor == vendor)


def supported_list() -> str:
    """The formats read, as a technician's sentence reads them."""
    return ", ".join(export_format.title for export_format in READERS)
