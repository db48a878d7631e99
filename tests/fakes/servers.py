"""Local fake Slack Web API, PagerDuty Events v2 and SMTP servers on 127.0.0.1 (no network)."""

from __future__ import annotations

import base64
import json
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class Scripted:
    """One scripted answer: a status and body (None: the normal reply), extra headers, and a delay
    before answering (longer than the client's timeout simulates a timeout)."""

    status: int | None = None
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _FakeHTTP:
    """Runs an HTTP server in a thread; subclasses decide the reply. Requests are recorded in
    `requests`, look-ups (`is_read`: GETs, Slack's users.lookupByEmail) in `reads`; `script` answers
    the next requests in order (then the normal reply)."""

    status = 200

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.reads: list[Recorded] = []
        self.fail_with: tuple[int, str] | None = None  # (status, body) to simulate an outage
        self.script: list[Scripted] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, path: str, body: dict, *, get: bool) -> None:
                read = get or fake.is_read(path)
                with fake._lock:
                    (fake.reads if read else fake.requests).append(Recorded(path, dict(self.headers), body))
                    step = fake.script.pop(0) if fake.script and not read else Scripted()
                if step.delay:
                    time.sleep(step.delay)
                if step.status is not None:
                    status, reply = step.status, step.body if step.body is not None else {"error": "scripted"}
                else:
                    status, reply = fake.fail_with or fake.reply_to(path, body)
                data = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    for k, v in step.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timed out) before the answer
                    pass

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                self._answer(self.path, body, get=False)

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                url = urlsplit(self.path)
                self._answer(url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, get=True)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reply(self, body: dict) -> tuple[int, object]:
        raise NotImplementedError

    def reply_to(self, path: str, body: dict) -> tuple[int, object]:
        return self.reply(body)

    def is_read(self, path: str) -> bool:
        return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeSlack(_FakeHTTP):
    """chat.postMessage, and users.lookupByEmail answering from `users` (e-mail -> user id)."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        super().__init__()
        self.users = dict(users or {})

    def reply(self, body: dict) -> tuple[int, object]:
        return 200, {"ok": True, "channel": body.get("channel"), "ts": f"{len(self.requests)}.0001"}

    def reply_to(self, path: str, body: dict) -> tuple[int, object]:
        if path.endswith("/users.lookupByEmail"):
            uid = self.users.get(body.get("email", ""))
            if uid is None:
                return 200, {"ok": False, "error": "users_not_found"}
            return 200, {"ok": True, "user": {"id": uid, "profile": {"email": body["email"]}}}
        return self.reply(body)

    def is_read(self, path: str) -> bool:
        return path.endswith("/users.lookupByEmail")

    @property
    def lookups(self) -> list[str]:
        return [g.body.get("email", "") for g in self.reads if g.path.endswith("/users.lookupByEmail")]

    @property
    def base_url(self) -> str:
        return self.url + "/api/"


class FakePagerDuty(_FakeHTTP):
    def reply(self, body: dict) -> tuple[int, object]:
        return 202, {"status": "success", "message": "Event processed", "dedup_key": body.get("dedup_key")}

    @property
    def enqueue_url(self) -> str:
        return self.url + "/v2/enqueue"


@dataclass
class Mail:
    mail_from: str
    rcpt_to: list[str]
    data: str
    auth: tuple[str, str] | None


@dataclass
class FakeSMTP:
    """Just enough SMTP (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) to receive smtplib's mail."""

    messages: list[Mail] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def say(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())

            def handle(self) -> None:
                self.say("220 fake-smtp ready")
                mail_from, rcpt, auth = "", [], None
                while line := self.rfile.readline().decode():
                    cmd = line.strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.say("250-fake-smtp")
                        self.say("250 AUTH PLAIN")
                    elif verb == "AUTH":
                        _, user, password = base64.b64decode(cmd.split()[2]).decode().split("\0")
                        auth = (user, password)
                        self.say("235 ok")
                    elif verb == "MAIL":
                        mail_from, rcpt = cmd[10:].strip("<>"), []
                        self.say("250 ok")
                    elif verb == "RCPT":
                        rcpt.append(cmd[8:].strip("<>"))
                        self.say("250 ok")
                    elif verb == "DATA":
                        self.say("354 go on")
                        lines = []
                        while (d := self.rfile.readline().decode()) not in (".\r\n", ""):
                            lines.append(d)
                        fake.messages.append(Mail(mail_from, rcpt, "".join(lines), auth))
                        self.say("250 queued")
                    elif verb == "QUIT":
                        self.say("221 bye")
                        return
                    else:
                        self.say("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
