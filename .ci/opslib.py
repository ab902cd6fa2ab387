"""Shared helpers of the operations checks (.ci/litestream, .ci/proxies): the backend binary,
tools from PyPI in a venv, free ports, and a small JSON HTTP client. Standard library only."""
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def backend_binary():
    """target/debug/kacky-backend, built the way the tests build it."""
    subprocess.run(["cargo", "build", "--locked", "--quiet"], cwd=ROOT, check=True)
    return str(ROOT / "target" / "debug" / "kacky-backend")


def venv_tool(name, requirement):
    """`name` from `requirement` (a pinned PyPI package) in the ops venv, installed if missing."""
    venv = Path(os.environ.get("OPS_VENV", ROOT / ".venv-ops"))
    tool = venv / "bin" / name
    pip = venv / "bin" / "pip"
    if not pip.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(pip), "freeze"], capture_output=True, text=True).stdout.split()
    if requirement not in installed or not tool.exists():
        subprocess.run([str(pip), "install", "--quiet", "--disable-pip-version-check", requirement], check=True)
    return str(tool)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    """The environment without CONFIG_FILE-style or KACKY_* variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KACKY_") and k not in ("CONFIG_FILE", "SECRETS_FILE", "SERVERS_FILE")}
    env.update(extra)
    return env


def wait_http(url, process=None, timeout=60):
    """Waits until `url` answers at all (any status); fails when `process` exits first."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            sys.exit(f"{url}: the process exited with {process.returncode} before answering")
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", parts.path or "/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{url}: no answer within {timeout} s")


class Client:
    """JSON requests on one keep-alive connection; a connection error answers `(None, None)`."""

    def __init__(self, base, timeout=10):
        parts = urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.conn = None

    def request(self, method, path, body=None, token=None, headers=None):
        """(status, parsed JSON or text, response headers); (None, None, {}) when unreachable."""
        all_headers = dict(headers or {})
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request(method, path, body=data, headers=all_headers)
            r = self.conn.getresponse()
            raw = r.read()
        except (OSError, http.client.HTTPException):
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None, None, {}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return r.status, parsed, {k.lower(): v for k, v in r.getheaders()}

    def get(self, path, token=None):
        status, body, _ = self.request("GET", path, token=token)
        return status, body

    def post(self, path, body, token=None):
        status, parsed, _ = self.request("POST", path, body, token)
        return status, parsed

    def login(self, user, pwd):
        status, body = self.post("/login", {"user": user, "pwd": pwd})
        if status != 200:
            sys.exit(f"login {user}: {status} {body}")
        return body["access_token"]
