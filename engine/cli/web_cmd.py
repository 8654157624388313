"""`ruqi serve` (the web site) and `ruqi user add | list | disable` (its accounts)."""

from __future__ import annotations

import errno
import getpass
import socket
import sys
from pathlib import Path

import typer

from ..accounts import ROLE_ZH, Role, add_user, list_users, set_disabled
from ..findings import RuqiError, error
from ..web import DEFAULT_HOST, DEFAULT_PORT
from ..workspace import os_reason
from .common import CliCode, WorkspaceOpt, add_group, cells, console, esc, open_workspace
from .table import Table
from .values import day_option

ROLE_HELP = "角色：" + "、".join(f"{r.value}（{ROLE_ZH[r]}）" for r in Role)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
    add_group(app, "user", {
        "add": (user_add_cmd, "新建网页账号（密码从终端输入两次，或从标准输入读一行）。"),
        "list": (user_list_cmd, "列出网页账号和角色。"),
        "disable": (user_disable_cmd, "停用网页账号：不能再登录，已登录的浏览器立即退出（--enable 重新启用）。"),
    })


def serve_cmd(
    ws_path: Path = WorkspaceOpt,
    host: str = typer.Option(DEFAULT_HOST, "--host", help="监听地址；默认只允许本机访问。局域网使用请按 README 配置反向代理和 HTTPS"),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="端口"),
    today: str = typer.Option(None, "--today", help="统计日（判断逾期、首页的本年本月用），默认今天"),
) -> None:
    from ..web.server import serve  # deferred: FastAPI and uvicorn load only for the site

    if not 0 < port < 65536:
        raise typer.BadParameter(f"端口要在 1 到 65535 之间，例如 {DEFAULT_PORT}（现为 {port}）。", param_hint="--port")
    ws = open_workspace(ws_path)
    day = day_option(today, "--today")
    problem = cannot_listen(host, port)
    if problem is not None:
        raise RuqiError(error(CliCode.WEB_CANNOT_LISTEN, problem))
    shown = f"[{host}]" if ":" in host else host
    console.print(f"网页地址：http://{esc(shown)}:{port}/　（按 Ctrl+C 停止）")
    if not list_users(ws):
        console.print("[yellow]还没有网页账号：请先运行 ruqi user add 姓名 --role clerk（或 reviewer、admin）。[/yellow]")
    serve(ws.root, host, port, today=day)
    console.print("网页已停止。")  # Ctrl+C: uvicorn shuts down and returns


def cannot_listen(host: str, port: int) -> str | None:
    """Why the site could not listen on ``host:port``, tried before uvicorn does: uvicorn says it in
    English, with a traceback for a port it cannot use at all."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError):  # no such name (its message is the resolver's English)
        return f"监听地址“{host}”无法识别：请写 127.0.0.1（只允许本机访问），或本机的一个 IP 地址。"
    try:
        with socket.create_server((host, port), family=family):
            return None
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return f"端口 {port} 已被占用（可能 ruqi serve 已经在运行）：请先停止它，或用 --port 换一个端口。"
        if e.errno == errno.EADDRNOTAVAIL:
            return f"“{host}”不是本机的地址：请写 127.0.0.1（只允许本机访问），或本机的一个 IP 地址。"
        return f"无法在 {host} 的 {port} 端口上提供网页：{os_reason(e)}。"


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("密码：")
        if getpass.getpass("再输入一次：") != first:
            raise RuqiError(error(CliCode.PASSWORD_MISMATCH, "两次输入的密码不一致，账号没有建立。"))
        return first
    return sys.stdin.readline().rstrip("\r\n")


def user_add_cmd(
    name: str = typer.Argument(..., metavar="用户名", help="登录用的名字，如 张三"),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    reset: bool = typer.Option(False, "--reset", help="账号已存在时，重设其密码和角色（其已登录的会话失效）"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    user = add_user(ws, name, role, _password(), replace=reset, actor=actor)
    console.print(f"已{'重设' if reset else '建立'}网页账号：{esc(user.name)}（{user.role.zh}）。")


def user_list_cmd(ws_path: Path = WorkspaceOpt) -> None:
    ws = open_workspace(ws_path)
    t = Table(title="网页账号")
    for col in ("用户名", "角色", "建立时间", "建立人", "状态"):
        t.add_column(col)
    for u in list_users(ws):
        t.add_row(*cells(u.name, u.role.zh, f"{u.created_at:%Y-%m-%d %H:%M}", u.created_by, "停用" if u.disabled else "可用"))
    console.print(t)


def user_disable_cmd(
    name: str = typer.Argument(..., metavar="用户名", help="要停用或重新启用的账号名"),
    enable: bool = typer.Option(False, "--enable", help="重新启用已停用的账号"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    user = set_disabled(ws, name, not enable, actor=actor)
    console.print(f"已{'启用' if enable else '停用'}网页账号：{esc(user.name)}（{user.role.zh}）。")
