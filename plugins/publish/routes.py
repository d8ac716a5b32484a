"""``/api/published``: the owner turns public links on, off and over; and the feed's mount.

``GET`` lists the caller's links; ``POST {"collection", "mode"}`` turns one on (or
changes its mode); ``POST /api/published/rotate {"collection"}`` gives a new
address; ``DELETE ?collection=`` turns it off. Only the owner may do any of it.
"""

from __future__ import annotations

from davserver.api import Api, HttpError, Request, Response, json_response, text_field
from davserver.services import Services
from plugins.publish.links import base_url
from plugins.publish.snapshot import Feeds
from plugins.publish.subscription import FeedApplication
from plugins.sharing.shares import collection_owner, normalise_collection


def feed_application(services: Services) -> FeedApplication:
    """The WSGI application to mount at ``/.token/``."""
    return FeedApplication(services.published_calendars, Feeds(services.radicale_configuration))


def register(api: Api, services: Services) -> None:
    links = services.published_calendars
    server = services.settings.server

    def own_collection(request: Request, collection: str) -> str:
        collection = normalise_collection(collection)
        if collection_owner(collection) != request.user.name:
            raise HttpError(403, f"{collection} is not yours to publish")
        return collection

    def list_links(request: Request) -> Response:
        base = base_url(server, request.environ)
        return json_response([link.as_json(base) for link in links.owned_by(request.user.name)])

    def publish(request: Request) -> Response:
        body = request.json()
        collection = own_collection(request, text_field(body, "collection"))
        mode = text_field(body, "mode", required=False) or "full"
        link = links.publish(collection, mode)
        return json_response(link.as_json(base_url(server, request.environ)))

    def rotate(request: Request) -> Response:
        collection = own_collection(request, text_field(request.json(), "collection"))
        link = links.rotate(collection)
        return json_response(link.as_json(base_url(server, request.environ)))

    def unpublish(request: Request) -> Response:
        collection = own_collection(request, text_field(request.query(), "collection"))
        links.unpublish(collection)
        return json_response({"unpublished": collection})

    api.route("GET", "/api/published", list_links)
    api.route("POST", "/api/published", publish)
    api.route("POST", "/api/published/rotate", rotate)
    api.route("DELETE", "/api/published", unpublish)
