"""Form definitions (fixed texts, fields, answer options) and the context that fills them."""

from .definitions import (
    ANSWER_OPTIONS,
    BOX_EMPTY,
    BOX_TICKED,
    CARD,
    CARD_QUESTIONS,
    FORMS,
    INSPECTION_KINDS,
    NOTICE,
    NOTICE_BOARD,
    SERIAL_LABEL,
    TEN_PROHIBITIONS,
    FormDefinition,
    answer_boxes,
    kind_boxes,
)

__all__ = [
    "ANSWER_OPTIONS", "BOX_EMPTY", "BOX_TICKED", "CARD", "CARD_QUESTIONS", "FORMS", "INSPECTION_KINDS",
    "NOTICE", "NOTICE_BOARD", "SERIAL_LABEL", "TEN_PROHIBITIONS", "FormDefinition", "answer_boxes", "kind_boxes",
]
