"""A local SMTP server that keeps every message as an ``.eml`` file: the demo's mail sink.

``python -m devtools mailsink serve --dir var/mail --port 8025``; the tests
start it in a thread with :class:`MailSink`.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import itertools
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


class _WriteEml:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: object, _session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self._lock:
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{next(self._counter):05d}.eml"
        data = envelope.original_content or b""
        (self.folder / name).write_bytes(data)
        return "250 Message accepted"


@dataclass
class MailSink:
    """An SMTP server on loopback writing each message to ``folder``."""

    folder: Path
    port: int = 0
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(
            _WriteEml(self.folder), hostname=self.host, port=self.port or _free_port()
        )

    def start(self) -> MailSink:
        self._controller.start()
        self.port = self._controller.port
        self._running = True
        return self

    def stop(self) -> None:
        """Stop serving (idempotent); a stopped sink is not started again."""
        if getattr(self, "_running", False):
            self._controller.stop()
            self._running = False

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.folder.glob("*.eml"))
        ]


def message_text(message: EmailMessage) -> str:
    """The decoded text of every text part of a message."""
    parts = [message] if not message.is_multipart() else list(message.walk())
    return "\n".join(part.get_content() for part in parts if part.get_content_maintype() == "text")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Mail sink</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328}
td,th{padding:4px 10px;text-align:left;border-bottom:1px solid #d1d9e0}
iframe{width:100%;height:70vh;border:1px solid #d1d9e0}</style></head><body>
{% if message %}<p><a href="/">&larr; all messages</a></p>
<h2>{{ message["Subject"] }}</h2><p>To: {{ message["To"] }} &middot; {{ message["Date"] }}</p>
<iframe sandbox srcdoc="{{ body }}"></iframe>
{% else %}<h1>Mail sink</h1><p>{{ messages|length }} message(s) in <code>{{ folder }}</code>,
newest first.</p><table><tr><th>Received</th><th>To</th><th>Subject</th></tr>
{% for name, m in messages %}<tr><td>{{ name[:15] }}</td><td>{{ m["To"] }}</td>
<td><a href="/message/{{ name }}">{{ m["Subject"] }}</a></td></tr>{% endfor %}</table>{% endif %}
</body></html>"""


def serve_page(sink: MailSink, port: int) -> threading.Thread:
    """A web page listing the sink's messages (each shown in a sandboxed frame)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import jinja2

    template = jinja2.Environment(autoescape=True).from_string(PAGE)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            names = sorted((p.name for p in sink.folder.glob("*.eml")), reverse=True)
            if self.path.startswith("/message/") and self.path[9:] in names:
                path = sink.folder / self.path[9:]
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                html = message.get_body(preferencelist=("html", "plain"))
                page = template.render(
                    message=message, body=html.get_content() if html is not None else ""
                )
            elif self.path == "/":
                messages = [
                    (
                        name,
                        email.message_from_bytes(
                            (sink.folder / name).read_bytes(), policy=email.policy.default
                        ),
                    )
                    for name in names
                ]
                page = template.render(message=None, messages=messages, folder=sink.folder)
            else:
                self.send_error(404)
                return
            data = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def register(subparsers) -> None:
    parser = subparsers.add_parser("mailsink", help="the demo's local mail sink")
    commands = parser.add_subparsers(dest="mailsink_command", required=True)
    serve = commands.add_parser("serve", help="receive mail by SMTP; list it on a web page")
    serve.add_argument("--dir", type=Path, default=Path("var/mail"), help="where .eml files go")
    serve.add_argument("--port", type=int, default=8025, help="SMTP port")
    serve.add_argument("--web-port", type=int, default=8026, help="port of the listing page")
    serve.set_defaults(handler=_serve)


def _serve(args) -> int:
    import signal

    sink = MailSink(args.dir, port=args.port).start()
    serve_page(sink, args.web_port)
    print(
        f"mail sink: SMTP 127.0.0.1:{sink.port}, messages at http://localhost:{args.web_port}",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    sink.stop()
    return 0
