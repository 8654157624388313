"""`ruqi register`: the year's register summary, and the shared register of the province or city
(`setup`, `add-bureau`, `visits`, `import`, `sync`)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import typer
from rich.text import Text

from ..db import reading, session
from ..findings import RuqiError, error
from ..forms import INSPECTION_KINDS, InspectionKind
from ..register import summary, write_summary_xlsx
from ..register_import import import_visits
from ..shared_register import add_bureau, enterprise_year, setup, sync
from .common import (
    CliCode,
    JsonOpt,
    WorkspaceOpt,
    add_group,
    cells,
    console,
    err_console,
    esc,
    open_workspace,
    print_json,
)
from .table import Table

KINDS = INSPECTION_KINDS
SOURCE_ZH = {"ruqi": "ruqi 生成", "offline": "离线生成后补报", "import": "导入（互联网+执法或纸质）", "local": "本局"}


def register(app: typer.Typer) -> None:
    add_group(app, "register", {
        "setup": (setup_cmd, "（台账管理员）建立或升级共享台账的数据库结构；其他单位连接时也可运行。"),
        "add-bureau": (add_bureau_cmd, "（台账管理员）为一个单位建立账号和权限，打印它在 ruqi.toml 中要填的几行。"),
        "visits": (visits_cmd, "查询一家企业本年度在省、市、县三级的全部入企检查，按类别列出剩余次数（扫码入企前查询）。"),
        "import": (import_cmd, "导入在 ruqi 之外进行的检查（互联网+执法、纸质登记）的 Excel 表，逐行核对，说明不能导入的行。"),
        "sync": (sync_cmd, "把离线生成（--offline）时登记的检查补报到共享台账，报告超过年度上限的检查。"),
    }, alone=summary_cmd)


def summary_cmd(
    year: int = typer.Option(date.today().year, "--year", help="年度"),
    out: Path = typer.Option(None, "--out", help="另存为 Excel"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    with reading(), session(ws) as s:
        rows = summary(s, year)
    if as_json:
        for r in rows:
            print_json({"enterprise": r.enterprise, "uscc": r.uscc, "county": r.county, "industry": r.industry,
                        "grade": r.grade, "overrides": r.overrides,
                        "kinds": {k: {"done": c.done, "cap": c.cap, "left": c.left} for k, c in r.kinds.items()}})
        return
    t = Table(title=f"{year}年度入企检查台账（{esc(ws.config.name)}）")
    for h in ("县区", "企业", "行业/等级", *[f"{k}（已/上限）" for k in KINDS], "超次数批准"):
        t.add_column(h)
    for r in rows:
        marks = []
        for k in KINDS:
            c = r.kinds[k]
            txt = f"{c.done}/{'不限' if c.cap is None else c.cap}"
            marks.append(f"[red]{txt}[/red]" if c.over else txt)
        t.add_row(*cells(r.county, r.enterprise, f"{r.industry}/{r.grade}"), *marks, str(r.overrides or ""))
    console.print(t)
    if ws.config.register is not None:
        console.print("本表只列本局登记的检查；某家企业在省、市、县三级的全部检查请用 ruqi register visits --uscc 查询。")
    if out:
        write_summary_xlsx(rows, out, year)
        console.print(f"已另存为：{esc(out)}")


AdminUrl = typer.Argument(..., metavar="管理地址", help="共享台账数据库的管理员地址，如 postgresql://postgres@10.14.2.5:5432/ruqi_register")


def setup_cmd(admin_url: str = AdminUrl) -> None:
    before, after = setup(admin_url)
    if before == after:
        console.print(f"共享台账已是最新版本（第{after}版），无需升级。")
    elif before == 0:
        console.print(f"已建立共享台账（第{after}版）。下一步：为每个单位运行 ruqi register add-bureau。")
    else:
        console.print(f"已把共享台账从第{before}版升级到第{after}版；已连接的单位无需重新登录。")


def add_bureau_cmd(
    admin_url: str = AdminUrl,
    name: str = typer.Option(..., "--name", help="单位全称，如 大同市平城区应急管理局"),
    level: str = typer.Option(..., "--level", help="省、市 或 县"),
    division_code: str = typer.Option(..., "--division-code", help="6位行政区划代码，如 140213"),
    password_out: Path = typer.Option(None, "--password-out", help="把密码写入这个文件（权限 600），交给该单位放在工作目录中"),
) -> None:
    secret = _reserve_password_file(password_out) if password_out is not None else None
    try:
        added = add_bureau(admin_url, name, level, division_code)
    except BaseException:
        if secret is not None and password_out is not None:  # nothing was set up: no empty file left behind
            os.close(secret)
            password_out.unlink(missing_ok=True)
        raise
    b = added.bureau
    console.print(Text(f"已{'建立' if added.created else '重设'}{b.name}（{b.level}，{b.division_code}）的共享台账账号 {b.role_name}："
                       "可以查询所有单位的检查，只能登记本单位的检查。"))
    console.print("请该单位在 ruqi.toml 末尾加上以下几行：")
    typer.echo(added.toml_lines())  # never wrapped: these lines are copied as they are
    if secret is not None:
        with os.fdopen(secret, "w", encoding="utf-8") as f:
            f.write(added.password + "\n")
        console.print(Text(f"密码已写入 {password_out}（权限 600）：请把它安全地交给该单位，放在其工作目录中，命名为 register.pass。"))
    else:
        typer.echo(f"密码（只显示这一次）：{added.password}")
        console.print("请该单位把密码单独存入工作目录中的 register.pass，并运行 chmod 600 register.pass；"
                      "也可以设置环境变量 RUQI_REGISTER_PASSWORD。密码不要写在 ruqi.toml 中。")


def _reserve_password_file(path: Path) -> int:
    """The password file, made empty with mode 600 before the account is set up: never readable by
    others, even for a moment, and an existing file (another bureau's password) is never replaced,
    nor an account set up whose password would then have nowhere to go."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # O_EXCL: a symlink counts as there
    except FileExistsError:
        raise RuqiError(error(CliCode.PASSWORD_FILE_EXISTS,
                              f"文件“{path}”已存在：为免覆盖其中的内容，没有写入密码，也没有建立账号。"
                              "请换一个文件名，或者先把原文件移走，再运行一次。", str(path))) from None


def visits_cmd(
    uscc: str = typer.Option(..., "--uscc", help="统一社会信用代码"),
    year: int = typer.Option(date.today().year, "--year", help="年度"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    rec = enterprise_year(ws, uscc.strip().upper(), year)
    if as_json:
        print_json(rec.to_json())
        return
    where = "省、市、县三级共享台账" if rec.shared else "本局台账（未连接共享台账，只含本局和导入的检查）"
    console.print(Text(f"{rec.enterprise or rec.uscc}（{rec.uscc}）{year}年度入企检查，据{where}："))
    if not rec.visits:
        console.print("  本年度尚无入企检查记录。")
    t = Table()
    for h in ("第N次", "检查类别", "第M次", "日期", "检查单位", "级别", "检查编号", "来源"):
        t.add_column(h, overflow="fold")
    for v in rec.visits:
        t.add_row(*cells(v.numbers[0], v.kind, v.numbers[1], f"{v.start:%Y-%m-%d}至{v.end:%Y-%m-%d}", v.bureau, v.level,
                         v.serial, SOURCE_ZH.get(v.source, v.source) + ("（超上限）" if v.conflict else "")))
    if rec.visits:
        console.print(t)
    for a in rec.allowances:
        left = "不限次数" if a.cap is None and a.kind == InspectionKind.INVESTIGATION else (
            f"还可 {a.left} 次（上限 {a.cap} 次）" if a.cap is not None else a.rule)
        console.print(Text(f"  {a.kind}：已 {a.done} 次，{left}"), style="red" if a.left == 0 else None)


def import_cmd(
    file: Path = typer.Argument(..., metavar="文件", help="Excel 表（.xlsx）"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    res = import_visits(ws, file, actor=actor)
    if as_json:
        print_json(res.to_json())
        raise typer.Exit(0 if res.findings.ok else 1)
    for f in res.findings:
        mark, style = ("✗", "red") if f.is_error else ("!", "yellow")
        console.print(Text(f"{mark} {f.where + '：' if f.where else ''}{f.message}（{f.code}）"), style=style)
    console.print(f"共 {res.rows} 行：导入 {len(res.imported)}，已在台账中 {res.duplicates}，不能导入 {res.rejected}。")
    raise typer.Exit(0 if not res.rejected and res.findings.ok else 1)


def sync_cmd(as_json: bool = JsonOpt, ws_path: Path = WorkspaceOpt) -> None:
    ws = open_workspace(ws_path)
    if ws.config.register is None:
        err_console.print("本工作目录没有配置共享台账（ruqi.toml 中没有 \\[register]），无需补报。")
        raise typer.Exit(1)
    res = sync(ws)
    if as_json:
        print_json(res.to_json())
        raise typer.Exit(0 if not res.conflicts and res.findings.ok else 1)
    for f in res.findings:
        mark, style = ("✗", "red") if f.is_error else ("!", "yellow")
        console.print(Text(f"{mark} {f.message}（{f.code}）"), style=style)
    if not res.findings.ok:
        raise typer.Exit(1)
    console.print(f"已补报 {len(res.pushed)} 次检查（离线登记的，或加入共享台账前登记的；其中超过年度上限 {len(res.conflicts)} 次，"
                  "已列入纪委审查清单），"
                  f"同步作废 {len(res.voided)} 次。")
    raise typer.Exit(1 if res.conflicts else 0)

