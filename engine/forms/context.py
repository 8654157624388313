"""Fill a form definition with one inspection: the context both renderers and tests read.

The context is plain data (strings and lists): the docx and HTML templates only place it
on the page, they never compose sentences themselves.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..identifiers import qr_payload
from ..inspection import Inspection, format_date, format_range
from ..workspace import Config
from .definitions import (
    CARD,
    FORMS,
    NOTICE,
    NOTICE_BOARD,
    SERIAL_LABEL,
    FormDefinition,
    answer_boxes,
    kind_boxes,
)


def values(insp: Inspection, cfg: Config) -> dict[str, Any]:
    """Every placeholder value any of the three forms uses."""
    c = cfg.contacts
    issue = insp.issue_date or date.today()
    v: dict[str, Any] = {
        "serial": insp.serial,
        "enterprise": insp.enterprise,
        "uscc": insp.uscc,
        "basis": insp.basis,
        "joint_units": insp.joint_units,
        "joint": NOTICE.texts["joint"].format(joint_units=insp.joint_units) if insp.joint_units else "",
        "date_range": format_range(insp.start, insp.end),
        "inspection_date": format_date(insp.start),
        "people": insp.people,
        "kind": insp.kind,
        "kind_boxes": kind_boxes(insp.kind),
        "bureau": cfg.name,
        "level_bureau": cfg.short_name,
        "issue_date": format_date(issue),
        "leader": insp.leader,
        "members": "、".join(insp.members),
        "experts": "、".join(insp.experts) or "无",
        "inspectors": "、".join([insp.leader, *insp.members]),
        "content": insp.content,
        "report_phone": cfg.report_phone,
        "report_email": cfg.report_email,
        "visit_total": insp.visit_total,
        "visit_kind": insp.visit_kind,
    }
    for prefix, level in (("p", "省"), ("c", "市"), ("x", "县")):
        lc = cfg.contacts_for(insp.county) if level == "县" else c.get(level)
        v[f"{prefix}_sup_email"] = lc.supervision_email if lc else ""
        v[f"{prefix}_sup_phone"] = lc.supervision_phone if lc else ""
        v[f"{prefix}_dis_email"] = lc.discipline_email if lc else ""
        v[f"{prefix}_dis_phone"] = lc.discipline_phone if lc else ""
    return v


def fill(form: FormDefinition, v: dict[str, Any]) -> dict[str, str]:
    """The form's fixed texts with their blanks filled."""
    return {k: t.format(**v) for k, t in form.texts.items()}


def build_context(insp: Inspection, cfg: Config, key: bytes) -> dict[str, Any]:
    """One dict per inspection with the filled texts of all three forms.

    ``ctx["notice"]["body"]``, ``ctx["card"]["items"]`` …; ``ctx["qr"]`` is the signed payload
    that the renderers draw as a QR code.
    """
    v = values(insp, cfg)
    ctx: dict[str, Any] = {
        "v": v,
        "serial": insp.serial,
        "serial_label": SERIAL_LABEL.format(serial=insp.serial),
        "qr": qr_payload(key, insp.serial, insp.uscc),
        "answer_boxes": answer_boxes(),
    }
    for form in (NOTICE, NOTICE_BOARD, CARD):
        ctx[form.key] = {
            "title": form.title,
            "attachment": form.attachment,
            "t": fill(form, v),
            "items": list(form.items),
            "notes": list(form.notes),
            "options": list(form.options),
            "extra": list(cfg.texts.get(form.key, ())),  # the clerk's own lines (ruqi.toml [texts])
        }
    return ctx


__all__ = ["FORMS", "build_context", "fill", "values"]
