"""Local stand-ins for the outside world, shared by the tests and the demo:
moto server (AWS IAM/STS) and a Slack Web API endpoint that records requests.
Both listen on 127.0.0.1 only."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SSH_KEY = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDRQYq4nY9Cd0bFZnh2kKp4Z8l2VTGn9z1j6Kc7vX0B7Y2pQ0Zz8hYxk2xK"
           "9p1wQ3rN5m8tL7bF4cV6dS2aJ1gH0eK3iU9oP7yT5rE4wQ2zX6cV8bN1mL0kJ9hG7fD5sA3qW2eR4tY6uI8oP0aS2dF4gH6jK8"
           "lZ1xC3vB5nM7qW9eR1tY3uI5oP7aS9dF1gH3jK5lZ7xC9vB1nM3qW5eR7tY9uI1oP3aS5dF7gH9jK1lZ3xC5vB7nM9qW1eR3t"
           "Y5uI7oP9aS1dF3gH5jK7lZ9xC1vB3nM5qW7eR9tY1uI3oP5aS7dF9gH1jK3lZ5xC7vB9nM1qW3eR5tY7uI9oP1aS3dF5gH7jK9 test@runbook")
CERT = """-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw
DgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow
EjEQMA4GA1UEChMHQWNtZSBDbzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD0d
7VNhbWvZLWPuj/RtHFjvtJBEwOkhbN/BnnE8rnZR8+sbwnc/KhCk3FhnpHZnQz7B
5aETbbIgmuvewdjvSBSjYzBhMA4GA1UdDwEB/wQEAwICpDATBgNVHSUEDDAKBggr
BgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MCkGA1UdEQQiMCCCDmxvY2FsaG9zdDo1
NDUzgg4xMjcuMC4wLjE6NTQ1MzAKBggqhkjOPQQDAgNIADBFAiEA2zpJEPQyz6/l
Wf86aX6PepsntZv2GYlA5UpabfT2EZICICpJ5h/iI+i341gBmLiAFQOyTDT+/wQc
6MF9+Yw1Yy0t
-----END CERTIFICATE-----"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runbook_bin():
    path = Path(os.environ.get("RUNBOOK_BIN", ROOT / "target" / "debug" / "runbook"))
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: run `cargo build` first")
    return path


