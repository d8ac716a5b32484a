"""``/api/imports``: follow and cancel import jobs over HTTP.

An admin sees every job; anyone else the jobs whose destination is their own
address. A job someone may not see answers 404, as one that does not exist.
"""

from __future__ import annotations

from davserver.accounts.directory import User
from davserver.api import Api, HttpError, Request, Response, json_response
from davserver.services import Services
from importer.jobs import Job, JobError
from importer.progress import job_progress
from importer.report import job_report


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

    def cancel(request: Request) -> Response:
        job = find(request)
        try:
            return json_response(report(store.cancel(job.id)))
        except JobError as error:
            raise HttpError(409, str(error)) from None

    api.route("GET", "/api/imports", list_jobs)
    api.route("GET", "/api/imports/{job}", show)
    api.route("POST", "/api/imports/{job}/cancel", cancel)
