"""Archived originals by identifier: ``/files/<id>`` (the archive index's id), byte-identical.

The id is an integer looked up in the index; the path served is the index's ``rel_path`` under
``archive/``, checked again by ``files.send_file``.  Nothing of the request becomes a path."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ...accounts import Perm, SignedIn
from ...archive import get_item
from ..files import FileNotServed, send_file
from ..security import need

router = APIRouter()


@router.get("/files/{item_id}")
def archived_file(request: Request, item_id: int, inline: bool = False,
                  user: SignedIn = Depends(need(Perm.READ))) -> Response:
    ws = request.app.state.ws
    item = get_item(ws, item_id)
    if item is None:
        raise FileNotServed(str(item_id))
    name = item.original_name if "." in item.original_name else item.path.name
    return send_file(ws, item.path, name, inline=inline)
