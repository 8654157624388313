"""ruqi: the paperwork engine for 入企检查 (enterprise-entry safety inspections).

The front door, one call per job (each returns typed values; problems are ``Finding`` values):

    ws = engine.init(path) / engine.Workspace.open(path)
    engine.generate.generate(ws, plan_path)        → BatchResult        (engine.generate)
    engine.inbox.ingest(ws)                        → IngestReport       (engine.inbox)
    engine.mail.collect(ws)                        → MailReport         (engine.mail)
    engine.archive.verify(ws) / .search(ws, …)     → VerifyReport / rows (engine.archive)
    engine.stats.write_blanks / aggregate(ws, …)   → BlankBatch / Aggregate (engine.stats)
    engine.review.build_review(ws, …)              → Review             (engine.review)
    engine.repair_workspace(ws)                    → RepairReport       (engine.recover: ruqi archive repair)

Sub-packages are imported on use, so ``import engine`` stays cheap (WeasyPrint loads only to render,
the plan reader only to read a plan).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .lazy import lazy_package

# Public name → the submodule it comes from, imported on first use (engine/lazy.py): `import engine`,
# which every `engine.…` import runs first, loads none of them (`ruqi status` reads no plan).
__all__ = ["__version__", *lazy_package(__name__, {
    "Finding": "findings", "Findings": "findings", "RuqiError": "findings", "Severity": "findings",
    "Inspection": "inspection", "read_plan": "plan", "write_template": "plan",
    "Config": "workspace", "Workspace": "workspace", "init": "workspace",
    "repair_workspace": "recover",
})]
