"""``/api/shares``: the owner shares, lists and unshares their collections."""

from __future__ import annotations

from davserver.api import Api, HttpError, Request, Response, json_response, text_field
from davserver.services import Services
from plugins.sharing.shares import Target, collection_owner, normalise_collection


def register(api: Api, services: Services) -> None:
    shares = services.shares

    def owned_collection(request: Request, collection: str) -> str:
        collection = normalise_collection(collection)
        if collection_owner(collection) != request.user.name:
            raise HttpError(403, f"{collection} is not yours to share")
        services.collections.require(collection)
        return collection

    def list_shares(request: Request) -> Response:
        user = request.user
        received = shares.received_by(user.name, user.groups)
        return json_response(
            {
                "owned": [share.as_json() for share in shares.owned_by(user.name)],
                "received": [
                    {
                        "collection": r.collection,
                        "owner": r.owner,
                        "path": r.mapped_path(user.name),
                        "access": r.access,
                    }
                    for r in received
                ],
            }
        )

    def add_share(request: Request) -> Response:
        body = request.json()
        collection = owned_collection(request, text_field(body, "collection"))
        access = text_field(body, "access", required=False) or "read"
        share = shares.add(collection, Target.parse(text_field(body, "with")), access)
        return json_response(share.as_json(), 201)

    def remove_share(request: Request) -> Response:
        query = request.query()
        collection = normalise_collection(text_field(query, "collection"))
        if collection_owner(collection) != request.user.name:
            raise HttpError(403, f"{collection} is not yours")
        target = Target.parse(text_field(query, "with"))
        shares.remove(collection, target)
        return json_response({"removed": {"collection": collection, "with": str(target)}})

    api.route("GET", "/api/shares", list_shares)
    api.route("POST", "/api/shares", add_share)
    api.route("DELETE", "/api/shares", remove_share)
