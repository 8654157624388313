"""Build the fictional sample data in samples/ (deterministic: the same files every run).

- 企业名录.xlsx: 160 fictional enterprises in 大同市 and 晋城市 (real county names and codes),
  every industry × grade of the caps table, each with a valid 统一社会信用代码.
- 检查计划-2025.xlsx: a 2025 inspection plan of the 大同市应急管理局, typed as a clerk would.
- 检查计划-有错误.xlsx: the same kind of plan with the mistakes clerks make, to show the error list.
- 检查计划-补充.xlsx: one more visit to a mine already at its annual cap (refused, then approved with a reason).

Run: .venv/bin/python samples/build_samples.py
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook, load_workbook
from stdnum.cn import uscc as uscc_mod

from engine.caps import INDUSTRIES, grades_for
from engine.divisions import COUNTIES
from engine.identifiers import make_uscc
from engine.plan import COLUMNS, write_template

HERE = Path(__file__).parent
RNG = random.Random(20250310)
ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

PLACE = ["恒泰", "同煤", "晋阳", "云岗", "北岳", "华盛", "鑫源", "宏达", "金鼎", "瑞丰", "泰和", "中晋", "永安", "昌盛",
         "龙城", "太行", "沁河", "丹河", "凤凰", "长城", "兴旺", "汇通", "天成", "万通", "佳禾", "德润", "祥和", "广源"]
SUFFIX = {
    "煤矿": ["煤业有限公司", "矿业有限责任公司", "煤矿"],
    "非煤矿山": ["石料有限公司", "铁矿", "石膏矿业有限公司"],
    "危险化学品": ["化工有限公司", "燃气有限公司", "化学品储运有限公司"],
    "金属冶炼": ["铸造有限公司", "冶金有限公司", "铝业有限公司"],
    "非高危行业": ["机械制造有限公司", "食品有限公司", "建材有限公司", "纸业有限公司", "物流有限公司"],
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN = ["建国", "志强", "海峰", "丽娟", "伟", "芳", "敏", "静", "磊", "洋", "勇", "军", "杰", "娜", "涛", "明", "超", "霞",
         "平", "刚", "桂英", "秀兰", "玉兰", "晓东", "文博"]


def person() -> str:
    return RNG.choice(SURNAMES) + RNG.choice(GIVEN)


def org_code() -> str:
    while True:
        body = "".join(RNG.choice(ORG_ALPHABET) for _ in range(8))
        for check in ORG_ALPHABET:
            candidate = body + check
            try:
                # The last 9 characters are an organisation code with its own check character.
                uscc_mod.validate(make_uscc("91000000" + candidate))
            except Exception:
                continue
            return candidate


def enterprises() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    counties = [c for c in COUNTIES if c.city_code in ("140200", "140500")]
    combos = [(ind, g) for ind in INDUSTRIES for g in grades_for(ind)]  # 20 combinations
    names: set[str] = set()
    i = 0
    while len(rows) < 160:
        ind, grade = combos[i % len(combos)]
        county = counties[(i * 7) % len(counties)]
        city = "大同市" if county.city_code == "140200" else "晋城市"
        name = f"{city}{county.name}{RNG.choice(PLACE)}{RNG.choice(SUFFIX[ind])}"
        i += 1
        if name in names:
            continue
        names.add(name)
        div = county.code or county.city_code
        uscc = make_uscc("91" + div + org_code())
        uscc_mod.validate(uscc)
        rows.append({
            "企业名称": name, "统一社会信用代码": uscc, "所属市": city, "所属县区": county.name, "行政区划代码": div,
            "行业类别": ind, "等级": grade, "标杆企业": "是" if i % 23 == 0 and ind == "非高危行业" else "否",
            "重点监管": "是" if i % 46 == 0 else "否", "联系人": person(),
            "联系电话": f"13{RNG.randint(0, 9)}{RNG.randint(10000000, 99999999)}",
        })
    return rows


def write_registry(rows: list[dict[str, object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "企业名录"
    ws.append(list(rows[0].keys()))
    for r in rows:
        ws.append(list(r.values()))
    for col, width in zip("ABCDEFGHIJK", (36, 22, 8, 10, 12, 12, 8, 8, 8, 8, 14), strict=True):
        ws.column_dimensions[col].width = width
    out = HERE / "企业名录.xlsx"
    wb.save(out)
    return out


CONTENT = {
    "煤矿": "通风、瓦斯防治、防治水、机电运输", "非煤矿山": "边坡稳定、爆破作业、排土场", "危险化学品": "重大危险源、特殊作业、自动化控制",
    "金属冶炼": "高温熔融金属、煤气区域、有限空间", "非高危行业": "粉尘防爆、有限空间、用电安全",
}


BASIS = {
    "执法检查": "《大同市应急管理局2025年度安全生产监督检查计划》",
    "督导检查": "《关于开展重点行业领域安全生产督导检查的通知》",
    "调查核查": "群众举报线索（大应急举〔2025〕12号交办单）",
}


def plan_rows(ents: list[dict[str, object]], n: int) -> list[dict[str, object]]:
    datong = [e for e in ents if e["所属市"] == "大同市" and e["标杆企业"] == "否"]
    rows = []
    day = date(2025, 3, 3)
    for k in range(n):
        e = datong[(k * 5) % len(datong)]
        kind = "执法检查" if k % 5 else ("督导检查" if k % 10 else "调查核查")
        length = RNG.choice((0, 1, 1, 2))
        rows.append({
            "企业名称": e["企业名称"], "统一社会信用代码": e["统一社会信用代码"], "所属县区": e["所属县区"],
            "行业类别": e["行业类别"], "等级": e["等级"], "检查类别": kind,
            "检查依据": BASIS[kind],
            "联合单位": "大同市消防救援支队" if k % 7 == 0 else "",
            "开始日期": day, "结束日期": day + timedelta(days=length), "组长": person(),
            "成员": "、".join(person() for _ in range(RNG.choice((1, 2, 3)))),
            "专家": person() if k % 3 == 0 else "", "检查内容": CONTENT[str(e["行业类别"])],
            "标杆企业": e["标杆企业"], "重点监管": e["重点监管"],
        })
        day += timedelta(days=RNG.choice((1, 2, 3)))
    return rows


def write_plan(rows: list[dict[str, object]], name: str) -> Path:
    out = write_template(HERE / name)
    wb = load_workbook(out)
    ws = wb["检查计划"]
    headers = [c.header for c in COLUMNS]
    ws.delete_rows(2)  # the example row: a clerk overwrites it
    for r, row in enumerate(rows, start=2):
        for c, h in enumerate(headers, start=1):
            ws.cell(r, c, row.get(h, ""))
    wb.save(out)
    return out


def main() -> None:
    ents = enterprises()
    print("wrote", write_registry(ents))
    good = plan_rows(ents, 40)
    print("wrote", write_plan(good, "检查计划-2025.xlsx"))
    bad = plan_rows(ents, 8)
    bad[1]["统一社会信用代码"] = str(bad[1]["统一社会信用代码"])[:-1] + ("0" if str(bad[1]["统一社会信用代码"])[-1] != "0" else "1")
    bad[2]["所属县区"] = "朔城区"
    bad[3]["结束日期"] = bad[3]["开始日期"] - timedelta(days=2)  # type: ignore[operator]
    bad[4]["组长"] = ""
    bad[5]["检查类别"] = "帮扶指导"
    bad[6]["开始日期"] = "2025年13月5日"
    bad[7]["企业名称"] = "大同市A&B<化工>有限公司"
    print("wrote", write_plan(bad, "检查计划-有错误.xlsx"))
    # A follow-up plan: a second 执法检查 of a 非煤矿山 A/B mine, whose annual cap is 1.
    first = next(r for r in good if r["行业类别"] == "非煤矿山" and r["等级"] in ("A", "B") and r["检查类别"] == "执法检查")
    extra = dict(first, 开始日期=date(2025, 6, 10), 结束日期=date(2025, 6, 10), 检查依据="《关于开展汛期安全生产专项执法检查的通知》")
    print("wrote", write_plan([extra], "检查计划-补充.xlsx"))


if __name__ == "__main__":
    main()
