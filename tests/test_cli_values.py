"""Option values converted without pydantic (engine/cli/values.py) are exactly what typer's own
conversion gives: the same value, or the same (Chinese) usage error; and a command group built by
``add_group`` does its own job only when called without a subcommand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer import _coercion
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer.core import TyperOption
from typer.models import OptionInfo
from typer.testing import CliRunner

from engine.cli import app, values
from engine.identifiers import make_uscc
from engine.workspace import init

# What clerks type, and what they should not: digits with signs, zeros, spaces, underscores, decimals,
# full-width digits, a number too long for a machine word, paths that exist and do not.
TYPED: dict[Any, list[Any]] = {
    int: ["2025", "0", "007", "-3", "+3", " 5", "5 ", "1_000", "12.0", "1e3", "abc", "", "２０２５", "9" * 30, 2025],
    str: ["140200-2025-0001", "", "  大同市  ", "[red]x[/red]", "--json"],
    bool: [True, False],
}


def _converted(rt: _coercion.RuntimeParam, value: Any, param: TyperOption) -> tuple[str, Any]:
    ctx = Context(typer.main.get_command(app))
    try:
        return "value", rt.coerce(value, param=param, ctx=ctx)
    except BadParameter as e:
        return "error", e.message


def _pair(annotation: Any, info: OptionInfo) -> tuple[_coercion.RuntimeParam, _coercion.RuntimeParam, TyperOption]:
    desc = _coercion.resolve_type_descriptor(annotation, info)
    param = TyperOption(param_decls=["--x"], type_descriptor=desc)
    return values.runtime_param(desc), _coercion.build_runtime_param(desc), param


@pytest.mark.parametrize("annotation", [int, str, bool])
def test_plain_values_convert_as_typer_converts_them(annotation: Any) -> None:
    direct, typer_own, param = _pair(annotation, OptionInfo())
    assert isinstance(direct, values.DirectRuntimeParam)
    for value in TYPED[annotation]:
        got, want = _converted(direct, value, param), _converted(typer_own, value, param)
        assert got == want and type(got[1]) is type(want[1]), value


def test_paths_convert_as_typer_converts_them(tmp_path: Path) -> None:
    (tmp_path / "plan.xlsx").write_bytes(b"x")
    typed = [str(tmp_path), str(tmp_path / "plan.xlsx"), str(tmp_path / "missing"), ".", "", "计划.xlsx", tmp_path]
    for info in (OptionInfo(), OptionInfo(exists=True), OptionInfo(exists=True, dir_okay=False),
                 OptionInfo(exists=True, file_okay=False), OptionInfo(resolve_path=True)):
        direct, typer_own, param = _pair(Path, info)
        assert isinstance(direct, values.DirectRuntimeParam)
        for value in typed:
            assert _converted(direct, value, param) == _converted(typer_own, value, param), (value, vars(info))


def test_a_range_a_parser_or_another_type_is_left_to_typer() -> None:
    for annotation, info in ((int, OptionInfo(min=1)), (str, OptionInfo(parser=str.upper)), (float, OptionInfo()),
                             (list[str], OptionInfo())):
        desc = _coercion.resolve_type_descriptor(annotation, info)
        assert not isinstance(values.runtime_param(desc), values.DirectRuntimeParam), annotation


def test_a_bad_number_is_still_told_in_chinese(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["register", "--year", "二〇二五", "-w", str(tmp_path)])
    assert r.exit_code == 2 and "“--year”的值不对：这里要填整数。" in r.output


def test_a_command_converts_its_options_without_loading_pydantic(tmp_path: Path) -> None:
    code = ("import sys\nfrom engine.cli import main\nsys.argv = ['ruqi', 'status', '--today', '2025-07-01', '-w', "
            f"{str(tmp_path / 'none')!r}]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('pydantic' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.stdout.strip().splitlines()[-1] == "False", r.stdout + r.stderr


def test_a_group_does_its_own_job_only_without_a_subcommand(tmp_path: Path) -> None:
    """`ruqi register` prints the register; `ruqi register visits` only the enterprise's visits
    (engine/cli/common.py add_group: typer calls a group's callback before its subcommands too)."""
    ws = init(tmp_path / "ws")
    alone = CliRunner().invoke(app, ["register", "--year", "2025", "-w", str(ws.root)])
    assert alone.exit_code == 0 and "2025年度入企检查台账" in alone.output
    uscc = make_uscc("91140200MA0K0001X")
    sub = CliRunner().invoke(app, ["register", "visits", "--uscc", uscc, "--year", "2025", "-w", str(ws.root)])
    assert sub.exit_code == 0 and uscc in sub.output and "入企检查台账（" not in sub.output
