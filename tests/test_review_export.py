"""`ruqi review export`: a BagIt bag of byte-identical originals, index.xlsx and the report, logged in the audit trail."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import bagit
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine import workspace
from engine.archive import audit_log, get_item, verify
from engine.archive.layout import sanitize
from engine.cli import app
from engine.findings import RuqiError
from engine.review.export import INDEX_HEADERS, export_bundle
from tests._review_fixtures import JUNE, TODAY, file_month, register_month

BAGIT_SCRIPT = Path(sys.executable).with_name("bagit.py")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    # Built once: exports only read the archive (the tamper test restores what it changes).
    ws = workspace.init(tmp_path_factory.mktemp("export") / "ws")
    p = register_month(ws)
    return ws, p, file_month(ws, p)


def _folder(serial: str, enterprise: str) -> str:
    return sanitize(f"{serial}_{enterprise}")


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_bag_validates_holds_originals_byte_identical_and_is_logged(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, p, f = month
    res = export_bundle(ws, tmp_path / "审查包", *JUNE, today=TODAY, actor="纪委张三")
    assert res.ok and res.serials == [e.serial for e in res.review.entries]
    assert sorted(res.serials) == sorted(p.june)

    bag = bagit.Bag(str(res.bag_dir))
    assert bag.is_valid()
    cli = subprocess.run([sys.executable, str(BAGIT_SCRIPT), "--validate", str(res.bag_dir)], capture_output=True,
                         text=True)
    assert cli.returncode == 0 and "is valid" in cli.stderr
    assert bag.info["Source-Organization"] == ws.config.name and bag.info["Ruqi-Inspections"] == str(len(p.june))

    # Every original of every inspection, under its serial's folder, byte for byte the archived file.
    data = res.bag_dir / "data"
    expected = {}
    for e in res.review.entries:
        for d in e.documents:
            expected[f"originals/{_folder(e.serial, e.enterprise)}/{Path(d.rel_path).name}"] = d.sha256
    orphan = get_item(ws, f.suspect_orphan)
    expected[f"originals/可疑反馈卡/{f.suspect_orphan}_{orphan.path.name}"] = orphan.sha256
    originals = {k: v for k, v in ((x, _sha(data / x)) for x in res.payload) if k.startswith("originals/")}
    assert originals == expected
    assert sorted(set(res.payload) - set(originals)) == ["index.xlsx", "review-report.pdf"]
    returned = [d.archival_code for e in res.review.entries for d in e.documents if d.form_type == "card_returned"]
    assert sorted(returned) == sorted(c for s in p.june for c in f.codes[s].get("card_returned", []))

    # The audit trail names the bag and the hash of its manifest; the report is filed too.
    last = audit_log(ws, limit=1)[-1]
    assert (last.action, last.object, last.actor) == ("export", str(res.bag_dir), "纪委张三")
    assert last.details["manifest_sha256"] == _sha(res.bag_dir / "manifest-sha256.txt") == res.manifest_sha256
    assert last.details["tagmanifest_sha256"] == _sha(res.bag_dir / "tagmanifest-sha256.txt")
    assert last.details["serials"] == res.serials
    report = get_item(ws, res.report_archival_code)
    assert report.form_type == "review_export" and report.sha256 == _sha(data / "review-report.pdf")
    assert verify(ws).ok


def test_index_has_one_row_per_inspection_with_answers_flags_and_codes(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, p, f = month
    res = export_bundle(ws, tmp_path / "bag", *JUNE, today=TODAY)
    sh = load_workbook(res.bag_dir / "data" / "index.xlsx")["检查索引"]
    assert [c.value for c in sh[1]] == [h for h, _ in INDEX_HEADERS]
    rows = {r[0]: r for r in sh.iter_rows(min_row=2, values_only=True)}
    assert sorted(rows) == sorted(p.june)
    h = [c.value for c in sh[1]]
    for serial, qs in p.yes.items():
        answers = [rows[serial][h.index(f"第{i}题")] for i in range(1, 11)]
        assert answers == ["是" if i in qs else "否" for i in range(1, 11)]
        assert "反馈“是”" in rows[serial][h.index("需关注情形")]
    for serial in p.overdue:
        assert rows[serial][h.index("反馈卡状态")] == "逾期未交回" and rows[serial][h.index("第1题")] is None
    for serial, forms in f.codes.items():
        if serial in rows:
            assert rows[serial][h.index("通知书档号")] == "\n".join(forms["notice"])
            assert (rows[serial][h.index("反馈卡（交回）档号")] or "") == "\n".join(forms.get("card_returned", []))
    risky = [c for row in sh.iter_rows(min_row=2) for c in row if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert risky and {c.data_type for c in risky} == {"s"}


def test_only_flagged_narrows_the_bag(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, p, f = month
    res = export_bundle(ws, tmp_path / "flagged", *JUNE, only_flagged=True, today=TODAY)
    flagged = set(p.flagged) | {f.suspect_known, *f.mismatch, *f.withdrawn}
    assert sorted(res.serials) == sorted(flagged)
    folders = {x.split("/")[1] for x in res.payload if x.startswith("originals/")}
    assert folders == {_folder(s, p.firm[s].name) for s in flagged} | {"可疑反馈卡"}



def test_an_altered_original_is_left_out_and_reported(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, p, f = month
    serial = p.overdue[0]
    victim = get_item(ws, f.codes[serial]["notice"][0])
    good = victim.path.read_bytes()
    victim.path.write_bytes(good + b"% tampered\n")
    try:
        res = export_bundle(ws, tmp_path / "bag", *JUNE, only_flagged=True, today=TODAY)
    finally:
        victim.path.write_bytes(good)
    assert res.findings.flatten("code", "where") == [("REVIEW_ORIGINAL_ALTERED", victim.archival_code)]
    assert not res.ok and bagit.Bag(str(res.bag_dir)).is_valid()
    folder = f"originals/{_folder(serial, p.firm[serial].name)}/"
    assert sorted(x.removeprefix(folder) for x in res.payload if x.startswith(folder)) == [
        "入企检查监督公示.pdf", "入企检查监督反馈卡（空白）.pdf"]
    assert audit_log(ws, limit=1)[-1].details["problems"] == ["REVIEW_ORIGINAL_ALTERED"]


def test_a_non_empty_target_is_refused_and_nothing_half_written_remains(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "exports" / "out"
    out.parent.mkdir()
    out.mkdir()
    (out / "别人的文件.txt").write_text("x", encoding="utf-8")
    with pytest.raises(RuqiError) as e:
        export_bundle(ws, out, *JUNE, today=TODAY)
    assert e.value.finding.code == "REVIEW_EXPORT_EXISTS"
    assert sorted(x.name for x in out.parent.iterdir()) == ["out"]
    assert [x.name for x in out.iterdir()] == ["别人的文件.txt"]


def test_cli_export_one_county_json_and_exit_code(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, p, _f = month
    out = tmp_path / "云州区"
    run = CliRunner().invoke(app, ["review", "export", "--out", str(out), "--from", "2025-06-01", "--to", "2025-06-30",
                                   "--county", "云州区", "--today", "2025-06-30", "--json", "--workspace", str(ws.root)])
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["manifest_sha256"] == _sha(out / "manifest-sha256.txt") and data["errors"] == []
    assert sorted(data["inspections"]) == sorted(s for s in p.june if p.county[s] == "云州区")
    payload = [x for x in bagit.Bag(str(out)).payload_files()]
    assert not [x for x in payload if "可疑反馈卡" in x]  # the orphan card has no county
    assert bagit.Bag(str(out)).is_valid()
