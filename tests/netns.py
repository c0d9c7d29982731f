"""Separate hosts on one machine: Linux network namespaces cabled to one private bridge.

Each host is a network namespace with its own address and one veth cable into a switch
namespace that holds the bridge. Nothing is added to the machine's own namespace (no interface,
route or firewall rule) and no host has a route beyond SUBNET, so these hosts can reach each
other and nothing else. A cable can be pulled (link down at its switch port: the host's packets
are dropped silently, as when a switch port or a network path fails) and plugged back in.

    with Network() as network:
        web = network.add_host("web")                    # 10.254.83.2, hostname "web"
        process = network.spawn(web, ["gunicorn", ...], env, log)   # via `ip netns exec`
        with network.inside(web):                       # this thread's sockets and children
            requests.get(...)                           # live on `web`
        network.cut(web); network.mend(web)

`spawn` starts a program the way an operator would, through `ip netns exec`. `inside` moves the
calling thread instead (setns(2)): the server harnesses of tests/servers.py start their own
processes, PostgreSQL's after dropping root, so they cannot be wrapped in `ip netns exec`, but
they inherit the namespace of the thread that starts them.

Needs root and iproute2; `require_netns()` installs iproute2 as root or skips with the reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest_service import REPO, stop_process_group
from tests.servers import apt_install

SUBNET = ipaddress.ip_network("10.254.83.0/27")
"""A private /27 used only between these namespaces (30 hosts)."""
CLONE_NEWNET = 0x40000000
"""setns(2)'s flag for a network namespace (<sched.h>; Python 3.11 has no os.setns)."""
_libc = ctypes.CDLL(None, use_errno=True)


def require_netns() -> None:
    """Skip, saying why, unless hosts can be built here; installs iproute2 as root.

    Tries everything a Network does once, in a throwaway namespace: make it, add a bridge and a
    veth pair inside it, and move this thread in and out of it.
    """
    if os.geteuid() != 0:
        skip("building network namespaces (`ip netns`) needs root; run the tests as root")
    if shutil.which("ip") is None:
        apt_install("iproute2")
    if shutil.which("unshare") is None:
        apt_install("util-linux")
    probe = f"narrator-probe-{uuid.uuid4().hex[:8]}"
    try:
        ip("netns", "add", probe)
    except RuntimeError as error:
        skip(f"network namespaces cannot be made here: {error}")
    try:
        ip("-n", probe, "link", "add", "br0", "type", "bridge")
        ip("-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        with _inside_namespace(probe):
            pass
    except (RuntimeError, OSError) as error:
        skip(f"a bridge and veth cables cannot be made in a network namespace here: {error}")
    finally:
        subprocess.run(["ip", "netns", "delete", probe], capture_output=True)


def skip(reason: str) -> None:
    """Print the reason (so it shows in the test's output) and skip."""
    print(reason)
    pytest.skip(reason)


def ip(*arguments: str) -> None:
    """Run one `ip` command; fail with its message."""
    result = subprocess.run(["ip", *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(arguments)}: {result.stderr.strip()}")


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


@contextlib.contextmanager
def _inside_namespace(namespace: str) -> Iterator[None]:
    """The calling thread in network namespace `namespace` (by name) until the block ends."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)
        os.close(target)


@dataclass(frozen=True)
class Host:
    """One machine of the layout: its role (also its hostname), namespace and address."""

    role: str
    namespace: str
    address: str
    port: str
    """Its cable's end in the switch namespace."""


class Network:
    """A switch namespace with a bridge, and hosts cabled to it; `close()` removes them all,
    stopping first every process `spawn` started."""

    def __init__(self):
        self.prefix = f"narrator-{uuid.uuid4().hex[:6]}"
        self.switch = f"{self.prefix}-switch"
        self.hosts: list[Host] = []
        self.processes: list[subprocess.Popen] = []
        self.addresses = SUBNET.hosts()
        next(self.addresses)  # .1 stays free, as a gateway would use it; there is none
        ip("netns", "add", self.switch)
        try:
            ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            ip("-n", self.switch, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    def add_host(self, role: str) -> Host:
        """A new namespace cabled to the bridge, with the next address and loopback up."""
        host = Host(role, f"{self.prefix}-{role}", str(next(self.addresses)),
                    f"p{len(self.hosts)}")
        ip("netns", "add", host.namespace)
        self.hosts.append(host)
        # Made from inside the switch namespace, so neither end ever exists on the machine itself.
        ip("-n", self.switch, "link", "add", host.port, "type", "veth", "peer", "name", "eth0",
           "netns", host.namespace)
        ip("-n", self.switch, "link", "set", host.port, "master", "br0", "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/{SUBNET.prefixlen}", "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        return host

    def spawn(self, host: Host, command: list[str], env: dict[str, str],
              log: Path) -> subprocess.Popen:
        """Start `command` on `host` (its network, its own hostname), in its own process group,
        from the repository's root, logging to `log`; stopped by `close()` at the latest."""
        named = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host.role, *command]
        with open(log, "ab") as output:
            process = subprocess.Popen(["ip", "netns", "exec", host.namespace, *named], cwd=REPO,
                                       env=env, stdout=output, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append(process)
        return process

    def run(self, host: Host, command: list[str], env: dict[str, str],
            timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a short command on `host` (e.g. the CLI) to its end; its output as text."""
        return subprocess.run(["ip", "netns", "exec", host.namespace, *command], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout)

    def inside(self, host: Host) -> contextlib.AbstractContextManager[None]:
        """Put the calling thread on `host`'s network until the block ends: sockets it opens and
        processes it starts (e.g. a test server harness) stay there for good."""
        return _inside_namespace(host.namespace)

    def cut(self, host: Host) -> None:
        """Pull `host`'s cable at the switch: its packets are dropped, nothing tells it so."""
        ip("-n", self.switch, "link", "set", host.port, "down")

    def mend(self, host: Host) -> None:
        """Plug the cable back in."""
        ip("-n", self.switch, "link", "set", host.port, "up")

    def stop_processes(self) -> None:
        """Stop what `spawn` started (SIGTERM, then SIGKILL to each process group)."""
        for process in self.processes:
            stop_process_group(process)

    def close(self) -> None:
        """Stop what `spawn` started, then delete every namespace (with its cables)."""
        self.stop_processes()
        for namespace in [host.namespace for host in self.hosts] + [self.switch]:
            subprocess.run(["ip", "netns", "delete", namespace], capture_output=True)

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
