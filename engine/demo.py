"""`ruqi demo`: the main job on samples/, start to finish, in a fresh workspace."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from . import workspace
from .generate import RowStatus, generate

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run_demo(directory: Path, console: Console) -> int:
    if directory.exists():
        shutil.rmtree(directory)
    ws = workspace.init(directory)
    console.rule("1. 新建工作目录")
    console.print(f"{ws.root}（{ws.config.name}）")

    console.rule("2. 按示例计划批量生成文书")
    from .cli.generate_cmd import print_result

    good = generate(ws, SAMPLES / "检查计划-2025.xlsx")
    print_result(good)

    console.rule("3. 有错误的计划：逐行逐列说明错误，正确的行照常生成")
    bad = generate(ws, SAMPLES / "检查计划-有错误.xlsx")
    print_result(bad)

    console.rule("4. 同一计划再生成一次：不重复登记、不重复计数")
    again = generate(ws, SAMPLES / "检查计划-2025.xlsx", formats=("docx",))
    console.print(f"已在台账中的检查：{sum(o.existing for o in again.outcomes)} / {again.count(RowStatus.GENERATED)}")

    ok = good.count(RowStatus.GENERATED) > 0 and bad.count(RowStatus.INVALID) > 0
    console.rule("演示完成" if ok else "演示未按预期完成")
    return 0 if ok else 1
