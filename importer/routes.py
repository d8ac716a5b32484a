"""``/api/imports``: start, follow and cancel import jobs over HTTP.

An admin sees every job and may import into any address; anyone else the
jobs whose destination is their own address, and imports only into it. A job
someone may not see answers 404, as one that does not exist.
"""

from __future__ import annotations

from davserver.accounts.directory import User
from davserver.api import Api, HttpError, Request, Response, json_response, text_field
from davserver.services import Services
from importer.jobs import Job, JobError
from importer.presets import PresetError
from importer.progress import job_progress
from importer.report import job_report
from importer.requests import job_request


def register(api: Api, services: Services) -> None:
    store = services.import_jobs

    def visible(user: User, job: Job) -> bool:
        own = (user.email or "").casefold() == job.destination_login.casefold()
        return user.role == "admin" or (bool(user.email) and own)

    def report(job: Job) -> dict:
        return job_report(job, job_progress(services.database, job.id))

    def find(request: Request) -> Job:
        try:
            job = store.get(request.params["job"])
        except JobError:
            job = None
        if job is None or not visible(request.user, job):
            raise HttpError(404, "no such import job")
        return job

    def list_jobs(request: Request) -> Response:
        return json_response([report(job) for job in store.list() if visible(request.user, job)])

    def show(request: Request) -> Response:
        return json_response(report(find(request)))

    def add(request: Request) -> Response:
        body = request.json()
        user = request.user
        destination = text_field(body, "to", required=False) or user.email
        if not destination:
            raise HttpError(400, "field 'to': your account has no address; give one")
        if user.role != "admin" and destination.casefold() != (user.email or "").casefold():
            raise HttpError(403, "you may import only into your own address")
        own_password = text_field(body, "to_password", required=False)
        if own_password is None and services.settings.importer.master_user is None:
            raise HttpError(400, "field 'to_password' is required: no master user is configured")
        plaintext = body.get("allow_plaintext", False)
        if not isinstance(plaintext, bool):
            raise HttpError(400, "field 'allow_plaintext' must be true or false")
        try:
            job_asked = job_request(
                text_field(body, "from"),
                destination,
                text_field(body, "server", required=False),
                text_field(body, "security", required=False),
                plaintext,
                text_field(body, "prefix", required=False),
            )
        except PresetError as error:
            raise HttpError(400, str(error)) from None
        job = store.add(job_asked, text_field(body, "password"), own_password)
        return json_response(report(job), status=201)

    def cancel(request: Request) -> Response:
        job = find(request)
        try:
            return json_response(report(store.cancel(job.id)))
        except JobError as error:
            raise HttpError(409, str(error)) from None

    api.route("GET", "/api/imports", list_jobs)
    api.route("POST", "/api/imports", add)
    api.route("GET", "/api/imports/{job}", show)
    api.route("POST", "/api/imports/{job}/cancel", cancel)
