"""``/api/keys``, ``/api/messages/decrypt``, ``/api/recipient-keys``: keys for their owner.

A user reaches only the key of their own address: its public key, its
private key protected with a passphrase they choose, and decryption of their
messages for webmail (the key is unwrapped on the server and never leaves it
unprotected). Their keyring of outside people's public keys is theirs alone.
Everything but reading public keys needs the account password: a device's
app password must not take the private key or change whom mail is encrypted to.
"""

from __future__ import annotations

import logging
from email import policy
from email.parser import BytesParser
from urllib.parse import unquote

from crypto import openpgp
from crypto.keys import KeyStore, KeyStoreError, normalise_address
from crypto.openpgp import DecryptionRefused
from crypto.pgpmime import decrypt_message
from crypto.recipient_keys import RecipientKey
from crypto.wrapping import KeyEncryptionKeyError
from davserver.api import (
    Api,
    HttpError,
    Request,
    Response,
    json_response,
    require_account_password,
    text_field,
)
from davserver.services import Services

_PARSER = BytesParser(policy=policy.default)
MESSAGE = "message/rfc822"
logger = logging.getLogger("murmeli.keys")


def register(api: Api, services: Services) -> None:
    keyring = services.recipient_keys
    max_body = services.settings.server.max_body_size

    def own_address(request: Request, address: str | None = None) -> str:
        email = request.user.email
        if not email:
            raise HttpError(404, f"user {request.user.name} has no e-mail address, so no key")
        own = normalise_address(email)
        if address is not None and _address(address) != own:
            raise HttpError(403, f"{unquote(address)} is not your address")
        return own

    def refused_as_400(handler):
        def answer(request: Request) -> Response:
            try:
                return handler(request)
            except KeyStoreError as error:
                raise HttpError(400, str(error)) from None

        return answer

    def list_keys(request: Request) -> Response:
        address = own_address(request)
        fingerprint = openpgp.fingerprint(key_store(services).public_key(address))
        return json_response({"keys": [{"address": address, "fingerprint": fingerprint}]})

    def public_key(request: Request) -> Response:
        address = own_address(request, request.params["address"])
        return _armored(key_store(services).export_public(address), address, "public")

    def private_key(request: Request) -> Response:
        require_account_password(request)
        address = own_address(request, request.params["address"])
        passphrase = text_field(request.json(), "passphrase")
        return _armored(key_store(services).export_private(address, passphrase), address, "private")

    def decrypt(request: Request) -> Response:
        require_account_password(request)
        key = key_store(services).private_key(own_address(request))
        raw = _body(request, max_body)
        try:
            opened = decrypt_message(_PARSER.parsebytes(raw), key)
        except DecryptionRefused as error:
            raise HttpError(400, f"cannot decrypt this message: {error}") from None
        return Response(200, opened.as_bytes(policy=policy.SMTP), MESSAGE)

    def list_recipient_keys(request: Request) -> Response:
        entries = keyring.list(request.user.name)
        return json_response([_entry(entry) for entry in entries])

    def add_recipient_key(request: Request) -> Response:
        require_account_password(request)
        body = request.json()
        address, key = text_field(body, "address"), text_field(body, "key")
        return json_response(_entry(keyring.add(request.user.name, address, key)), 201)

    def remove_recipient_key(request: Request) -> Response:
        require_account_password(request)
        keyring.remove(request.user.name, unquote(request.params["address"]))
        return Response(204, b"")

    api.route("GET", "/api/keys", list_keys)
    api.route("GET", "/api/keys/{address}", refused_as_400(public_key))
    api.route("POST", "/api/keys/{address}/private", refused_as_400(private_key))
    api.route(
        "POST", "/api/messages/decrypt", refused_as_400(decrypt), accepts=frozenset({MESSAGE})
    )
    api.route("GET", "/api/recipient-keys", list_recipient_keys)
    api.route("POST", "/api/recipient-keys", refused_as_400(add_recipient_key))
    api.route("DELETE", "/api/recipient-keys/{address}", refused_as_400(remove_recipient_key))


def key_store(services: Services) -> KeyStore:
    """The key store, opened on first use: a server without a KEK serves everything else."""
    try:
        return services.key_store
    except KeyEncryptionKeyError as error:
        logger.error("OpenPGP keys unavailable: %s", error)
        raise HttpError(503, "OpenPGP keys are not set up on this server") from None


def _address(segment: str) -> str:
    try:
        return normalise_address(unquote(segment))
    except KeyStoreError:
        raise HttpError(404, f"not an e-mail address: {unquote(segment)!r}") from None


def _armored(text: str, address: str, kind: str) -> Response:
    response = Response(200, text.encode("ascii"), "application/pgp-keys")
    filename = f"{address}.{'secret' if kind == 'private' else 'public'}.asc"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _body(request: Request, limit: int) -> bytes:
    length = int(request.environ.get("CONTENT_LENGTH") or 0)
    if not length:
        raise HttpError(400, "the body must be the raw encrypted message (message/rfc822)")
    if length > limit:
        raise HttpError(413, f"message larger than {limit} bytes")
    return request.environ["wsgi.input"].read(length)


def _entry(entry: RecipientKey) -> dict:
    return {
        "address": entry.address,
        "fingerprint": entry.fingerprint,
        "created_at": entry.created_at,
    }
