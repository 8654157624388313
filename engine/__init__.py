"""ruqi: the paperwork engine for 入企检查 (enterprise-entry safety inspections).

The front door, one call per job (each returns typed values; problems are ``Finding`` values):

    ws = engine.init(path) / engine.Workspace.open(path)
    engine.generate.generate(ws, plan_path)        → BatchResult        (engine.generate)
    engine.inbox.ingest(ws)                        → IngestReport       (engine.inbox)
    engine.mail.collect(ws)                        → MailReport         (engine.mail)
    engine.archive.verify(ws) / .search(ws, …)     → VerifyReport / rows (engine.archive)
    engine.stats.write_blanks / aggregate(ws, …)   → BlankBatch / Aggregate (engine.stats)
    engine.review.build_review(ws, …)              → Review             (engine.review)

Sub-packages are imported on use, so ``import engine`` stays cheap (WeasyPrint loads only to render).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .findings import Finding, Findings, RuqiError, Severity
from .inspection import Inspection
from .plan import read_plan, write_template
from .workspace import Config, Workspace, init

__all__ = [
    "Config", "Finding", "Findings", "Inspection", "RuqiError", "Severity", "Workspace", "__version__", "init",
    "read_plan", "write_template",
]
