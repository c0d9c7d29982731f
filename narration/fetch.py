"""Fetching a linked page safely: public addresses only, bounded in time, size and kind.

A link given to a narration service is a request to make it open a connection on your behalf
(server-side request forgery). So every name is resolved here, once; every address it resolves
to must be public (or inside the operator's `allowed_networks`) — after each redirect too —
and the connection goes to the very address that was checked, so a name that answers
differently on a second lookup (DNS rebinding) cannot slip past. The standard library's
http.client is used rather than requests/urllib3: both resolve the name again when they
connect, and pinning the address through them means patching their internals.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from narration.errors import UrlForbiddenError, UrlNotTextError, UrlTooLargeError, UrlUnreachableError

MAX_REDIRECTS = 5
MAX_URL_CHARS = 2000
CHUNK = 64 * 1024
USER_AGENT = "narrator/0.1 (reads one page aloud for its user)"
TEXT_TYPES = {
    "text/html": "html", "application/xhtml+xml": "html",
    "text/plain": "text", "text/markdown": "markdown", "text/x-markdown": "markdown",
}
"""Content types we read, and the reader each one goes to."""
REDIRECTS = {301, 302, 303, 307, 308}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Fetched:
    """A fetched page: where it finally came from, what it says it is, and its bytes."""

    url: str
    """The final URL, after redirects."""
    content_type: str
    """The media type without parameters, e.g. "text/html"."""
    kind: str
    """The reader for it: "html", "text" or "markdown"."""
    body: bytes
    charset: str = ""
    """The charset the server named, or ""."""
    address: str = ""
    """The address the page came from."""


def parse_networks(value: str | tuple | list) -> tuple[Network, ...]:
    """CIDRs from "10.0.0.0/8, 192.168.1.0/24" (or a list of them); raises ValueError when one is bad."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in items if str(item).strip())


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a link we may try to fetch; cheap, no lookup. Raises UrlForbiddenError."""
    if not isinstance(url, str) or not url.strip():
        raise UrlForbiddenError("The link is empty; give a full http:// or https:// address.", field="url")
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise UrlForbiddenError(f"The link is longer than {MAX_URL_CHARS} characters.", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlForbiddenError(f"{url[:200]} is not a valid link.", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise UrlForbiddenError(
            f"Only http:// and https:// links can be narrated, not {parts.scheme or 'this'}:.", field="url")
    if not parts.hostname:
        raise UrlForbiddenError(f"{url[:200]} has no host name.", field="url")
    if parts.username or parts.password:
        raise UrlForbiddenError("Links with a user name or password in them are not fetched.", field="url")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_public(address: Address) -> bool:
    """True for an address on the public internet, looking inside IPv4-mapped, 6to4, Teredo and NAT64 forms."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
        or address.is_loopback or address.is_link_local or address.is_private)


def _allowed(address: Address, networks: tuple[Network, ...]) -> bool:
    """Public, or inside a network the operator allowed (matching the IPv4 form of a mapped address too)."""
    forms = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        forms.append(address.ipv4_mapped)
    inside = any(form in network for form in forms for network in networks if form.version == network.version)
    return inside or is_public(address)


