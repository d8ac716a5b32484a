"""Builds the one WSGI application Murmeli serves, from the services."""

from __future__ import annotations

from radicale import Application as RadicaleApplication

from crypto import routes as key_routes
from crypto import secure_routes
from crypto.wkd_routes import PREFIX as WKD_PREFIX
from crypto.wkd_routes import WebKeyDirectory
from davserver import account_routes, profile
from davserver.api import Api
from davserver.application import Application
from davserver.property_limits import PropertyLimits
from davserver.services import Services
from importer import routes as import_routes
from plugins.availability import routes as availability_routes
from plugins.contacts_import import limits as contact_import_limits
from plugins.contacts_import import routes as contact_import_routes
from plugins.duplicates import routes as duplicate_routes
from plugins.publish import routes as publish_routes
from plugins.recurrence_guard import RecurrenceGuard
from plugins.reminders import routes as reminder_routes
from plugins.scheduling import routes as scheduling_routes
from plugins.sharing import routes as sharing_routes
from plugins.sharing.read_only_view import ReadOnlyShareView

# Each feature adds its routes here; the DAV tree stays Radicale's.
ROUTE_MODULES = (
    account_routes,
    profile,
    sharing_routes,
    availability_routes,
    publish_routes,
    reminder_routes,
    scheduling_routes,
    duplicate_routes,
    contact_import_routes,
    import_routes,
    secure_routes,
    key_routes,
)


def build_application(services: Services) -> Application:
    api = Api(services.authenticator, services.directory, services.settings.server.base_url)
    for module in ROUTE_MODULES:
        module.register(api, services)
    server = services.settings.server
    dav = RadicaleApplication(services.radicale_configuration)
    if services.settings.scheduling.enabled:
        dav = services.scheduling.layer(dav)
    return Application(
        RecurrenceGuard(ReadOnlyShareView(dav, services.shares, services.directory)),
        {
            "/api/": api,
            "/.token/": publish_routes.feed_application(services),
            WKD_PREFIX: WebKeyDirectory(services),
        },
        max_body_size=server.max_body_size,
        log_requests=server.access_log,
        property_limits=PropertyLimits(
            services.collections.properties,
            server.max_collection_properties,
            server.max_collection_properties_size,
        ),
        upload_limits={contact_import_routes.UPLOAD_PATH: contact_import_limits.MAX_BYTES},
    )
