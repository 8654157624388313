"""The site's core over a real server: sign-in, sessions, CSRF, rate limit, permissions, safe downloads and uploads."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from _web_fixtures import PASSWORD, Client, LiveServer, live_server, make_users
from fastapi import APIRouter, Depends, FastAPI, Request

from engine import archive
from engine.accounts import PERMISSIONS, Perm, Role, SignedIn, add_user, authenticate, may
from engine.actor import acting_as, current_actor
from engine.findings import RuqiError
from engine.web.app import UnguardedRoute, check_guarded
from engine.web.files import UPLOADS, receive_files, to_inbox
from engine.web.render import zh_date, zh_datetime
from engine.web.security import RateLimiter, need
from engine.workspace import Workspace


@pytest.fixture
def site(ws: Workspace):  # type: ignore[no-untyped-def]
    names = make_users(ws)
    with live_server(ws, limiter=RateLimiter(per_name=5, per_client=50)) as srv:
        yield srv, names


def test_the_role_table_is_the_issue_s(ws: Workspace) -> None:
    # A clerk cannot export a review package or approve an over-cap visit; a reviewer cannot generate, ingest or confirm.
    assert not may(Role.CLERK, Perm.EXPORT_REVIEW) and not may(Role.CLERK, Perm.APPROVE_OVER_CAP)
    assert not any(may(Role.REVIEWER, p) for p in (Perm.GENERATE, Perm.INGEST, Perm.CONFIRM, Perm.STATS))
    assert may(Role.REVIEWER, Perm.EXPORT_REVIEW) and may(Role.REVIEWER, Perm.READ)
    assert all(may(Role.ADMIN, p) for p in Perm)
    assert set(PERMISSIONS) == set(Perm)


def test_passwords_are_argon2_hashes_and_names_are_checked(ws: Workspace) -> None:
    u = add_user(ws, " 张三 ", "clerk", PASSWORD, actor="管理员")
    assert u.name == "张三"
    from sqlalchemy import text

    from engine.db import get_engine

    with get_engine(ws).connect() as c:
        stored = c.execute(text("SELECT password_hash FROM web_users WHERE name='张三'")).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert authenticate(ws, "张三", PASSWORD) is not None and authenticate(ws, "张三", PASSWORD + "x") is None
    assert authenticate(ws, "无此人", PASSWORD) is None
    for bad in (("李\n四", "clerk", PASSWORD), ("李四", "boss", PASSWORD), ("李四", "clerk", "short"), ("张三", "clerk", PASSWORD)):
        with pytest.raises(RuqiError) as e:
            add_user(ws, *bad)
        assert e.value.finding.code.startswith("ACCOUNT_")
    entry = archive.audit_log(ws, action="account")[-1]
    assert (entry.actor, entry.object, entry.details) == ("管理员", "张三", {"op": "add", "role": "clerk"})
    assert PASSWORD not in str(archive.audit_log(ws))


def test_signing_in_and_out(site) -> None:  # type: ignore[no-untyped-def]
    srv, names = site
    c = Client(srv.url)
    first = c.get("/?flag=VIOLATION")
    assert first.status == 303 and first.headers["location"] == "/login?next=/%3Fflag%3DVIOLATION"
    r = c.login(names["clerk"], next_="/")
    assert r.status == 303 and r.headers["location"] == "/"
    cookie = next(h for h in r.cookies if h.startswith("ruqi_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = c.get("/")
    assert home.status == 200 and "首页" in home.text and f"{names['clerk']}（办事员）" in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]
    # Sign-out ends the session on the server: the old cookie is worthless afterwards.
    stolen = [(k.name, k.value) for k in c.jar if k.name == "ruqi_session"][0]
    assert c.post("/logout", {"csrf_token": home.csrf()}).status == 303
    thief = Client(srv.url)
    thief.request("GET", "/", headers={"Cookie": f"{stolen[0]}={stolen[1]}"})
    assert thief.request("GET", "/", headers={"Cookie": f"{stolen[0]}={stolen[1]}"}).status == 303


def test_sign_ins_and_refused_sign_ins_are_in_the_audit_log(site, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    srv, names = site
    c = Client(srv.url)
    assert c.login(names["clerk"], PASSWORD + "错").status == 401
    assert c.login("无此人", PASSWORD).status == 401
    assert c.login(names["clerk"]).status == 303
    refused = archive.audit_log(ws, action="sign_in_refused")
    assert [(e.object, e.actor) for e in refused[-2:]] == [(names["clerk"], "（未登录）"), ("无此人", "（未登录）")]
    signed = archive.audit_log(ws, action="sign_in")[-1]
    assert (signed.actor, signed.object, signed.details) == (names["clerk"], names["clerk"], {"client": "127.0.0.1"})
    assert PASSWORD not in str(archive.audit_log(ws))


def test_a_user_changes_their_own_password_and_their_other_browsers_are_signed_out(site, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    srv, names = site
    here, elsewhere = Client(srv.url), Client(srv.url)
    assert here.login(names["clerk"]).status == 303 and elsewhere.login(names["clerk"]).status == 303
    page = here.get("/account")
    assert page.status == 200 and "修改密码" in page.text and 'href="/account"' in here.get("/").text
    new = "新的密码-0123456789"

    def change(current: str, again: str = new) -> Any:
        return here.post("/account/password", {"current": current, "new": new, "again": again,
                                               "csrf_token": here.csrf()})
    assert (r := change(PASSWORD + "x")).status == 400 and "ACCOUNT_PASSWORD_WRONG" in r.text
    assert (r := change(PASSWORD, new + "x")).status == 400 and "ACCOUNT_PASSWORD_MISMATCH" in r.text
    assert here.post("/account/password", {"current": PASSWORD, "new": new, "again": new}).status == 403  # no CSRF token
    assert authenticate(ws, names["clerk"], PASSWORD) is not None  # nothing changed so far
    assert (r := change(PASSWORD)).status == 200 and "密码已修改" in r.text
    assert authenticate(ws, names["clerk"], PASSWORD) is None and authenticate(ws, names["clerk"], new) is not None
    assert here.get("/").status == 200 and elsewhere.get("/").status == 303  # this browser stays, the other is out
    entry = archive.audit_log(ws, action="account")[-1]
    assert (entry.actor, entry.object, entry.details) == (names["clerk"], names["clerk"], {"op": "password"})
    assert new not in str(archive.audit_log(ws))


def test_an_administrator_disables_an_account_and_enables_it_again(site, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from engine.cli import app

    srv, names = site
    c = Client(srv.url)
    assert c.login(names["reviewer"]).status == 303 and c.get("/").status == 200
    run = CliRunner().invoke(app, ["user", "disable", names["reviewer"], "--actor", "管理员", "--workspace", str(ws.root)])
    assert run.exit_code == 0 and "已停用" in run.output
    assert c.get("/").status == 303  # signed out at once
    assert c.login(names["reviewer"]).status == 401
    assert "停用" in CliRunner().invoke(app, ["user", "list", "--workspace", str(ws.root)]).output
    assert CliRunner().invoke(app, ["user", "disable", "无此人", "--workspace", str(ws.root)]).exit_code != 0
    run = CliRunner().invoke(app, ["user", "disable", names["reviewer"], "--enable", "--workspace", str(ws.root)])
    assert run.exit_code == 0 and c.login(names["reviewer"]).status == 303
    ops = [(e.actor, e.details["op"]) for e in archive.audit_log(ws, action="account") if e.object == names["reviewer"]]
    assert ops[-2:] == [("管理员", "disable"), (ops[-1][0], "enable")]


def test_an_open_redirect_after_sign_in_is_refused(site) -> None:  # type: ignore[no-untyped-def]
    srv, names = site
    c = Client(srv.url)
    assert c.login(names["clerk"], next_="//evil.example/x").headers["location"] == "/"


def test_wrong_passwords_are_rate_limited(site) -> None:  # type: ignore[no-untyped-def]
    srv, names = site
    c = Client(srv.url)
    for _ in range(5):
        r = c.login(names["clerk"], "wrong-password")
        assert r.status == 401 and "用户名或密码不对" in r.text
    blocked = c.login(names["clerk"])  # even the right password waits now
    assert blocked.status == 429 and "登录失败次数过多" in blocked.text
    assert Client(srv.url).login(names["reviewer"]).status == 303  # other accounts are not locked out


def test_a_state_changing_request_without_the_csrf_token_is_refused(site) -> None:  # type: ignore[no-untyped-def]
    srv, names = site
    c = Client(srv.url)
    c.login(names["clerk"])
    r = c.post("/logout", {})
    assert r.status == 403 and "为防止冒用" in r.text
    assert c.post("/logout", {"csrf_token": "forged"}).status == 403
    assert c.get("/").status == 200  # still signed in: nothing happened
    other = c.post("/logout", {"csrf_token": c.csrf()}, headers={"Origin": "http://evil.example"})
    assert other.status == 403 and c.get("/").status == 200
    # The sign-in form itself: a post without the form's own token is refused.
    fresh = Client(srv.url)
    assert fresh.post("/login", {"username": names["clerk"], "password": PASSWORD}).status == 403


def test_every_route_must_name_a_permission() -> None:
    app = FastAPI()

    @app.get("/leak")
    def leak() -> str:
        return "x"

    with pytest.raises(UnguardedRoute):
        check_guarded(app)


def test_downloads_never_take_a_path_from_the_request(site, ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    srv, names = site
    c = Client(srv.url)
    c.login(names["reviewer"])
    key = (ws.root / "ruqi.key").read_bytes()
    for path in ("/files/..%2f..%2fruqi.key", "/files/../../ruqi.key", "/files/%2e%2e%2fruqi.key", "/files/0",
                 "/files/-1", "/static/..%2f..%2f..%2fruqi.key", "/static/../ruqi.toml", "/files/1?path=/etc/passwd"):
        r = c.get(path)
        assert r.status in (404, 422), path
        assert key not in r.body and b"[bureau]" not in r.body


def test_an_archived_file_whose_record_points_outside_the_workspace_is_not_served(site, ws: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from _review_fixtures import small_pdf

    from engine.archive import ItemMeta, file_item

    srv, names = site
    row = file_item(ws, small_pdf("x"), ItemMeta(form_type="other", title="测试", responsible="局", date=date(2025, 6, 1),
                                               year=2025, original_name="测试.pdf"))
    c = Client(srv.url)
    c.login(names["reviewer"])
    ok = c.get(f"/files/{row.id}")
    assert ok.status == 200 and ok.body == row.path.read_bytes()
    assert "attachment" in ok.headers["content-disposition"] and ok.headers["x-content-type-options"] == "nosniff"
    inline = c.get(f"/files/{row.id}?inline=1")
    assert inline.headers["content-type"] == "application/pdf" and inline.headers["content-disposition"].startswith("inline")
    # Someone replaces the archived file with a link to a secret outside the workspace: refused.
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    row.path.unlink()
    row.path.symlink_to(secret)
    r = c.get(f"/files/{row.id}")
    assert r.status == 404 and b"top secret" not in r.body


def test_the_request_runs_as_the_signed_in_user(ws: Workspace) -> None:
    assert current_actor() not in ("", None)
    with acting_as("纪委老李"):
        assert current_actor() == "纪委老李" and current_actor("明确的人") == "明确的人"
    assert current_actor() != "纪委老李"


def test_uploads_stream_into_the_inbox_under_a_size_limit(ws: Workspace) -> None:
    router = APIRouter()
    got: dict[str, object] = {}

    @router.post("/t/upload")
    async def upload(request: Request, user: SignedIn = Depends(need(Perm.INGEST))) -> dict[str, object]:
        rec = await receive_files(request, ws, max_bytes=1000, max_files=3)
        moved = [to_inbox(ws, f).name for f in rec.files]
        got["actor"] = current_actor()
        return {"moved": moved, "refused": [f.code for f in rec.refused], "fields": rec.fields}

    names = make_users(ws)
    srv = LiveServer(ws)
    srv.app.include_router(router)
    srv.start()
    try:
        c = Client(srv.url)
        c.login(names["clerk"])
        token = c.csrf()
        files = [("f", "../../etc/反馈卡.pdf", b"%PDF-1.7 small"), ("f", "big.pdf", b"x" * 5000),
                 ("f", "same.pdf", b"%PDF-1.7 small"), ("f", "4.pdf", b"four")]
        r = c.post_files(f"/t/upload?csrf_token={token}", files, {"note": "批次"})
        assert r.status == 200, r.text
        import json

        out = json.loads(r.body)
        assert out["refused"] == ["WEB_UPLOAD_TOO_LARGE", "WEB_UPLOAD_TOO_MANY"]
        assert out["moved"] == ["反馈卡.pdf", "same.pdf"] and out["fields"] == {"note": "批次"}
        assert (ws.inbox / "反馈卡.pdf").read_bytes() == b"%PDF-1.7 small"
        assert not (ws.inbox / "big.pdf").exists() and not list((ws.root / UPLOADS).iterdir())
        assert got["actor"] == names["clerk"]
        # Without the token in the URL the multipart post is refused before anything is read; a reviewer may not upload.
        assert c.post_files("/t/upload", files[:1]).status == 403
        rev = Client(srv.url)
        rev.login(names["reviewer"])
        assert rev.post_files(f"/t/upload?csrf_token={rev.csrf()}", files[:1]).status == 403
    finally:
        srv.stop()


def test_dates_are_written_the_chinese_way() -> None:
    from datetime import datetime

    assert zh_date(date(2025, 6, 10)) == "2025年6月10日"
    assert zh_datetime(datetime(2025, 6, 10, 14, 5)) == "2025年6月10日 14:05"
    assert zh_date(None) == ""
