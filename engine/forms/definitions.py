"""The three inspection forms of seed 001 (附件1–3), defined once as data.

Every fixed sentence below is copied from the seed (大同市应急管理局《关于规范安全生产领域
入企检查活动的办法（试行）》).  Blanks of the reference form (``年 月 日``, ``一行 人``) become
``{placeholders}`` filled by :mod:`engine.forms.context`; hints meant for the person filling the
reference form by hand, such as ``（计划、通知、方案等）``, are kept in ``hints`` and not printed.

Both renderers (docx via docxtpl, PDF via Jinja2 + WeasyPrint) and the card reader read these
objects; nothing else in the repository spells out the 十个不得 or the ten questions.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import StrEnum


class InspectionKind(StrEnum):
    """检查类别, as the seed's tick boxes print it; the value is what the register stores."""

    ENFORCEMENT = "执法检查"
    SUPERVISION = "督导检查"
    INVESTIGATION = "调查核查"

    @property
    def zh(self) -> str:
        return self.value


INSPECTION_KINDS: tuple[InspectionKind, ...] = tuple(InspectionKind)
# What people also write for a kind (the seed itself says 调查核实 in its cap rules).
KIND_ALIASES: dict[str, InspectionKind] = {"调查核实": InspectionKind.INVESTIGATION}
ANSWER_OPTIONS: tuple[str, ...] = ("是", "否")
YES, NO = ANSWER_OPTIONS
BOX_EMPTY = "□"
BOX_TICKED = "☑"


class FormKey(StrEnum):
    """Which of the three forms (the key of ``FORMS``, of the templates and of ``ctx[...]``)."""

    NOTICE = "notice"
    NOTICE_BOARD = "notice_board"
    CARD = "card"

    @property
    def zh(self) -> str:
        """The form's title: ``入企检查活动通知书``."""
        return FORMS[self].title


@dataclass(frozen=True, slots=True)
class FormDefinition:
    key: FormKey
    attachment: str  # 附件 1
    title: str
    texts: dict[str, str]  # fixed sentences, some with {placeholders}
    items: tuple[str, ...] = ()  # numbered lines: the 十个不得 or the ten questions
    notes: tuple[str, ...] = ()  # 说明 lines
    fields: tuple[str, ...] = ()  # context keys the form prints
    options: tuple[str, ...] = ()  # answer options per item (card only)
    hints: dict[str, str] = field(default_factory=dict)

    def file_label(self) -> str:
        """Chinese file-name stem: ``入企检查活动通知书``."""
        return self.title

    def label(self, key: str) -> str:
        """The printed label of a text, without its value or layout spaces: ``date`` → ``检查日期``,
        ``position`` (``职　务``) → ``职务``, ``remark`` → ``备注``.  What a reader searches for."""
        return label_of(self.texts[key])


NOTICE = FormDefinition(
    key=FormKey.NOTICE,
    attachment="附件1",
    title="入企检查活动通知书",
    texts={
        "addressee": "{enterprise}：",
        "body": "依据{basis}，我局{joint}于{date_range}，一行{people}人，在你单位开展（{kind_boxes}），请予配合。",
        "joint": "与{joint_units}",
        "seal": "{bureau}（印章）",
        "date": "{issue_date}",
        "notes_head": "说明：",
    },
    notes=(
        "1.入企检查活动涉及多部门多层级多事项的，由直接监管的应急管理部门统一制作；",
        "2.入企业检查活动开始前交付企业；",
        "3.此文书一式两份，一份交企业，一份由部门留存。",
    ),
    fields=("serial", "enterprise", "basis", "joint_units", "date_range", "people", "kind_boxes", "bureau", "issue_date"),
    hints={"basis": "（计划、通知、方案等）", "joint": "（联合单位）", "seal": "单位名称（印章）"},
)

TEN_PROHIBITIONS: tuple[str, ...] = (
    "一是不得逐利检查，干扰企业正常生产经营，任性处罚企业；",
    "二是不得不按规定缴纳伙食费；",
    "三是不得接受被检查企业的任何馈赠、报酬、福利待遇；",
    "四是不得参加被检查企业提供的宴请、娱乐、旅游等活动；",
    "五是不得由被检查企业支付消费开支或者将检查费用转嫁给企业；",
    "六是不得强制企业接受指定的中介机构提供服务；",
    "七是不得向被检查单位介绍业务或推销商品；",
    "八是不得为本人、亲友及其他利益相关人谋取不正当利益；",
    "九是不得刻意要求法定代表人（董事长、总经理）到场；",
    "十是不得乱查封、乱扣押、乱冻结、动辄责令停产停业。",
)

NOTICE_BOARD = FormDefinition(
    key=FormKey.NOTICE_BOARD,
    attachment="附件2",
    title="入企检查监督公示",
    texts={
        "title_prefix": "{bureau}",
        "intro": (
            "{inspection_date}，{level_bureau}应急管理部门一行{people}人，依据{basis}对{enterprise}（单位）进行"
            "（{kind_boxes}），为进一步严肃工作和廉洁纪律，现将监督内容、监督方式及监督须知予以告示，欢迎监督。"
        ),
        "h1": "一、检查（调查、核查）组及检查内容",
        "leader": "组长：{leader}",
        "members": "成员：{members}",
        "experts": "专家：{experts}",
        "content": "内容：{content}",
        "h2": "二、监督内容",
        "lead_in": "检查组所有人员必须遵守以下“十个不得”：",
        "h3": "三、监督须知",
        "notice": (
            "监督人应反映问题要客观真实，不得捏造、歪曲事实。对存在捏造事实、诬告陷害等行为，"
            "涉嫌犯罪的，将移送司法机关依法处理。"
        ),
        "h4": "四、举报方式",
        "phone": "举报电话：{report_phone}；",
        "email": "邮　　箱：{report_email}。",
        "sign": "{bureau}",
        "date": "{issue_date}",
    },
    items=TEN_PROHIBITIONS,
    fields=(
        "serial", "bureau", "inspection_date", "level_bureau", "people", "basis", "enterprise", "kind_boxes",
        "leader", "members", "experts", "content", "report_phone", "report_email", "issue_date",
    ),
    hints={"level_bureau": "（也可以是省、市、县三级）", "kind": "（也可多选）"},
)

