"""Case report form models, one module per form family (DESIGN.md §2)."""

from registry.crfs.models.base import CaseReportForm, DatePrecision, FormStatus, MissingReason, YesNo
from registry.crfs.models.baseline import Baseline
from registry.crfs.models.enrolment import Enrolment
from registry.crfs.models.findings import EditCheckFinding, FindingSeverity
from registry.crfs.models.followup import FollowUp
from registry.crfs.models.labs import LabResult
from registry.crfs.models.pathology import LocalPathology
from registry.crfs.models.regimens import Drug, Regimen, RegimenComponent
from registry.crfs.models.response import ResponseEvaluation
from registry.crfs.models.treatment import OtherTreatment, SystemicTreatmentStatus, TreatmentLine
from registry.crfs.models.tumour import TumourStaging

__all__ = [
    "Baseline", "CaseReportForm", "DatePrecision", "Drug", "EditCheckFinding", "Enrolment", "FindingSeverity",
    "FollowUp", "FormStatus", "LabResult", "LocalPathology", "MissingReason", "OtherTreatment", "Regimen",
    "RegimenComponent", "ResponseEvaluation", "SystemicTreatmentStatus", "TreatmentLine", "TumourStaging",
    "YesNo",
]
