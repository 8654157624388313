"""`ruqi confirm`: the cards waiting for a person, and recording a person's reading (engine.confirm)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from ..confirm import ConfirmCode, ConfirmResult, WaitingCard, confirm, waiting_cards
from ..confirm_sheet import write_sheets
from ..findings import RuqiError, error
from ..readings import QUESTIONS
from .common import JsonOpt, WorkspaceOpt, console, esc, flag_zh, open_workspace, print_json, settle
from .table import Table


def register(app: typer.Typer) -> None:
    app.command("confirm")(confirm_cmd)


def confirm_cmd(
    ref: str = typer.Argument(None, metavar="检查编号或档号",
                              help="检查编号（如 140200-2025-0001）；读不出编号的卡写列表中的档号。不写时列出待核对的卡"),
    answers: str = typer.Option(None, "--answers", help="第1题到第10题的答案，10个“是”或“否”，如 否否是否否否否否否否"),
    questions: list[str] = typer.Option([], "--q", help="只录入一题，如 --q 3=是（可写多次）"),
    by: str = typer.Option("", "--by", help="核对人姓名（必填，记入审计日志）"),
    correct: bool = typer.Option(False, "--correct", help="更正已识读（机器或人工）的答案，须同时写 --reason"),
    reason: str = typer.Option("", "--reason", help="更正的理由，记入审计日志和纪委审查清单"),
    serial: str = typer.Option(None, "--serial", help="把读不出编号的卡对应到这个检查编号，或确认由文字识别的编号（核对卡上印的编号后填写）"),
    sheets: Path = typer.Option(None, "--sheets", help="列出待核对的卡时，核对单（每张卡一个 PNG，另有一个汇总 PDF）"
                                                       "写到这个文件夹，默认 outbox/待核对/"),
    no_sheets: bool = typer.Option(False, "--no-sheets", help="只列出，不写核对单"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    if not ref and (answers or questions or serial or correct):
        # Without a card named these were ignored and the waiting list printed: the clerk thought she had recorded them.
        raise RuqiError(error(ConfirmCode.NO_CARD_NAMED, "没有写是哪一张卡，什么也没有录入：请在 ruqi confirm 后面写检查编号"
                              "（读不出编号的卡写档号），例如 ruqi confirm 140200-2025-0001 --answers 否否是否否否否否否否 --by 姓名。"))
    if not ref:
        cards = waiting_cards(ws)
        made = None if no_sheets else write_sheets(ws, cards, sheets)
        if as_json:
            print_json({"waiting": [c.to_json() for c in cards],
                        "sheets": {"pdf": str(made.pdf) if made and made.pdf else None,
                                   "png": [str(p) for p in made.pngs] if made else []}})
            return
        print_waiting(cards)
        if made is not None and made.pdf is not None:
            console.print(f"核对单（可打印）：{esc(made.pdf)}；每张卡的图片在：{esc(made.folder)}")
        return
    res = confirm(ws, ref, answers=answers, questions=questions, by=by, correct=correct, reason=reason, serial=serial)
    settle(res, as_json)
    print_result(res)


def _machine_cell(c: WaitingCard, i: int) -> Text:
    now, machine = c.now.get(i), c.machine.get(i)
    if now is not None and now.resolved:
        who = "人工" if str(now.how) == "person" else "机器"
        return Text(f"{now.answer}（{who}）")
    if machine is None or machine.answer is None:
        return Text("？", style="bold red")
    return Text(f"{machine.answer}?{machine.confidence:.0%}", style="yellow")


def print_waiting(cards: list[WaitingCard]) -> None:
    if not cards:
        console.print("没有待核对的反馈卡。")
        return
    t = Table(title=f"待核对的反馈卡（{len(cards)}）", title_justify="left")
    for h in ("检查编号", "企业名称", "等待天数", "待核对的题", *(f"{i}" for i in QUESTIONS), "档号"):
        t.add_column(h, overflow="fold")
    for c in cards:
        open_q = "全部" if len(c.unresolved) == len(QUESTIONS) else "、".join(map(str, c.unresolved))
        serial = f"{c.serial}（文字识别，待核对）" if c.serial_unconfirmed else (c.serial or "（读不出，须对应）")
        open_q = open_q or ("检查编号" if c.serial_unconfirmed else "")
        t.add_row(Text(serial), Text(c.enterprise), str(c.days_waiting), Text(open_q),
                  *(_machine_cell(c, i) for i in QUESTIONS), Text(c.archival_code))
    console.print(t)
    console.print("每题：“？”为机器未能识读；“否?62%”为机器的识读及其把握，须人工确认；“否（人工）”为已录入。")
    console.print("录入：ruqi confirm 检查编号 --answers 否否是否否否否否否否 --by 姓名（或 --q 3=是 只录一题）；"
                  "读不出编号的卡：ruqi confirm 档号 --serial 检查编号 --answers … --by 姓名；"
                  "编号由文字识别、待核对的卡（二维码无法识别）：核对原图上印的编号后 ruqi confirm 档号 --serial 检查编号 --by 姓名。")


def print_result(res: ConfirmResult) -> None:
    who = f"{res.serial}（{res.enterprise}）" if res.serial else f"档号 {res.archival_code}"
    if res.tied:
        console.print(Text(f"已把档号 {res.archival_code} 的反馈卡对应到检查 {who}（核对人的确认已记入审计日志）。"))
    if res.recorded:
        got = "、".join(f"第{i}题“{a}”" for i, a in sorted(res.recorded.items()))
        console.print(Text(f"已录入 {who}：{got}。原件在档案中保持原样；审计日志已记录录入人、时间、机器识读和人工录入的答案。"))
    if res.unresolved:
        console.print(Text(f"还有第{'、'.join(map(str, res.unresolved))}题待核对。"), style="yellow")
    elif res.read_by is not None and res.recorded:
        console.print(Text("十题答案已齐：" + "".join(res.after[i] or "？" for i in QUESTIONS)))
    if res.yes:
        console.print(Text(f"第{'、'.join(map(str, res.yes))}题回答“是”，已列入纪委审查清单。"), style="bold red")
    if res.flags:
        console.print(Text("标记：" + "、".join(flag_zh(f) for f in res.flags)))
