"""The four statistics tables of the 扫码入企 notice (seed 000, 附件1–4) as data.

Each table is a title, a tree of column headers (``Column.path`` from the top group to the
leaf, so merged two- and three-level headers are computed, not drawn by hand), the type of
every column, the consistency rules between columns and the rates worth reporting.  The blank
workbook, the reader, the validator and the aggregate all read these definitions; none of
them names a column itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..findings import Severity
from .codes import StatsCode
from .period import Period


class StatsKind(StrEnum):
    """Which of the four tables a workbook is (``recognise`` returns this)."""

    ROSTER = "stats1_roster"  # 附件1 联络人报名表
    PROGRESS = "stats2_progress"  # 附件2 调度统计表
    SELF_CHECK = "stats3_self_check"  # 附件3 内部监督检查报告机制落实情况统计表
    FEEDBACK = "stats4_feedback"  # 附件4 APP 问题反馈清单

    @property
    def no(self) -> int:
        return int(self.value[5])

    @property
    def table(self) -> TableDef:
        return TABLES[self.no]

    @classmethod
    def of(cls, no: int | str) -> StatsKind:
        return next(k for k in cls if k.no == int(no))


class ColType(StrEnum):
    COUNT = "count"  # whole number ≥ 0
    TEXT = "text"
    PHONE = "phone"
    CHOICE = "choice"  # one of Column.choices
    SEQ = "seq"  # 序号: ignored when read


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    path: tuple[str, ...]  # header tree, top group first; "{quarter}" becomes 第二季度
    type: ColType = ColType.TEXT
    aliases: tuple[str, ...] = ()  # other leaf texts that name this column on their own
    generic: tuple[str, ...] = ()  # leaf texts that name it only under a header containing all of `context`
    context: tuple[str, ...] = ()
    required: bool = True  # a missing column rejects the workbook
    in_blank: bool = True  # optional columns a unit may add (职务, 备注…) are read but not printed
    width: float = 14
    choices: tuple[str, ...] = ()

    def header_path(self, period: Period | None) -> tuple[str, ...]:
        q = period.quarter_zh if period else "第__季度"
        return tuple(h.replace("{quarter}", q) for h in self.path)

    @property
    def leaf(self) -> str:
        return self.path[-1]

    @property
    def is_input(self) -> bool:
        return self.key not in ("unit", "seq")


@dataclass(frozen=True, slots=True)
class NotAbove:
    """``col`` must not exceed ``limit`` (实际 ≤ 应; 上报企业数 ≤ 应注册企业数)."""

    col: str
    limit: str
    severity: Severity
    code: StatsCode


@dataclass(frozen=True, slots=True)
class NeedsPositive:
    """``col`` > 0 requires ``other`` > 0 (no 隐患条数 without a 上报企业)."""

    col: str
    other: str
    code: StatsCode


Rule = NotAbove | NeedsPositive


@dataclass(frozen=True, slots=True)
class Rate:
    label: str  # 政务人员注册率
    numerator: str
    denominator: str


@dataclass(frozen=True, slots=True)
class TableDef:
    no: int
    title: str  # may contain {quarter}
    short: str  # used in file names
    keywords: tuple[str, ...]  # title fragments that identify the table in a unit's own file
    columns: tuple[Column, ...]
    per_unit: bool  # one row per unit (附件2, 3) or many (附件1 contacts, 附件4 problems)
    blank_rows: int = 1  # input rows in a blank workbook
    rules: tuple[Rule, ...] = ()
    rates: tuple[Rate, ...] = ()
    quarterly: bool = False  # the header names the quarter

    @property
    def kind(self) -> StatsKind:
        return StatsKind.of(self.no)

    @property
    def label(self) -> str:
        return f"附件{self.no}"

    def title_for(self, period: Period | None) -> str:
        return self.title.replace("{quarter}", period.quarter_zh if period else "")

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def blank_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.in_blank)

    @property
    def counts(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.type is ColType.COUNT)

    def depth(self) -> int:
        return max(len(c.path) for c in self.blank_columns)


USER_TYPES = ("企业", "政务人员")
MANUAL_PARTS = (
    "第一部分：如何获取应急宝APP",
    "第二部分：账号注册及登录",
    "第三部分：如何注册企业",
    "第四部分：邀请同事加入企业",
    "第五部分：填写企业台账基本信息并设置安全组成员",
    "第六部分：隐患自查自纠功能操作",
    "第七部分：政务人员如何从“互联网+执法”系统查看上报隐患",
)

_UNIT_ALIASES = ("单位", "单位名称", "省市县(区)", "省市县（区）", "县(区)", "县（区）", "县(市、区)",
                 "县（市、区）", "市县(区)", "地区", "县区", "市(县、区)")
_REMARK = Column("remark", ("备注",), aliases=("说明",), required=False, in_blank=False, width=16)

ROSTER = TableDef(
    no=1,
    title="应急系统“扫码入企”工作推进联络人报名表",
    short="联络人报名表",
    keywords=("联络人报名表", "联络人名单", "联络人"),
    columns=(
        Column("seq", ("序号",), ColType.SEQ, ("编号",), required=False, width=6),
        Column("unit", ("单位",), aliases=_UNIT_ALIASES, width=22),
        Column("name", ("姓名",), aliases=("联络人", "联络人姓名"), width=12),
        Column("phone", ("电话",), ColType.PHONE, aliases=("联系电话", "手机", "手机号", "联系方式",
                                                         "联系电话(座机号、手机号)", "联系电话（座机号、手机号）"), width=20),
        Column("position", ("职务",), required=False, in_blank=False),
        Column("wechat", ("微信号",), aliases=("微信",), required=False, in_blank=False),
        _REMARK,
    ),
    per_unit=False,
    blank_rows=3,
)

PROGRESS = TableDef(
    no=2,
    title="“扫码入企”工作推进情况调度统计表",
    short="调度统计表",
    keywords=("工作推进情况调度统计表", "调度统计表"),
    columns=(
        Column("unit", ("单位",), aliases=_UNIT_ALIASES, width=18),
        Column("staff_expected", ("移动应急APP政务人员注册数", "应注册人数"), ColType.COUNT,
               ("政务人员应注册人数",), ("应注册", "应注册数", "应注册人员数"), ("政务",), width=12),
        Column("staff_actual", ("移动应急APP政务人员注册数", "实际注册人数"), ColType.COUNT,
               ("政务人员实际注册人数", "已注册人数"), ("实际注册", "实际注册数", "已注册"), ("政务",), width=12),
        Column("ent_expected", ("移动应急APP企业实名认证注册数", "应注册企业数"), ColType.COUNT,
               ("企业应注册数",), ("应注册", "应注册数"), ("企业",), width=12),
        Column("ent_actual", ("移动应急APP企业实名认证注册数", "实际注册企业数"), ColType.COUNT,
               ("已注册企业数", "企业实际注册数"), ("实际注册", "实际注册数", "已注册"), ("企业",), width=12),
        Column("remark", ("备注",), aliases=("说明",), required=False, width=16),
    ),
    per_unit=True,
    rules=(
        NotAbove("staff_actual", "staff_expected", Severity.WARNING, StatsCode.ACTUAL_ABOVE_EXPECTED),
        NotAbove("ent_actual", "ent_expected", Severity.WARNING, StatsCode.ACTUAL_ABOVE_EXPECTED),
    ),
    rates=(Rate("政务人员注册率", "staff_actual", "staff_expected"), Rate("企业注册率", "ent_actual", "ent_expected")),
)

SELF_CHECK = TableDef(
    no=3,
    title="企业内部监督检查报告机制落实情况统计表",
    short="报告机制落实情况统计表",
    keywords=("报告机制落实情况统计表", "报告机制落实情况"),
    columns=(
        Column("unit", ("省市县（区）",), aliases=_UNIT_ALIASES, width=18),
        Column("registered", ("冶金工贸企业", "应注册企业数"), ColType.COUNT, ("应注册企业数",), width=14),
        Column("reporters", ("冶金工贸企业", "{quarter}企业重大事故隐患排查上报", "上报企业数"), ColType.COUNT,
               ("上报企业数", "已上报企业数"), width=14),
        Column("hazards", ("冶金工贸企业", "{quarter}企业重大事故隐患排查上报", "上报重大事故隐患条数"), ColType.COUNT,
               ("上报重大事故隐患条数", "重大事故隐患条数", "隐患条数", "上报隐患条数"), width=16),
        _REMARK,
    ),
    per_unit=True,
    rules=(
        NotAbove("reporters", "registered", Severity.ERROR, StatsCode.REPORTED_ABOVE_REGISTERED),
        NeedsPositive("hazards", "reporters", StatsCode.HAZARDS_WITHOUT_REPORTER),
    ),
    rates=(Rate("上报率", "reporters", "registered"),),
    quarterly=True,
)

FEEDBACK = TableDef(
    no=4,
    title="移动应急APP操作使用问题反馈清单",
    short="APP问题反馈清单",
    keywords=("问题反馈清单", "操作使用问题"),
    columns=(
        Column("seq", ("序号",), ColType.SEQ, required=False, in_blank=False, width=6),
        Column("unit", ("单位",), aliases=_UNIT_ALIASES, width=16),
        Column("user_type", ("用户类型",), ColType.CHOICE, ("用户", "类型", "使用人员类型"), width=12, choices=USER_TYPES),
        Column("part", ("手册部分",), ColType.CHOICE, ("手册内容", "操作手册部分", "所属部分", "问题所属部分"), width=30,
               choices=MANUAL_PARTS),
        Column("description", ("问题描述",), aliases=("问题", "存在问题", "问题内容"), width=40),
        Column("suggestion", ("建议",), aliases=("意见建议", "意见和建议", "改进建议"), required=False, width=30),
        _REMARK,
    ),
    per_unit=False,
    blank_rows=15,
)

TABLES: dict[int, TableDef] = {t.no: t for t in (ROSTER, PROGRESS, SELF_CHECK, FEEDBACK)}


class NoSuchTable(KeyError):
    """A table number that is none of 附件1–4, as typed on the command line or a web form: its
    message tells the clerk which ones there are.  Callers catch this, not ``KeyError``, so that a
    genuine bug's ``KeyError`` is not told to the clerk as a mistyped number."""

    def __str__(self) -> str:  # KeyError's own quotes the message like a dict key
        return str(self.args[0])


def table(no: int | str | StatsKind) -> TableDef:
    """``table(2)``, ``table("附件2")`` or ``table(StatsKind.PROGRESS)``; ``NoSuchTable`` names the valid ones."""
    if isinstance(no, StatsKind):
        return no.table
    key = str(no).removeprefix("附件").strip()
    if not key.isdigit() or int(key) not in TABLES:
        raise NoSuchTable(f"没有统计表“{no}”，只有附件1、附件2、附件3、附件4。")
    return TABLES[int(key)]