def resolve(host: str, port: int, networks: tuple[Network, ...]) -> list[str]:
    """Every address of host, each checked; raises UrlForbiddenError if any is not allowed."""
    try:
        literal = ipaddress.ip_address(host)
        addresses = [literal]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise UrlUnreachableError(f"The name {host} could not be found ({error}).", field="url") from None
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%")[0])
            if address not in addresses:
                addresses.append(address)
    for address in addresses:
        if not _allowed(address, networks):
            raise UrlForbiddenError(
                f"{host} leads to {address}, a private, local or reserved address; only public "
                "addresses are fetched (an operator can allow networks with "
                "NARRATOR_FETCH_ALLOWED_NETWORKS).", field="url")
    return [str(address) for address in addresses]


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to an address literal, with no name lookup of any kind on the way."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address, port))
    except OSError:
        sock.close()
        raise
    return sock


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a checked address; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = self.pinned = _connect(self._address, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address; SNI and the certificate check use the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = _connect(self._address, self.port, self.timeout)
        self.sock = self.pinned = self._tls.wrap_socket(sock, server_hostname=self.host)


def fetch_url(
    url: str,
    *,
    allowed_networks: tuple | list | str = (),
    max_bytes: int,
    timeout: float = 20.0,
    ssl_context: ssl.SSLContext | None = None,
) -> Fetched:
    """Fetch an http(s) page: public addresses only, at most 5 redirects, `timeout` seconds in all,
    at most `max_bytes`, HTML/text/Markdown only. Errors are UrlForbiddenError, UrlUnreachableError,
    UrlTooLargeError and UrlNotTextError, each with a message saying what to do.

    `allowed_networks` (CIDRs) are fetched even when private; `ssl_context` replaces the default
    certificate store (tests use it with their own authority).
    """
    networks = parse_networks(allowed_networks)
    context = ssl_context or ssl.create_default_context()
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port = check_url(url)
        addresses = resolve(host, port, networks)
        response, connection, address = _open(scheme, host, port, addresses, url, deadline, context)
        try:
            if response.status in REDIRECTS and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location").strip())
                continue
            return _read(url, response, connection, address, max_bytes, deadline)
        finally:
            connection.close()
    raise UrlUnreachableError(f"The link redirected more than {MAX_REDIRECTS} times; give the final address.",
                              field="url")


def _remaining(deadline: float) -> float:
    """Seconds left before the deadline; raises UrlUnreachableError when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise UrlUnreachableError("The page did not arrive in time; try again later.", field="url")
    return left


def _open(scheme, host, port, addresses, url, deadline, context):
    """Send the GET to the first checked address that answers: (response, connection, address)."""
    path = urlsplit(url)
    target = (path.path or "/") + (f"?{path.query}" if path.query else "")
    failure = ""
    for address in addresses:
        if scheme == "https":
            connection = _PinnedHTTPS(host, port, address, _remaining(deadline), context)
        else:
            connection = _PinnedHTTP(host, port, address, _remaining(deadline))
        try:
            connection.putrequest("GET", target, skip_accept_encoding=True)
            for name, value in (("User-Agent", USER_AGENT), ("Accept-Encoding", "gzip, deflate, identity"),
                                ("Accept", "text/html, text/markdown, text/plain;q=0.9")):
                connection.putheader(name, value)
            connection.endheaders()
            return connection.getresponse(), connection, address
        except ssl.SSLCertVerificationError as error:
            connection.close()
            failure = f"its certificate is not valid for {host} ({error.verify_message})"
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            failure = "no answer in time" if isinstance(error, TimeoutError) else str(error) or type(error).__name__
    raise UrlUnreachableError(f"{host} could not be reached: {failure}.", field="url")


def _read(url: str, response, connection, address: str, max_bytes: int, deadline: float) -> Fetched:
    """Check status, type and size, and read the body, stopping past max_bytes or the deadline."""
    if response.status >= 400 or response.status < 200:
        raise UrlUnreachableError(
            f"The page answered {response.status} {response.reason}; check the link.", field="url")
    media_type, charset = _content_type(response.getheader("Content-Type", ""))
    if media_type and media_type not in TEXT_TYPES:
        raise UrlNotTextError(
            f"The link leads to {media_type}, not a page or a text; link to an HTML page, plain "
            "text or Markdown.", field="url")
    length = response.getheader("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise UrlTooLargeError(_too_large(max_bytes), field="url")
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise UrlNotTextError(f"The page is sent with {encoding} compression, which is not read.", field="url")
    decompressor = None if encoding == "identity" else zlib.decompressobj(47 if "gzip" in encoding else 15)
    body = bytearray()
    try:
        while True:
            connection.pinned.settimeout(_remaining(deadline))  # each read gets only the time left
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            if decompressor is not None:
                chunk = decompressor.decompress(chunk, max_bytes + 1 - len(body))
            body += chunk
            if len(body) > max_bytes:
                raise UrlTooLargeError(_too_large(max_bytes), field="url")
            _remaining(deadline)
    except (OSError, http.client.HTTPException, zlib.error) as error:
        if isinstance(error, TimeoutError):
            raise UrlUnreachableError("The page did not arrive in time; try again later.", field="url") from None
        raise UrlUnreachableError(f"The page could not be read whole: {error}.", field="url") from None
    kind = TEXT_TYPES.get(media_type) or _sniff(bytes(body[:512]))
    return Fetched(url, media_type or f"text/{'html' if kind == 'html' else 'plain'}", kind, bytes(body),
                   charset, address)


def _content_type(header: str) -> tuple[str, str]:
    """("text/html", "utf-8") from "text/html; charset=UTF-8"."""
    media_type, _, params = header.partition(";")
    charset = ""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower()
    return media_type.strip().lower(), charset


def _sniff(head: bytes) -> str:
    """The reader for a body sent without a content type: HTML when it starts like a page."""
    start = head.lstrip().lower()
    return "html" if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) else "text"


def _too_large(max_bytes: int) -> str:
    """The message for a page over the size limit."""
    return (f"The page is larger than {max_bytes:,} bytes, the most that is read; save the part "
            "you want narrated as text and send that.")
