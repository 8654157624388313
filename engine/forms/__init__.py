"""Form definitions (fixed texts, fields, answer options) and the context that fills them."""

from .definitions import (
    ANSWER_OPTIONS,
    BOX_EMPTY,
    BOX_TICKED,
    CARD,
    CARD_QUESTIONS,
    FORMS,
    INSPECTION_KINDS,
    NO,
    NOTICE,
    NOTICE_BOARD,
    QUESTION_COUNT,
    QUESTION_NUMBERS,
    SERIAL_LABEL,
    TEN_PROHIBITIONS,
    YES,
    FormDefinition,
    FormKey,
    InspectionKind,
    answer_boxes,
    kind_boxes,
    normalize_kind,
)
from .types import GENERATED_FORMS, PER_INSPECTION, FormType

__all__ = [
    "ANSWER_OPTIONS", "GENERATED_FORMS", "PER_INSPECTION", "FormType", "BOX_EMPTY", "BOX_TICKED", "CARD", "CARD_QUESTIONS", "FORMS", "INSPECTION_KINDS", "InspectionKind", "normalize_kind",
    "NO", "NOTICE", "NOTICE_BOARD", "QUESTION_COUNT", "QUESTION_NUMBERS", "SERIAL_LABEL", "TEN_PROHIBITIONS", "YES",
    "FormDefinition", "FormKey", "answer_boxes", "kind_boxes",
]
