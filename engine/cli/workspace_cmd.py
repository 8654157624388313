"""`ruqi init` and `ruqi demo`."""

from __future__ import annotations

from pathlib import Path

import typer

from .. import workspace
from ..divisions import CITIES
from .common import console, esc


def register(app: typer.Typer) -> None:
    app.command("init")(init_cmd)
    app.command("demo")(demo_cmd)


def init_cmd(
    directory: Path = typer.Argument(Path("."), metavar="工作目录", help="工作目录"),
    name: str = typer.Option("大同市应急管理局", "--name", help="本局全称"),
    level: str = typer.Option("市", "--level", help="省 / 市 / 县"),
    division_code: str = typer.Option("140200", "--division-code", help="行政区划代码"),
    new_key: bool = typer.Option(False, "--new-key", help="密钥 ruqi.key 和备份都已丢失、确实无法恢复时，生成新密钥"),
) -> None:
    ws = workspace.init(directory, name=name, level=level, division_code=division_code, new_key=new_key)
    console.print(f"工作目录已就绪：{esc(ws.root)}")
    city = CITIES.get(ws.config.division_code, ws.config.division_code)
    console.print(f"  本局：{esc(ws.config.name)}（{esc(ws.config.level)}级，{esc(city)}）")
    console.print(f"  请核对 {esc(ws.root / workspace.CONFIG_NAME)} 中的举报电话、邮箱和三级监督联系方式。")
    console.print(f"  二维码签名密钥 {workspace.KEY_NAME} 已备份为 {workspace.KEY_BACKUP_NAME}；请另外复制一份到 U 盘妥善保存。")


def demo_cmd(
    directory: Path = typer.Argument(Path("demo"), metavar="工作目录", help="演示用的工作目录（会新建）"),
) -> None:
    from ..demo import run_demo

    raise typer.Exit(run_demo(directory, console))