def install_kernel(prefix):
    """Installs the kernelspec under prefix and points Jupyter at it (and only at
    temporary dirs, so the user's own Jupyter setup is untouched)."""
    prefix = Path(prefix)
    subprocess.run([str(runbook_bin()), "install", "--prefix", str(prefix)], check=True, capture_output=True)
    os.environ["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    os.environ.setdefault("RUNBOOK_AUDIT_DB", str(prefix / "audit.sqlite3"))
    for var, sub in [("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTER_CONFIG_DIR", "config"), ("IPYTHONDIR", "ipython")]:
        (prefix / sub).mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(prefix / sub)


class Moto:
    """moto server on 127.0.0.1 with AWS-managed policies loaded."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
        env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
                break
            except Exception:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("moto server did not start")
                time.sleep(0.1)

    def env(self):
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def reset(self):
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def iam(self):
        import boto3
        return boto3.client("iam", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def state(self):
        return json.loads(urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=10).read())

    def password_of(self, user):
        """The login-profile password moto stored for user, found in its state dump."""
        found = []

        def walk(node):
            if isinstance(node, dict):
                if node.get("name") == user or node.get("user_name") == user:
                    for key in ("password", "_password"):
                        if isinstance(node.get(key), str):
                            found.append(node[key])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(self.state())
        assert found, f"no login-profile password for {user} in moto's state"
        return found[0]

    def make_messy_user(self, name):
        """A user with everything that makes DeleteUser fail on real AWS; returns what was made."""
        iam = self.iam()
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Xx1!Temporary-Passw0rd")
        keys = [iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(2)]
        iam.put_user_policy(UserName=name, PolicyName="inline-s3-read", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]}))
        for p in ("ReadOnlyAccess", "IAMUserChangePassword"):
            iam.attach_user_policy(UserName=name, PolicyArn=f"arn:aws:iam::aws:policy/{p}")
        groups = []
        for g in ("developers", "oncall"):
            try:
                iam.create_group(GroupName=g)
            except iam.exceptions.EntityAlreadyExistsException:
                pass
            iam.add_user_to_group(UserName=name, GroupName=g)
            groups.append(g)
        ssh = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=SSH_KEY)["SSHPublicKey"]["SSHPublicKeyId"]
        cert = iam.upload_signing_certificate(UserName=name, CertificateBody=CERT)["Certificate"]["CertificateId"]
        mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{name}-mfa")["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=name, SerialNumber=mfa, AuthenticationCode1="123456", AuthenticationCode2="654321")
        return {"access_keys": keys, "groups": groups, "ssh": ssh, "cert": cert, "mfa": mfa}

    def user_leftovers(self, name, made):
        """What of a messy user still exists, checked item by item with boto3."""
        iam = self.iam()
        left = []
        try:
            iam.get_user(UserName=name)
            left.append("user")
        except iam.exceptions.NoSuchEntityException:
            pass
        devices = iam.list_virtual_mfa_devices()["VirtualMFADevices"]
        if any(d["SerialNumber"] == made["mfa"] for d in devices):
            left.append("virtual MFA device")
        for g in made["groups"]:
            members = [u["UserName"] for u in iam.get_group(GroupName=g)["Users"]]
            if name in members:
                left.append(f"member of {g}")
        return left

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class FaultProxy:
    """An HTTP proxy in front of moto that records every AWS API action in order and can
    answer chosen actions with an error instead of forwarding them (a denied step, a
    throttle, a concurrent modification)."""

    def __init__(self, upstream):
        import http.client
        import urllib.parse

        self.actions = []
        self.faults = {}   # action -> list of (http status, code, message); each used once; "always" keeps the last
        proxy = self
        target = urllib.parse.urlparse(upstream)

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                params = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                params.update(urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query))
                action = (params.get("Action") or [""])[0]
                proxy.actions.append(action)
                fault = proxy._take_fault(action)
                if fault:
                    status, code, message = fault
                    xml = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                           f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(xml)))
                    self.end_headers()
                    self.wfile.write(xml)
                    return
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_POST = _handle
            do_GET = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail(self, action, code, message="injected by the test", status=400, times=1):
        self.faults.setdefault(action, []).extend([(status, code, message)] * times)

    def _take_fault(self, action):
        queue = self.faults.get(action)
        return queue.pop(0) if queue else None

    def env(self):
        return {"AWS_ENDPOINT_URL": self.url}

    def stop(self):
        self.server.shutdown()


class Slack:
    """A Slack Web API endpoint: records chat.postMessage calls; can be told to fail."""

    TOKEN = "xoxb-test-token"

    def __init__(self):
        self.requests = []
        self.error = None          # e.g. "channel_not_found": answer ok=false with it
        self.rate_limited = 0      # answer this many requests with 429 first
        self.delay = 0.0           # seconds to wait before answering
        slack = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {"_raw": body.decode("utf-8", "replace")}
                slack.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "json": payload})
                if slack.delay:
                    time.sleep(slack.delay)
                if slack.rate_limited > 0:
                    slack.rate_limited -= 1
                    self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
                elif self.headers.get("Authorization") != f"Bearer {Slack.TOKEN}":
                    self._send(200, {"ok": False, "error": "invalid_auth"})
                elif slack.error:
                    self._send(200, {"ok": False, "error": slack.error})
                else:
                    self._send(200, {"ok": True, "channel": "C0123456", "ts": f"{time.time():.6f}",
                                     "message": {"text": payload.get("text")}})

            def _send(self, status, obj, headers=None):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def env(self):
        return {"SLACK_API_URL": self.url, "SLACK_BOT_TOKEN": self.TOKEN}

    def reset(self):
        self.requests.clear()
        self.error = None
        self.rate_limited = 0
        self.delay = 0.0

    def messages(self):
        return [r["json"] for r in self.requests if r["path"].endswith("/chat.postMessage")]

    def stop(self):
        self.server.shutdown()
