"""Validation before promotion: data checks, a quality floor, and a differential test."""

from __future__ import annotations

__all__ = ["REPORT_NAME", "Report", "Thresholds", "validate"]

from modelship.validation.report import REPORT_NAME, Report
from modelship.validation.run import Thresholds, validate
