"""ruqi: the paperwork engine for 入企检查 (enterprise-entry safety inspections).

The public API is re-exported here; everything else is reached from the objects it returns.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .findings import Finding, Findings, RuqiError, Severity
from .inspection import Inspection
from .workspace import Config, Workspace, init

__all__ = ["Config", "Finding", "Findings", "Inspection", "RuqiError", "Severity", "Workspace", "init", "__version__"]
