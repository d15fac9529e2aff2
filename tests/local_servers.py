"""Local receivers for the self-report tests, on 127.0.0.1 only: an SMTP server
(aiosmtpd) that keeps every message, and an HTTP server that keeps every POST and
answers with the status codes it is told to (then 200)."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mail:
    to: list[str]
    message: Message

    @property
    def text(self) -> str:
        return str(self.message["Subject"]) + "\n" + self.message.get_payload(decode=True).decode()


class SmtpSink:
    """An SMTP server on 127.0.0.1 keeping what it receives in `mails`."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(Mail(list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@dataclass
class HttpReceiver:
    """An HTTP server on 127.0.0.1 (free port) keeping each POST's JSON body in `posts`;
    answers each request with the next code of `fail_with`, then 200."""

    fail_with: list[int] = field(default_factory=list)
    posts: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    code = receiver.fail_with.pop(0) if receiver.fail_with else 200
                    if code == 200:
                        receiver.posts.append(json.loads(body))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oncall"

    def __enter__(self) -> HttpReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
