"""``/api/contacts/imports``: upload a file, read its preview, commit it; and import groups.

``POST /api/contacts/imports?addressbook=/me/contacts/`` with the file as body
(``Content-Type: text/vcard`` or ``text/csv``; options ``new_addressbook``,
``separator``, ``header=false``, ``start_line``, ``map``, ``first``,
``all_or_nothing=true`` in the query) answers 201 with the import id and the
preview; nothing is written yet. Cards already in the address book are counted
(``already_present``) and left as they are.
``GET /api/contacts/imports/{id}`` shows the preview again, ``POST
/api/contacts/imports/{id}/commit`` writes, ``DELETE`` discards. Uploads are
the uploader's only and expire after an hour. ``GET
/api/contacts/import-groups?addressbook=`` lists import groups; ``POST
/api/contacts/import-groups/remove {"addressbook", "group", "delete_contacts"}``
takes a group off its cards (or deletes them).
"""

from __future__ import annotations

from datetime import datetime

from davserver.api import Api, HttpError, Request, Response, json_response, text_field
from davserver.services import Services
from plugins.contacts_import import limits
from plugins.contacts_import.csv_reader import CsvOptions
from plugins.contacts_import.group_removal import list_groups, remove_group
from plugins.contacts_import.groups import import_group
from plugins.contacts_import.importer import Plan, commit, plan
from plugins.contacts_import.pending import Pending, PendingImports
from plugins.contacts_import.target import owner_of, present, resolve

# Uploads are larger than server.max_body_size allows elsewhere (plugins/contacts_import/limits.py).
UPLOAD_PATH = "/api/contacts/imports"
_KINDS = {
    "text/vcard": "vcard",
    "text/x-vcard": "vcard",
    "text/directory": "vcard",
    "text/csv": "csv",
    "text/comma-separated-values": "csv",
    "text/tab-separated-values": "csv",
}
# The file's own types, and "let the importer tell" (never a browser form's types).
UPLOAD_TYPES = frozenset({*_KINDS, "application/octet-stream"})
_FALSE = ("0", "false", "no")


def register(api: Api, services: Services) -> None:
    uploads = PendingImports(services.settings.server.data / "contact-imports")
    collections = services.collections

    def own(request: Request, addressbook: str) -> None:
        if owner_of(addressbook) != request.user.name:
            raise HttpError(403, f"{addressbook} is not your address book")

    def planned(pending: Pending, raw: bytes) -> Plan:
        there = present(collections, pending.addressbook, pending.new_addressbook is not None)
        return plan(
            raw,
            import_group(datetime.fromtimestamp(pending.created_at), there.groups),
            there.uids,
            pending.addressbook,
            CsvOptions(**pending.options),
            pending.kind,
            all_or_nothing=pending.all_or_nothing,
        )

    def preview(pending: Pending, raw: bytes, first: int) -> dict:
        return {
            "id": pending.id,
            "addressbook": pending.addressbook,
            "new_addressbook": pending.new_addressbook,
            "expires_in": uploads.expires_in(pending),
            "preview": planned(pending, raw).preview(first),
        }

    def upload(request: Request) -> Response:
        query = request.query()
        new_name = query.get("new_addressbook")
        addressbook = text_field(query, "addressbook")
        own(request, addressbook)
        addressbook = resolve(collections, addressbook, new_name)
        raw = _body(request)
        content_type = request.environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        pending = uploads.add(
            raw,
            owner=request.user.name,
            addressbook=addressbook,
            new_addressbook=new_name,
            kind=_KINDS.get(content_type),
            options=_options(query),
            all_or_nothing=query.get("all_or_nothing", "false").lower() not in _FALSE,
        )
        try:
            answer = preview(pending, raw, _first(query))
        except Exception:
            uploads.remove(pending.id)
            raise
        return json_response(answer, status=201)

    def found(request: Request) -> tuple[Pending, bytes]:
        entry = uploads.get(request.user.name, request.params["id"])
        if entry is None:
            raise HttpError(404, "no such import (unknown, expired, or not yours)")
        return entry

    def show(request: Request) -> Response:
        pending, raw = found(request)
        return json_response(preview(pending, raw, _first(request.query())))

    def commit_import(request: Request) -> Response:
        pending, raw = found(request)
        import_plan = planned(pending, raw)
        count = commit(collections, pending.addressbook, import_plan, pending.new_addressbook)
        uploads.remove(pending.id)
        return json_response(
            {
                "imported": count,
                "already_present": import_plan.already_present,
                "addressbook": pending.addressbook,
                "group": import_plan.group,
                "problems": [problem.as_json() for problem in import_plan.problems],
            }
        )

    def discard(request: Request) -> Response:
        pending, _ = found(request)
        uploads.remove(pending.id)
        return json_response({"discarded": pending.id})

    def groups(request: Request) -> Response:
        addressbook = text_field(request.query(), "addressbook")
        own(request, addressbook)
        path = resolve(collections, addressbook, None)
        return json_response(
            [{"group": name, "cards": count} for name, count in list_groups(collections, path)]
        )

    def remove(request: Request) -> Response:
        body = request.json()
        addressbook = text_field(body, "addressbook")
        own(request, addressbook)
        path = resolve(collections, addressbook, None)
        delete = body.get("delete_contacts", False)
        if not isinstance(delete, bool):
            raise HttpError(400, "field 'delete_contacts' must be true or false")
        count = remove_group(collections, path, text_field(body, "group"), delete)
        return json_response({"group": body["group"], "cards": count, "deleted": delete})

    api.route("POST", UPLOAD_PATH, upload, accepts=UPLOAD_TYPES)
    api.route("GET", "/api/contacts/imports/{id}", show)
    api.route("DELETE", "/api/contacts/imports/{id}", discard)
    api.route("POST", "/api/contacts/imports/{id}/commit", commit_import)
    api.route("GET", "/api/contacts/import-groups", groups)
    api.route("POST", "/api/contacts/import-groups/remove", remove)


def _body(request: Request) -> bytes:
    try:
        length = int(request.environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise HttpError(400, "invalid Content-Length") from None
    if length > limits.MAX_BYTES:
        raise HttpError(413, f"file too large: at most {limits.MAX_BYTES} bytes (50 MB)")
    if length == 0:
        raise HttpError(400, "the request body must be the file to import")
    return request.environ["wsgi.input"].read(length)


def _options(query: dict[str, str]) -> dict:
    try:
        start_line = int(query.get("start_line", "1"))
    except ValueError:
        raise HttpError(400, "start_line must be a whole number") from None
    return {
        "separator": _separator(query.get("separator")),
        "header": query.get("header", "true").lower() not in _FALSE,
        "start_line": start_line,
        "mapping": query.get("map"),
    }


def _separator(value: str | None) -> str | None:
    if value in ("tab", "\\t"):
        return "\t"
    return value or None


def _first(query: dict[str, str]) -> int:
    try:
        return max(0, min(int(query.get("first", "10")), 1000))
    except ValueError:
        raise HttpError(400, "first must be a whole number") from None
