"""A local stand-in for SendGrid's v3 Mail Send API, for the official ``sendgrid`` client::

    with StandInSendGrid(api_key="SG.test") as sg:
        sendgrid.SendGridAPIClient("SG.test", host=sg.url).send(mail)
        assert sg.messages[0].json["subject"] == "..."

``POST /v3/mail/send`` checks ``Authorization: Bearer <api_key>`` (401), validates the body the way
SendGrid does, listing every problem (400), and answers 202 with an empty body and ``X-Message-Id``.
Anything else is a 404. Errors have SendGrid's shape: ``{"errors": [{"message", "field", "help"}]}``.

Named ``sendgrid_api``, not ``sendgrid``: pytest puts this folder on ``sys.path`` (it has no
``__init__.py``), and a ``sendgrid.py`` here would then shadow the real library for the whole run.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from tests.standin.webhooks import HttpStandIn, Received, Reply

__all__ = ["StandInSendGrid"]

MAIL_SEND = "/v3/mail/send"
_PERSONALIZATIONS_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations"


def _error(message: str, field: str | None = None, help: str | None = None) -> dict[str, Any]:
    return {"message": message, "field": field, "help": help}


def _errors_reply(status: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"errors": errors}).encode()
    return Reply(status, body, {"Content-Type": "application/json", **(headers or {})})


def _problems(body: Any) -> list[dict[str, Any]]:
    """SendGrid's checks of a mail/send body that matter here, in its words."""
    if not isinstance(body, dict):
        return [_error("Bad Request")]
    problems = []
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append(
            _error(
                "The personalizations field is required and must have at least one personalization.",
                "personalizations",
                _PERSONALIZATIONS_HELP,
            )
        )
        personalizations = []
    for i, personalization in enumerate(personalizations):
        to = personalization.get("to") if isinstance(personalization, dict) else None
        if not isinstance(to, list) or not to:
            problems.append(
                _error(
                    "The to array is required for all personalization objects, and must have at "
                    "least one email object with a valid email address.",
                    f"personalizations.{i}.to",
                )
            )
            continue
        for j, address in enumerate(to):
            email = address.get("email") if isinstance(address, dict) else None
            if not isinstance(email, str) or "@" not in email:
                problems.append(_error("Does not contain a valid address.", f"personalizations.{i}.to.{j}.email"))
    sender = body.get("from")
    if not isinstance(sender, dict) or not isinstance(sender.get("email"), str) or "@" not in sender["email"]:
        problems.append(
            _error(
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.",
                "from.email",
            )
        )
    every_has_subject = bool(personalizations) and all(
        isinstance(p, dict) and isinstance(p.get("subject"), str) and p["subject"] for p in personalizations
    )
    if not (isinstance(body.get("subject"), str) and body["subject"]) and not every_has_subject:
        problems.append(
            _error(
                "The subject is required. You can get around this requirement if you use a template "
                "with a subject defined or if every personalization has a subject defined.",
                "subject",
            )
        )
    content = body.get("content")
    if not isinstance(content, list) or not content:
        problems.append(
            _error(
                "Unless a valid template_id is provided, the content parameter is required. There "
                "must be at least one defined content block. We typically suggest both text/plain "
                "and text/html blocks are included, but only one block is required.",
                "content",
            )
        )
        content = []
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("value"), str) or not block["value"]:
            problems.append(
                _error("The content value must be a string at least one character in length.", f"content.{i}.value")
            )
    types = [block.get("type") for block in content if isinstance(block, dict)]
    if "text/plain" in types and types[0] != "text/plain":
        problems.append(
            _error(
                "If present, text/plain and text/html may only be provided in this order: text/plain, text/html.",
                "content.0.type",
            )
        )
    return problems


class StandInSendGrid(HttpStandIn):
    """Context manager running the stand-in on ``127.0.0.1:<free port>``; ``.messages`` holds accepted mail."""

    thread_name = "standin-sendgrid"

    def __init__(self, api_key: str = "SG.standin-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.requests: list[Received] = []  # every request, accepted or not (to count a client's attempts)
        self.messages: list[Received] = []  # accepted mail, ``.json`` as sent

    def fail_next(
        self, status: int, times: int = 1, *, message: str | None = None, retry_after: float | None = None
    ) -> None:
        """Answer the next ``times`` requests with ``status`` and SendGrid's error JSON (before any other check)."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        errors = [_error(message or f"stand-in SendGrid failure {status}")]
        self._queue_reply(_errors_reply(status, errors, headers), times, None)

    def reset(self) -> None:
        """Forget requests, messages and queued failures/hangs."""
        with self._lock:
            self.requests.clear()
            self.messages.clear()
            self._clear_queues()

    def _record(self, request: Received) -> None:
        self.requests.append(request)

    def _answer(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != MAIL_SEND:
            return _errors_reply(404, [_error("resource not found")])
        authorization = request.headers.get("authorization", "")
        if not authorization:
            return _errors_reply(401, [_error("authorization required")])
        if not secrets.compare_digest(authorization.encode(), f"Bearer {self.api_key}".encode()):
            return _errors_reply(401, [_error("The provided authorization grant is invalid, expired, or revoked")])
        if problems := _problems(request.json):
            return _errors_reply(400, problems)
        with self._lock:
            self.messages.append(request)
        return Reply(202, b"", {"X-Message-Id": secrets.token_urlsafe(16)})
