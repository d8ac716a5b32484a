"""``/api/duplicates``: an owner's duplicate contacts, merged, hidden or put back.

* ``GET /api/duplicates[?addressbook=/me/contacts/][&hidden=1]``: the groups
  of one address book, or of each of the caller's own, with ``hidden`` ones
  only when asked;
* ``POST /api/duplicates/merge {"addressbook", "group", "reference"?}`` and
  ``POST /api/duplicates/merge-all {"addressbook"}``: the undo record;
* ``POST /api/duplicates/hide`` / ``unhide {"addressbook", "group"}``;
* ``GET /api/duplicates/merges[?addressbook=]``, ``POST /api/duplicates/undo
  {"merge"}``.

Only the owner may use an address book here (403 otherwise); an unknown group
or merge is 404; a card changed since it was read is 409 with nothing written.
"""

from __future__ import annotations

from collections.abc import Callable

from davserver.api import Api, HttpError, Request, Response, json_response, text_field
from davserver.collections import CollectionChanged
from davserver.services import Services
from plugins.duplicates.duplicates import UnknownGroup, UnknownMerge
from plugins.sharing.shares import SHARE_SEPARATOR, normalise_collection

Handler = Callable[[Request], Response]


def register(api: Api, services: Services) -> None:
    duplicates = services.duplicates

    def own_addressbook(request: Request, path: str) -> str:
        path = normalise_collection(path)
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not all(parts):
            raise HttpError(400, f"invalid address book {path!r}: expected /OWNER/BOOK/")
        if parts[0] != request.user.name or SHARE_SEPARATOR in parts[1]:
            raise HttpError(403, f"{path} is not your own address book")
        if services.collections.kind(path) != "addressbook":
            raise HttpError(404, f"no address book at {path}")
        return path

    def list_groups(request: Request) -> Response:
        query = request.query()
        include_hidden = query.get("hidden") in ("1", "true")
        if query.get("addressbook"):
            books = [own_addressbook(request, query["addressbook"])]
        else:
            books = duplicates.addressbooks_of(request.user.name)
        return json_response(
            {
                "addressbooks": [
                    {
                        "addressbook": book,
                        "groups": [
                            proposal.as_json()
                            for proposal in duplicates.proposals(book, include_hidden)
                        ],
                    }
                    for book in books
                ]
            }
        )

    def merge(request: Request) -> Response:
        body = request.json()
        book = own_addressbook(request, text_field(body, "addressbook"))
        record = duplicates.merge(
            request.user.name,
            book,
            text_field(body, "group"),
            text_field(body, "reference", required=False),
        )
        return json_response(record.as_json())

    def merge_all(request: Request) -> Response:
        book = own_addressbook(request, text_field(request.json(), "addressbook"))
        record = duplicates.merge_all(request.user.name, book)
        return json_response(record.as_json() if record else {"id": None, "restores": []})

    def hide(request: Request) -> Response:
        body = request.json()
        book = own_addressbook(request, text_field(body, "addressbook"))
        duplicates.hide(request.user.name, book, text_field(body, "group"))
        return json_response({"hidden": body["group"], "addressbook": book})

    def unhide(request: Request) -> Response:
        body = request.json()
        book = own_addressbook(request, text_field(body, "addressbook"))
        duplicates.unhide(book, text_field(body, "group"))
        return json_response({"unhidden": body["group"], "addressbook": book})

    def list_merges(request: Request) -> Response:
        book = request.query().get("addressbook")
        book = own_addressbook(request, book) if book else None
        records = duplicates.merges(request.user.name, book)
        return json_response([record.as_json() for record in records])

    def undo(request: Request) -> Response:
        record = duplicates.undo(request.user.name, text_field(request.json(), "merge"))
        return json_response({"undone": record.id, "addressbook": record.addressbook})

    api.route("GET", "/api/duplicates", translated(list_groups))
    api.route("POST", "/api/duplicates/merge", translated(merge))
    api.route("POST", "/api/duplicates/merge-all", translated(merge_all))
    api.route("POST", "/api/duplicates/hide", translated(hide))
    api.route("POST", "/api/duplicates/unhide", translated(unhide))
    api.route("GET", "/api/duplicates/merges", translated(list_merges))
    api.route("POST", "/api/duplicates/undo", translated(undo))


def translated(handler: Handler) -> Handler:
    """Unknown group or merge: 404; a card changed meanwhile: 409 (other bad input is 400,
    as on every route)."""

    def answer(request: Request) -> Response:
        try:
            return handler(request)
        except (UnknownGroup, UnknownMerge) as error:
            raise HttpError(404, str(error)) from None
        except CollectionChanged as error:
            raise HttpError(409, str(error)) from None

    return answer
