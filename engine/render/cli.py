"""`ruqi templates check [--dir DIR] [--json]`: lint the form templates (thin over check_templates).

Wire it in engine/cli by calling ``register(app)`` (e.g. from a ``templates_cmd`` module).
Exit code 0 when there is no error (warnings allowed), 1 when there is one.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .lint import check_templates
from .templates import DEFAULT_TEMPLATES_DIR


def register(app: typer.Typer) -> None:
    templates = typer.Typer(no_args_is_help=True)  # its help: engine/cli COMMANDS

    @templates.command("check")
    def check_cmd(
        directory: Path = typer.Option(None, "--dir", help="模板目录（默认：程序自带的 templates/）"),
        as_json: bool = typer.Option(False, "--json", help="输出 JSON（每行一个对象），供程序读取"),
    ) -> None:
        """检查 .docx 和 HTML 模板：被拆开的占位符、语法错误、未知变量、缺少的二维码图片。"""
        from ..cli.common import console, esc, print_json

        tdir = directory or DEFAULT_TEMPLATES_DIR
        findings = check_templates(tdir)
        if as_json:
            for f in findings:
                print_json(f.to_dict())
        elif not findings:
            console.print(f"[green]✓[/green] 模板检查通过：{esc(tdir)}")
        else:
            for f in findings:
                mark = "[red]✗[/red]" if f.is_error else "[yellow]![/yellow]"
                console.print(f"{mark} {esc(f.message)}（{esc(f.code)}）")
            errors = sum(f.is_error for f in findings)
            console.print(f"共 {len(findings)} 个问题，其中 {errors} 个错误。")
        raise typer.Exit(1 if any(f.is_error for f in findings) else 0)

    app.add_typer(templates, name="templates")
