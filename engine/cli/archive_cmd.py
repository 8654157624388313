"""`ruqi archive verify | search | show | log | repair`.

``archive.…`` and ``engine.repair_workspace`` load on first use (engine/lazy.py): `archive search`
runs its query without loading the verification or the recovery of the register."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

import engine

from .. import archive
from ..archive import IndexCode
from ..archive.numbering import RETENTIONS
from ..archive.store import FIELD_LABELS, ItemRow
from ..db import reading
from ..findings import RuqiError, error
from ..forms import QUESTION_NUMBERS, FormType
from .common import (
    FLAG_ZH,
    CliCode,
    JsonOpt,
    WorkspaceOpt,
    add_group,
    cells,
    console,
    esc,
    flag_zh,
    open_workspace,
    print_json,
)
from .table import Table
from .values import choice_option, day_option

PER_CODE = 10  # findings printed per code; --json has them all
FORM_TYPES = {t.value: t.zh for t in FormType}
ACTIONS = {a.value: a.zh for a in archive.Action}
FORM_TYPE_HELP = "文种：" + "、".join(f"{k}（{v}）" for k, v in FORM_TYPES.items())
FLAG_HELP = "标记：" + "、".join(f"{k}（{v}）" for k, v in FLAG_ZH.items())
ACTION_HELP = "只看某类操作：" + "、".join(f"{k}（{v}）" for k, v in ACTIONS.items())


def register(app: typer.Typer) -> None:
    add_group(app, "archive", {
        "verify": (verify_cmd, "四性检测（真实性、完整性、可用性、安全性）。全部通过时退出码为 0。"),
        "search": (search_cmd, "按企业、信用代码、检查编号、县区、文种、日期、标记检索归档文件。"),
        "show": (show_cmd, "显示一件归档文件的全部元数据（按档号，或 --json 输出中的 id）。"),
        "log": (log_cmd, "显示审计日志（最近的条目）。"),
        "repair": (repair_cmd, "清理中断的归档留下的临时文件，补完已登记但未落盘的文件。"),
    })


def verify_cmd(
    workspace: Path = WorkspaceOpt,
    deep: bool = typer.Option(False, "--deep", help="用各格式的解析器逐个打开全部文件，并核对 SM3（较慢）"),
    sample: int = typer.Option(20, "--sample", help="不加 --deep 时，随机抽取多少个文件用解析器打开"),
    as_json: bool = JsonOpt,
    actor: str = typer.Option(None, "--actor", help="操作人（默认为系统用户名）"),
) -> None:
    ws = open_workspace(workspace, check_index=False)  # a database behind the archive is worth a report too
    if sample < 0:
        raise typer.BadParameter(f"抽查件数应为 0 或正整数（现为 {sample}）。", param_hint="--sample")
    rep, behind = archive.verify_and_record(ws, deep=deep, sample=sample, actor=actor)
    if as_json:
        print_json(rep.to_dict() | ({"index": behind.to_dict()} if behind else {}))
    else:
        _print_report(rep)
        if behind is not None:
            console.print(f"[red]{esc(behind.message)}（{esc(behind.code)}）[/red]")
    raise typer.Exit(0 if rep.ok and behind is None else 1)


def _print_report(rep: archive.VerifyReport) -> None:
    mb = rep.bytes / 1e6
    console.print(f"检测 {rep.items} 件（{mb:.1f} MB），审计日志 {rep.entries} 条，用时 {rep.seconds:.1f} 秒；"
                  f"{'全部文件' if rep.deep else f'抽查 {rep.parsed} 个文件'}用解析器打开。")
    for check, found in rep.by_check().items():
        errors = [f for f in found if f.is_error]
        mark = "[green]通过[/green]" if not errors else f"[red]{len(errors)} 处问题[/red]"
        console.print(f"  {check}：{mark}" + (f"（另有 {len(found) - len(errors)} 条提示）" if len(found) > len(errors) else ""))
    shown: Counter[str] = Counter()
    for f in rep.findings:
        shown[f.code] += 1
        if shown[f.code] <= PER_CODE:
            # As every other command prints a finding: what is wrong, then its code (it led the line before).
            mark, color = ("✗", "red") if f.is_error else ("!", "yellow")
            console.print(f"  [{color}]{mark}[/{color}] {esc(f.located('{}：'))}（{esc(f.code)}）")
    for code, n in shown.items():
        if n > PER_CODE:
            console.print(f"  ……{archive.code_zh(code) or '同类问题'}（{code}）另有 {n - PER_CODE} 条（用 --json 查看全部）")
    console.print(f"审计日志末条哈希：{esc(rep.head)}")
    console.print("[green]四性检测全部通过。[/green]" if rep.ok else "[red]四性检测未通过。[/red]")


def search_cmd(
    workspace: Path = WorkspaceOpt,
    enterprise: str = typer.Option(None, "--enterprise", "-e", help="企业名称（可只写一部分）"),
    uscc: str = typer.Option(None, "--uscc", help="统一社会信用代码"),
    serial: str = typer.Option(None, "--serial", "-s", help="检查编号，如 140200-2025-0001"),
    county: str = typer.Option(None, "--county", help="县区"),
    form_type: str = typer.Option(None, "--form-type", "-t", help=FORM_TYPE_HELP),
    date_from: str = typer.Option(None, "--from", help="文件日期起（含），如 2025-03-01"),
    date_to: str = typer.Option(None, "--to", help="文件日期止（含）"),
    flag: str = typer.Option(None, "--flag", help=FLAG_HELP),
    year: int = typer.Option(None, "--year", help="年度"),
    latest: bool = typer.Option(False, "--latest", help="只列最新版本（不列已被替代的）"),
    as_json: bool = JsonOpt,
) -> None:
    form_type = choice_option(form_type, "--form-type", FORM_TYPES)
    flag = choice_option(flag, "--flag", FLAG_ZH)
    ws = open_workspace(workspace)
    with reading():
        rows = archive.search(ws, enterprise=enterprise, uscc=uscc, serial=serial, county=county, form_type=form_type,
                              date_from=day_option(date_from, "--from"), date_to=day_option(date_to, "--to"), flag=flag,
                              year=year, latest_only=latest)
    if as_json:
        for r in rows:
            print_json(r.to_dict())
        return
    table = Table(title=f"检索到 {len(rows)} 件")
    # The 档号 is what a clerk copies: never cut it; everything else may wrap in a narrow window.
    table.add_column("档号", no_wrap=True, min_width=25)
    table.add_column("文种", overflow="fold")
    table.add_column("日期", no_wrap=True, min_width=10)
    for col in ("检查编号", "企业", "县区", "标记"):
        table.add_column(col, overflow="fold")
    for r in rows:
        form = f"{FormType.label(r.form_type, short=True)}{f' v{r.version}' if r.version > 1 else ''} {r.format}"
        table.add_row(*cells(r.archival_code, form, r.date.isoformat(), r.serial, r.enterprise, r.county,
                             "、".join(flag_zh(f) for f in r.flags)))
    console.print(table)
    if rows:
        console.print(f"文件位于 {esc(ws.archive)}；用 ruqi archive show <档号> 查看路径和全部信息。")


def show_cmd(key: str = typer.Argument(..., metavar="编号或档号", help="档号（ruqi archive search 列出），或 --json 输出中的 id"), workspace: Path = WorkspaceOpt,
             as_json: bool = JsonOpt) -> None:
    ws = open_workspace(workspace)
    with reading():
        item = archive.get_item(ws, key)
    if item is None:
        raise RuqiError(error(CliCode.ARCHIVE_NOT_FOUND, f"找不到归档文件“{key}”。"))
    if as_json:
        print_json(item.to_dict())
        return
    for label, value in describe_item(item):
        console.print(f"{label}：{esc(value)}")
    console.print(f"（程序读取的全部字段：ruqi archive show {esc(item.archival_code)} --json）")


def describe_item(r: ItemRow) -> list[tuple[str, str]]:
    """An archived item as a clerk reads it: Chinese field names, codes with their labels, no Python values."""
    L = FIELD_LABELS  # noqa: N806
    lines = [
        (L["archival_code"], r.archival_code), (L["form_type"], f"{FormType.label(r.form_type)}（{r.form_type}）"),
        (L["title"], r.title), (L["responsible"], r.responsible), (L["doc_date"], r.date.isoformat()),
        (L["serial"], r.serial or "—"), (L["enterprise"], r.enterprise or "—"), (L["uscc"], r.uscc or "—"),
        (L["county"], r.county or "—"), (L["original_name"], r.original_name), ("文件位置", str(r.path)),
        (L["format"], f"{r.format} {r.format_version}".strip()), (L["size"], f"{r.size} 字节"),
        (L["sha256"], r.sha256), (L["sm3"], r.sm3), (L["version"], str(r.version)),
        (L["supersedes"], "—" if r.supersedes is None else f"第 {r.supersedes} 条"),
        (L["flags"], "、".join(flag_zh(f) for f in r.flags) or "—"),
        (L["retention"], f"{RETENTIONS.get(r.retention, r.retention)}（{r.retention}）"),
        (L["received_at"], "—" if r.received_at is None else f"{r.received_at:%Y-%m-%d %H:%M:%S}"),
        (L["filed_at"], f"{r.filed_at:%Y-%m-%d %H:%M:%S}"), (L["actor"], r.actor), (L["id"], str(r.id)),
    ]
    answers = r.extra.get("answers")
    if isinstance(answers, dict) and any(answers.values()):
        lines.append(("答案", "；".join(f"第{q}题 {answers.get(str(q)) or '未读出'}" for q in QUESTION_NUMBERS)))
    mail = r.extra.get("mail")
    if isinstance(mail, dict):
        lines.append(("邮件来源", f"{mail.get('sender', '')}，服务器收到 {str(mail.get('received_at', '')).replace('T', ' ')}，"
                                f"主题“{mail.get('subject', '')}”，邮件编号 {mail.get('message_id', '')}"))
    return lines


def log_cmd(
    workspace: Path = WorkspaceOpt,
    limit: int = typer.Option(50, "--limit", "-n", min=0, help="显示最近多少条（0 为全部）"),
    action: str = typer.Option(None, "--action", help=ACTION_HELP),
    as_json: bool = JsonOpt,
) -> None:
    action = choice_option(action, "--action", ACTIONS)
    ws = open_workspace(workspace, check_index=False)
    with reading():
        entries = archive.audit_log(ws, limit=limit or None, action=action)
    if as_json:
        for e in entries:
            print_json(e.to_dict())
        return
    table = Table(title="审计日志")
    for col in ("序号", "时间", "操作人", "操作", "对象", "哈希"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(*cells(e.seq, e.at[:19].replace("T", " "), e.actor, archive.action_zh(e.action), e.object,
                             e.hash[:12] + "…"))
    console.print(table)


def repair_cmd(
    workspace: Path = WorkspaceOpt,
    actor: str = typer.Option(None, "--actor", help="操作人"),
    accept_audit_log: str = typer.Option(
        None, "--accept-audit-log",
        help="理由。四性检测报告审计日志末尾被截去（如从备份恢复了数据库）且已查明原因时，承认日志现状；理由和原末条记录写入审计日志"),
) -> None:
    ws = open_workspace(workspace, check_index=False)
    if accept_audit_log is not None and not accept_audit_log.strip():
        raise RuqiError(error(CliCode.ARCHIVE_REASON_REQUIRED, "--accept-audit-log 需要写明理由，例如 --accept-audit-log \"2025-06-01 从备份恢复数据库\"。"))
    # What the archive's journal can give back is restored first; only the rest is accepted.
    rep = engine.repair_workspace(ws, actor=actor)
    if accept_audit_log is not None:
        entry = archive.accept_audit_log(ws, accept_audit_log.strip(), actor=actor)
        console.print(f"已在审计日志第 {entry.seq} 条记录：承认审计日志现状（理由：{esc(accept_audit_log.strip())}）。")
        rep.problems = [f for f in rep.problems if f.code not in (IndexCode.BEHIND, IndexCode.LOST)]
    if rep.set_aside:
        console.print(f"[yellow]数据库文件已损坏（{esc(rep.damage)}），已移到 {esc(rep.set_aside)} 留存，并新建了数据库。[/yellow]")
    if rep.replayed:
        console.print(f"已从档案中的日志副本恢复审计日志 {rep.replayed} 条、归档条目 {rep.items_restored} 件（档号、件号不变）。")
    visits = rep.restored.get("visits", 0)
    if visits:
        console.print(f"已恢复台账中的检查 {visits} 次（含反馈卡交回情况）。")
    lost = rep.restored.get("serials_without_visit") or []
    if lost and (rep.replayed or visits):
        console.print(f"[yellow]以下检查编号在档案中有文书，但台账记录无法恢复（由旧版本生成），这些编号不会再次使用：{esc('、'.join(lost))}"
                      "[/yellow]")
    for p in rep.completed:
        console.print(f"已补完：{esc(p)}")
    for p in rep.removed:
        console.print(f"已删除临时文件：{esc(p)}")
    for p in rep.in_flight:
        console.print(f"[yellow]正在写入（另一进程），未处理：{esc(p)}[/yellow]")
    for f in rep.problems:
        color = "red" if f.is_error else "yellow"
        console.print(f"[{color}]{esc(f.message)}（{esc(f.code)}）[/{color}]")
    if not (rep.changed or rep.in_flight or rep.problems or accept_audit_log):
        console.print("没有需要修复的内容。")
    elif rep.changed:
        console.print("修复完成。请运行 ruqi archive verify 做一次四性检测核对。")
    raise typer.Exit(1 if any(f.is_error for f in rep.problems) else 0)

