"""The one way mail leaves: failure alerts, notices and reports.

- :func:`build_message` builds the MIME message with the standard library:
  ``multipart/alternative`` (``text/plain`` then ``text/html``), inside
  ``multipart/mixed`` when there are attachments, each attachment with its
  real type (``mimetypes``; ``text/html; charset="utf-8"`` for a report).
- :func:`send_mail` sends it through the Airflow SMTP connection
  (``smtp_default``): the provider's ``SmtpHook`` connects and logs in as it
  reads the connection (host, port, login/password, ``from_email``,
  ``disable_ssl``/``disable_tls``, ``timeout``, ``retry_limit``); the message
  goes out on that client. The hook's own ``send_email_smtp`` builds an
  HTML-only message and attaches every file as ``application/octet-stream``,
  which is why it is not used.
- :func:`raise_alert` records an alert in the box office, then mails it (the
  failure callback and :func:`reseller_sync.airflow.notices.notify`).
"""

from __future__ import annotations

import mimetypes
import re
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html.parser import HTMLParser
from pathlib import Path

from reseller_sync.alerts.compose import AlertMessage
from reseller_sync.alerts.deliver import SendMail, deliver_alert
from reseller_sync.boxoffice.models import Alert
from reseller_sync.config.settings import InstanceSettings
from reseller_sync.domain.errors import ConfigurationError

SMTP_CONNECTION_ID = "smtp_default"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str
    """``maintype/subtype``, e.g. ``text/html``; text in UTF-8 says so (``charset``)."""

    @classmethod
    def from_path(cls, path: Path | str) -> Attachment:
        """A file, typed by its name (``application/octet-stream`` when unknown)."""
        path = Path(path)
        guessed, encoding = mimetypes.guess_type(path.name)
        content_type = guessed if guessed and encoding is None else "application/octet-stream"
        return cls(path.name, path.read_bytes(), content_type)


def build_message(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """The e-mail: the text, its HTML alternative, then the attachments."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        # Bytes in base64: the file arrives exactly as written, line ends included.
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
        if maintype == "text" and _is_utf8(attachment.content):
            *_, part = message.iter_attachments()
            part.set_param("charset", "utf-8")
    return message


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def send_mail(
    recipients: Sequence[str],
    subject: str,
    *,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    connection_id: str = SMTP_CONNECTION_ID,
) -> None:
    """Send one e-mail through the Airflow SMTP connection; raise when it could not."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    if not recipients:
        raise ValueError("no recipient")
    with SmtpHook(smtp_conn_id=connection_id) as hook:
        sender = hook.from_email
        if not sender:
            raise ConfigurationError(
                f"The SMTP connection {connection_id!r} names no sender",
                action="Set the connection's from_email extra (see docs/configuration.md).",
            )
        message = build_message(
            sender=sender,
            recipients=recipients,
            subject=subject,
            text=text,
            html=html,
            attachments=attachments,
        )
        # The hook connected and logged in (get_conn); it has no public accessor of
        # that client, whose send_message carries a message built here as it is.
        client = hook._smtp_client
        if not isinstance(client, smtplib.SMTP):
            raise RuntimeError(f"the SMTP connection {connection_id!r} gave no SMTP client")
        for attempt in range(hook.smtp_retry_limit + 1):
            try:
                client.send_message(message, from_addr=sender, to_addrs=list(recipients))
                break
            except smtplib.SMTPException:
                if attempt == hook.smtp_retry_limit:
                    raise


def smtp_sender(connection_id: str = SMTP_CONNECTION_ID) -> SendMail:
    """A sender of alert messages (their text and HTML) through the SMTP connection."""

    def send(message: AlertMessage, recipients: Sequence[str]) -> None:
        send_mail(
            recipients,
            message.subject,
            text=message.text,
            html=message.html,
            connection_id=connection_id,
        )

    return send


def raise_alert(
    message: AlertMessage, settings: InstanceSettings, connection_id: str = SMTP_CONNECTION_ID
) -> Alert:
    """Record the alert, then mail it to ``notifications.error_emails``; never raises for SMTP."""
    return deliver_alert(message, settings.notifications.error_emails, smtp_sender(connection_id))


def send_html_mail(
    recipients: Sequence[str],
    subject: str,
    html: str,
    connection_id: str = SMTP_CONNECTION_ID,
    *,
    attachments: Sequence[str] = (),
) -> None:
    """Send an HTML page written for a person (the sale sheet); its text part is the
    page's text, for readers that show no HTML."""
    send_mail(
        recipients,
        subject,
        text=html_to_text(html),
        html=html,
        attachments=[Attachment.from_path(path) for path in attachments],
        connection_id=connection_id,
    )


class _TextOfHtml(HTMLParser):
    BLOCKS = frozenset(
        {"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section"}
    )
    HIDDEN = frozenset({"head", "style", "script", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """The readable text of an HTML page: one line per block, cells separated by tabs."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).splitlines())
    text: list[str] = []
    for line in lines:
        if line or (text and text[-1]):
            text.append(line)
    return "\n".join(text).strip() + "\n"
