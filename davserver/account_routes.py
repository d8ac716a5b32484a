"""``/api/me`` and the user's own app passwords (managed with the account password only)."""

from __future__ import annotations

from davserver.api import (
    Api,
    Request,
    Response,
    json_response,
    require_account_password,
    text_field,
)
from davserver.services import Services


def register(api: Api, services: Services) -> None:
    passwords = services.app_passwords

    def me(request: Request) -> Response:
        user = request.user
        return json_response(
            {"name": user.name, "email": user.email, "role": user.role, "teams": list(user.teams)}
        )

    def list_app_passwords(request: Request) -> Response:
        return json_response(
            [
                {"id": p.id, "label": p.label, "created_at": p.created_at}
                for p in passwords.list(request.user.name)
            ]
        )

    def add_app_password(request: Request) -> Response:
        require_account_password(request)
        label = text_field(request.json(), "label")
        entry, password = passwords.add(request.user.name, label)
        return json_response({"id": entry.id, "label": entry.label, "password": password}, 201)

    def revoke_app_password(request: Request) -> Response:
        require_account_password(request)
        passwords.revoke(request.user.name, request.params["id"])
        return json_response({"revoked": request.params["id"]})

    api.route("GET", "/api/me", me)
    api.route("GET", "/api/app-passwords", list_app_passwords)
    api.route("POST", "/api/app-passwords", add_app_password)
    api.route("DELETE", "/api/app-passwords/{id}", revoke_app_password)
