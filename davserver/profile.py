"""Apple configuration profile (``.mobileconfig``) setting up a user's CalDAV and CardDAV accounts.

Identifiers are derived from the server and the user, so installing a newer
profile replaces the older one instead of adding a second account. ``GET``
answers a profile without password (the device asks for it); ``POST`` with
``{"app_password": "LABEL"}`` creates an app password for that device and puts
it in the profile: creating one is a change of state, so never a GET, and
needs the account password.
"""

from __future__ import annotations

import plistlib
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from davserver.api import Api, HttpError, Request, Response, require_account_password, text_field
from davserver.services import Services

CONTENT_TYPE = "application/x-apple-aspen-config"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool
    prefix: str


def endpoint_from_url(url: str) -> Endpoint:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(500, "server.base_url must be an http(s) URL")
    tls = parts.scheme == "https"
    return Endpoint(parts.hostname, parts.port or (443 if tls else 80), tls, parts.path.rstrip("/"))


def build_profile(
    endpoint: Endpoint, user: str, organisation: str, password: str | None = None
) -> bytes:
    principal = f"{endpoint.prefix}/{user}/"
    identifier = f"{'.'.join(reversed(endpoint.host.split('.')))}.murmeli.{user}"

    def account(kind: str, description: str) -> dict:
        prefix = "CalDAV" if kind == "caldav" else "CardDAV"
        payload = {
            "PayloadType": f"com.apple.{kind}.account",
            "PayloadVersion": 1,
            "PayloadIdentifier": f"{identifier}.{kind}",
            "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{identifier}.{kind}")).upper(),
            "PayloadDisplayName": description,
            f"{prefix}AccountDescription": description,
            f"{prefix}HostName": endpoint.host,
            f"{prefix}Port": endpoint.port,
            f"{prefix}UseSSL": endpoint.tls,
            f"{prefix}Username": user,
            f"{prefix}PrincipalURL": principal,
        }
        if password:
            payload[f"{prefix}Password"] = password
        return payload

    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, identifier)).upper(),
        "PayloadDisplayName": f"{organisation} calendars and contacts",
        "PayloadDescription": f"Calendars and contacts of {user} on {endpoint.host}",
        "PayloadOrganization": organisation,
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [
            account("caldav", f"{organisation} calendars"),
            account("carddav", f"{organisation} contacts"),
        ],
    }
    return plistlib.dumps(profile)


def register(api: Api, services: Services) -> None:
    settings = services.settings

    def endpoint(request: Request) -> Endpoint:
        if settings.server.base_url:
            return endpoint_from_url(settings.server.base_url)
        scheme = request.environ.get("wsgi.url_scheme", "http")
        host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "")
        return endpoint_from_url(f"{scheme}://{host}")

    def profile(request: Request) -> Response:
        if "app-password" in request.query():
            raise HttpError(
                400,
                "a GET creates nothing: POST /api/profile.mobileconfig "
                'with {"app_password": "LABEL"} for a profile with a new app password',
            )
        return answer(request, None)

    def profile_with_password(request: Request) -> Response:
        require_account_password(request)
        label = text_field(request.json(), "app_password")
        return answer(request, services.app_passwords.add(request.user.name, label)[1])

    def answer(request: Request, password: str | None) -> Response:
        user = request.user.name
        body = build_profile(endpoint(request), user, settings.accounts.organisation, password)
        return Response(
            200,
            body,
            CONTENT_TYPE,
            {"Content-Disposition": f'attachment; filename="{user}.mobileconfig"'},
        )

    api.route("GET", "/api/profile.mobileconfig", profile)
    api.route("POST", "/api/profile.mobileconfig", profile_with_password)
