"""A city workspace inspecting in several counties: each card prints the enterprise's own county's
supervision mailbox and phone (ruqi.toml [contacts."<县区>"]), in the Word and the PDF version."""

from __future__ import annotations

import pytest
from _plan_fixtures import GOOD, _plan
from _render_fixtures import docx_text, pdf_text, squash

from engine.findings import RuqiError
from engine.generate import RowStatus, generate
from engine.identifiers import make_uscc
from engine.workspace import ConfigCode, Workspace

COUNTY_TABLES = '''
[contacts."平城区"]
supervision_email = "zfjd-pc@pingcheng.gov.cn"
supervision_phone = "0352-6100001"
discipline_email = "jw-pc@pingcheng.gov.cn"
discipline_phone = "0352-6100002"

[contacts."云冈区"]
supervision_email = "zfjd@yungang.gov.cn"
supervision_phone = "0352-6200001"
'''


def with_county_contacts(ws: Workspace) -> Workspace:
    toml = ws.root / "ruqi.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("\n[texts]", COUNTY_TABLES + "\n[texts]"), encoding="utf-8")
    return Workspace.open(ws.root)


def row(county: str, code: str, name: str) -> dict[str, object]:
    return GOOD | {"企业名称": name, "所属县区": county, "统一社会信用代码": make_uscc(f"9114{code[2:]}MA0K0001X")}


def test_each_card_prints_its_own_countys_contacts(ws: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ws = with_county_contacts(ws)
    plan = _plan(tmp_path / "plan.xlsx", [row("平城区", "140213", "大同市平城区恒泰机械有限公司"),
                                          row("云冈区", "140214", "大同市云冈区同煤机械有限公司"),
                                          row("左云县", "140226", "左云县北岳矿业有限公司")])
    result = generate(ws, plan, workers=1)
    assert [o.status for o in result.outcomes] == [RowStatus.GENERATED] * 3, [o.findings for o in result.outcomes]
    # 平城区: its own table; 云冈区: its own mailbox and phone, the 纪委 lines it left out from [contacts."县"];
    # 左云县: no table of its own, so [contacts."县"] as ruqi init wrote it.
    expected = {
        0: ("zfjd-pc@pingcheng.gov.cn", "0352-6100001", "jw-pc@pingcheng.gov.cn", "0352-6100002"),
        1: ("zfjd@yungang.gov.cn", "0352-6200001", "jw-xian@dtyjj.gov.cn", "0352-6000002"),
        2: ("zfjd-xian@dtyjj.gov.cn", "0352-6000001", "jw-xian@dtyjj.gov.cn", "0352-6000002"),
    }
    for i, o in enumerate(result.outcomes):
        for fmt, read in (("pdf", pdf_text), ("docx", docx_text)):
            text = squash(read(o.forms[("card", fmt)])).replace("\u2011", "-")
            sup_email, sup_phone, dis_email, dis_phone = expected[i]
            county_part = text[text.index("3.县应急局"):]
            assert f"邮箱{sup_email}，监督电话：{sup_phone}；机关纪委邮箱{dis_email}、监督电话：{dis_phone}" in county_part, \
                (i, fmt, county_part)
            others = {e for j, vals in expected.items() if j != i for e in vals if e not in expected[i]}
            assert not [e for e in others if e in county_part], (i, fmt)


def test_a_misspelt_county_table_is_named_with_the_nearest_county(ws: Workspace) -> None:
    toml = ws.root / "ruqi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "\n[texts]", '\n[contacts."平城县"]\nsupervision_email = "a@b.cn"\n\n[texts]'), encoding="utf-8")
    with pytest.raises(RuqiError) as e:
        Workspace.open(ws.root)
    (f,) = e.value.findings
    assert f.code == ConfigCode.UNKNOWN_TABLE and "平城区" in f.message and f.where == "ruqi.toml [contacts.平城县]"
