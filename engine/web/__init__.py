"""The web site (``ruqi serve``): the engine's pages for clerks and 纪委 reviewers, in Chinese.

FastAPI (Starlette) served by uvicorn, pages rendered on the server with Jinja2, htmx (vendored in
``static/``, no CDN, no build step) for live parts.  The pages call the same library API as the CLI;
no rule is written here.

Adding a page (the convention every page follows)
-------------------------------------------------
1. ``engine/web/routes/<page>.py`` defines ``router = APIRouter()`` and, for the menu,
   ``NAV = NavItem("生成", "/generate", Perm.GENERATE, order=20)``.  Its name must be in
   ``routes.PAGES`` (generate, inbox, pending, review, archive, stats, home, auth, files are).
2. **Every route depends on a permission**: ``user: SignedIn = Depends(need(Perm.GENERATE))`` (or
   ``APIRouter(dependencies=[Depends(need(Perm.READ))])``).  Roles are never named in a route: the
   table ``engine.accounts.PERMISSIONS`` says which role may what.  ``create_app`` refuses to build
   an app with an unguarded route (``UnguardedRoute``).  Reading pages use ``Perm.READ``; actions
   use the permission of what they do (``GENERATE``, ``INGEST``, ``CONFIRM``, ``STATS``,
   ``APPROVE_OVER_CAP``, ``EXPORT_REVIEW``, ``VERIFY``).
3. Endpoints that call the library are plain ``def`` (FastAPI runs them in its thread pool, with
   the request's context, so ``engine.actor.current_actor()`` is the signed-in user: the audit log
   records their name without passing ``actor=``).  A thread you start yourself must run its work
   with ``contextvars.copy_context().run``.
4. Templates: ``engine/web/templates/<page>.html`` (or ``<page>/<name>.html``), ``{% extends
   "base.html" %}``, set ``title``, fill ``{% block content %}``; render with
   ``render(request, "generate.html", {...})`` (adds the user, their CSRF token, the menu and
   today).  Dates with ``| zh_date`` (2025年6月10日) or ``| zh_datetime``; sizes with ``| zh_size``.
   Autoescaping is on: never mark outside text ``| safe``.
5. State-changing requests (POST …) need the CSRF token: a form has
   ``<input type="hidden" name="{{ CSRF_FIELD }}" value="{{ csrf }}">``; htmx requests carry
   the header automatically (``base.html``); a multipart (upload) form puts it in its action URL,
   ``action="/inbox/upload?{{ CSRF_FIELD }}={{ csrf }}"``, because its body is streamed, not buffered.
6. Uploads: ``files.receive_files(request, ws)`` streams the files into ``.web-uploads/`` under the
   size limit (``[limits] max_file_mb``) and returns ``Received`` (``files``, ``fields``,
   ``refused`` findings); ``files.to_inbox(ws, staged)`` moves one into ``inbox/`` under a safe
   name; ``received.discard()`` deletes what was not moved.
7. Downloads: look the file up by an identifier your page understands and pass the path to
   ``files.send_file(ws, path, name)``; never build a path from the request.  Archived originals
   already have a route: ``/files/<id>`` (``?inline=1`` shows a PDF in the page).
8. Errors: raise ``RuqiError`` (its findings are shown in Chinese) or return a page; an unexpected
   exception becomes the Chinese "程序内部错误" page and a log line.
9. Tests: ``tests/_web_fixtures.py`` starts the real server (uvicorn, a free port) over a library
   workspace and gives a Selenium Chromium driver; browser tests skip without Debian's chromium.

The package itself imports nothing heavy (``DEFAULT_HOST``/``DEFAULT_PORT`` for the CLI); the app
is ``engine.web.app.create_app(workspace)``.

Modules: ``app`` (``create_app``), ``security`` (sessions, CSRF, rate limit, ``need``), ``render``
(templates, date filters, ``NavItem``), ``files`` (downloads, uploads), ``routes/`` (the pages),
``server`` (``serve``: uvicorn on 127.0.0.1 by default).
"""

# Kept here, where importing them loads no web library (the CLI's start-up, the demo).
DEFAULT_HOST = "127.0.0.1"  # only this machine; a bureau's intranet goes through a reverse proxy with TLS
DEFAULT_PORT = 8000