CARD_QUESTIONS: tuple[str, ...] = (
    "一、是否逐利检查，干扰你单位正常生产经营，任性处罚；",
    "二、是否不按规定缴纳伙食费；",
    "三、是否接受你单位任何馈赠、报酬、福利待遇；",
    "四、是否参加你单位提供的宴请、娱乐、旅游等活动；",
    "五、是否由你单位支付消费开支或者将检查费用转嫁给你单位；",
    "六、是否强制你单位接受指定的中介机构提供服务；",
    "七、是否向你单位介绍业务或推销商品；",
    "八、是否为检查人员、亲友及其他利益相关人谋取不正当利益；",
    "九、是否刻意要求你单位法定代表人（董事长、总经理）到场；",
    "十、是否乱查封、乱扣押、动辄责令停产停业。",  # the seed's card omits 乱冻结; keep it so
)

CARD = FormDefinition(
    key=FormKey.CARD,
    attachment="附件3",
    title="入企检查监督反馈卡",
    texts={
        "unit": "检查单位：{bureau}",
        "date": "检查日期：{date_range}",
        "inspectors": "检查人员：{inspectors}",
        "experts": "随行专家：{experts}",
        "visit": (
            "本次检查是你单位本年度接受的省、市、县三级应急管理部门第{visit_total}次入企业检查，"
            "第{visit_kind}次{kind_boxes}"
        ),
        "col_item": "监督内容",
        "col_answer": "反馈意见（是否）",
        "enterprise": "被检查单位",
        "head": "负责人",
        "position": "职　务",
        "phone": "联系电话",
        # The seed writes "监督电话；" after the 纪委 mailboxes and "监督电话：" after the others: a typo
        # of the reference form, printed here with the colon everywhere (issue 11).
        "remark": (
            "备注：此表由被检查单位填写，检查结束后 3 日内按入企检查事项转 PDF 版分别传至检查事项承办单位"
            "执法检查机构及机关纪委。（1.省应急厅执法监督机构邮箱 {p_sup_email}，监督电话：{p_sup_phone}；"
            "机关纪委邮箱 {p_dis_email}、监督电话：{p_dis_phone}。2.市应急局执法监督机构邮箱 {c_sup_email}，"
            "监督电话：{c_sup_phone}；机关纪委邮箱 {c_dis_email}、监督电话：{c_dis_phone}。3.县应急局执法监督"
            "机构邮箱 {x_sup_email}，监督电话：{x_sup_phone}；机关纪委邮箱 {x_dis_email}、监督电话：{x_dis_phone}。）"
        ),
    },
    items=CARD_QUESTIONS,
    options=ANSWER_OPTIONS,
    fields=(
        "serial", "bureau", "date_range", "inspectors", "experts", "visit_total", "visit_kind", "kind_boxes",
        "enterprise",
    ),
)

FORMS: dict[FormKey, FormDefinition] = {f.key: f for f in (NOTICE, NOTICE_BOARD, CARD)}
# The card's questions are numbered 1…QUESTION_COUNT everywhere (answers, checkbox names, JSON keys).
QUESTION_COUNT = len(CARD_QUESTIONS)
QUESTION_NUMBERS: tuple[int, ...] = tuple(range(1, QUESTION_COUNT + 1))
SERIAL_LABEL = "检查编号：{serial}"
# The numeral before each question (一 … 十) and the words every question starts with (是否).
QUESTION_NUMERALS: tuple[str, ...] = tuple(q.split("、", 1)[0] for q in CARD_QUESTIONS)
QUESTION_STEM = os.path.commonprefix([q.split("、", 1)[1] for q in CARD_QUESTIONS])


def label_of(text: str) -> str:
    """The words of a printed text before its value (a ``{placeholder}`` or the ``：``), spaces removed."""
    return re.sub(r"\s", "", re.split(r"[：:{]", text, maxsplit=1)[0])


def normalize_kind(text: str) -> str:
    """A typed 检查类别 with its aliases replaced (``调查核实`` → ``调查核查``); unknown text is returned as is."""
    for alias, kind in KIND_ALIASES.items():
        text = text.replace(alias, kind)
    return text


def kind_boxes(selected: str | set[str] | tuple[str, ...], sep: str = "、") -> str:
    """``'督导检查'`` → ``'□执法检查、☑督导检查、□调查核查'`` (the seed's tick-box list)."""
    chosen = {selected} if isinstance(selected, str) else set(selected)
    return sep.join(f"{BOX_TICKED if k in chosen else BOX_EMPTY}{k}" for k in INSPECTION_KINDS)


def answer_boxes() -> str:
    """The blank answer of one card question: ``□是 □否``."""
    return " ".join(f"{BOX_EMPTY}{o}" for o in ANSWER_OPTIONS)
