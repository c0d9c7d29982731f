"""Fetching links safely, against a real HTTP (and HTTPS) server on 127.0.0.1.

The server is allowed through `allowed_networks`, as an operator on a LAN would allow theirs;
without that allowance the same server is refused, by address, by name and after redirects.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from narration import fetch as fetch_module
from narration.errors import UrlForbiddenError, UrlNotTextError, UrlTooLargeError, UrlUnreachableError
from narration.fetch import fetch_url, is_public, parse_networks

LOOPBACK = ("127.0.0.1/32",)
PAGE = b"<html><head><title>A page</title></head><body><p>Hello there.</p></body></html>"


class Handler(BaseHTTPRequestHandler):
    """Routes by path; records each request's Host header on the server."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet test output
        pass

    def do_GET(self):
        self.server.hosts.append(self.headers.get("Host"))
        path, _, query = self.path.partition("?")
        route = getattr(self, "route_" + path.strip("/").split("/")[0].replace("-", "_"), None)
        if route is None:
            return self.send(404, "text/plain", b"not here")
        route(path, query)

    def send(self, status, content_type, body, headers=()):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def route_page(self, path, query):
        self.send(200, "text/html; charset=utf-8", PAGE)

    def route_notes(self, path, query):
        self.send(200, "text/markdown; charset=utf-8", b"# Notes\n\nA line.\n")

    def route_untyped(self, path, query):
        self.send(200, None, b"<!DOCTYPE html><html><body><p>Untyped.</p></body></html>")

    def route_image(self, path, query):
        self.send(200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)

    def route_pdf(self, path, query):
        self.send(200, "application/pdf", b"%PDF-1.4")

    def route_big(self, path, query):
        self.send(200, "text/html", b"<p>" + b"a" * 50_000 + b"</p>")

    def route_endless(self, path, query):
        """No Content-Length, and more bytes than anyone should read, sent until the client leaves."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for _ in range(10_000):
                self.wfile.write(b"word " * 2000)
                self.server.sent += 10_000
        except OSError:
            pass

    def route_gzip(self, path, query):
        self.send(200, "text/html", gzip.compress(PAGE), [("Content-Encoding", "gzip")])

    def route_bomb(self, path, query):
        self.send(200, "text/plain", gzip.compress(b"a" * 5_000_000), [("Content-Encoding", "gzip")])

    def route_slow(self, path, query):
        time.sleep(3)
        self.send(200, "text/html", PAGE)

    def route_redirect(self, path, query):
        self.send(302, "text/plain", b"", [("Location", query)])

    def route_hop(self, path, query):
        """/hop/N redirects N times, then lands on the page."""
        left = int(path.split("/")[2])
        target = f"/hop/{left - 1}" if left > 1 else "/page"
        self.send(301, "text/plain", b"", [("Location", target)])

    def route_review(self, path, query):
        from pathlib import Path

        body = (Path(__file__).parent / "corpus" / "html-game-review-site.html").read_bytes()
        self.send(200, "text/html; charset=utf-8", body)

    def route_latin(self, path, query):
        self.send(200, "text/plain; charset=iso-8859-1", "Caf\u00e9 society\n\nA review. It was fine.\n".encode("latin-1"))

    def route_missing(self, path, query):
        self.send(404, "text/plain", b"gone")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.hosts, httpd.sent = [], 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url_of(server, path: str, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{server.server_address[1]}{path}"


def get(url: str, **kwargs):
    """fetch_url with the loopback allowance and small limits unless told otherwise."""
    return fetch_url(url, **{"allowed_networks": LOOPBACK, "max_bytes": 10_000, "timeout": 5, **kwargs})


# --- What is fetched ------------------------------------------------------------------------


def test_an_allowed_page_is_fetched_with_its_type_and_charset(server):
    fetched = get(url_of(server, "/page"))
    assert (fetched.kind, fetched.content_type, fetched.charset) == ("html", "text/html", "utf-8")
    assert fetched.body == PAGE and fetched.address == "127.0.0.1"


def test_markdown_and_untyped_pages_go_to_their_readers(server):
    assert get(url_of(server, "/notes")).kind == "markdown"
    assert get(url_of(server, "/untyped")).kind == "html"


def test_a_compressed_page_is_decompressed(server):
    assert get(url_of(server, "/gzip")).body == PAGE


def test_redirects_are_followed_up_to_five(server):
    fetched = get(url_of(server, "/hop/5"))
    assert fetched.body == PAGE and fetched.url.endswith("/page")
    with pytest.raises(UrlUnreachableError, match="redirected more than 5 times"):
        get(url_of(server, "/hop/6"))


# --- What is refused, each with its code ------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://example.com/review.txt", "file:///etc/passwd", "gopher://x/",
                                 "javascript:alert(1)", "http://", "http://user:pw@example.com/", ""])
def test_only_plain_http_and_https_links_are_fetched(url):
    with pytest.raises(UrlForbiddenError) as raised:
        fetch_url(url, max_bytes=1000)
    assert raised.value.code == "url_forbidden" and raised.value.field == "url"


def test_loopback_is_forbidden_without_the_allowance(server):
    with pytest.raises(UrlForbiddenError, match="private, local or reserved"):
        fetch_url(url_of(server, "/page"), max_bytes=10_000)


def test_a_name_that_resolves_to_loopback_is_forbidden(server):
    before = len(server.hosts)
    with pytest.raises(UrlForbiddenError, match="localhost leads to"):
        fetch_url(url_of(server, "/page", host="localhost"), max_bytes=10_000)
    assert len(server.hosts) == before  # refused before any connection


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://127.0.0.2:{port}/page",  # loopback outside the allowance
    "http://10.1.2.3/",  # private
    "http://[::1]:{port}/page",  # IPv6 loopback
    "http://[::ffff:10.0.0.1]/",  # IPv4-mapped private
    "http://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
    "http://0.0.0.0:{port}/page",  # unspecified
    "http://224.0.0.1/",  # multicast
])
def test_a_redirect_to_a_forbidden_address_is_refused(server, target):
    target = target.format(port=server.server_address[1])
    with pytest.raises(UrlForbiddenError):
        get(url_of(server, f"/redirect?{target}"))


def test_a_redirect_to_a_name_of_a_private_address_is_refused(server, monkeypatch):
    pin_name(monkeypatch, "intranet.example", "10.0.0.9")
    with pytest.raises(UrlForbiddenError, match="intranet.example leads to 10.0.0.9"):
        get(url_of(server, "/redirect?http://intranet.example/admin"))


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected(server, monkeypatch):
    """DNS rebinding: a second lookup would answer 10.0.0.1; there must be no second lookup."""
    answers = iter(["127.0.0.1", "10.0.0.1", "10.0.0.1"])
    lookups = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", fake_getaddrinfo)
    fetched = get(url_of(server, "/page", host="reviews.example"))
    assert fetched.body == PAGE and fetched.address == "127.0.0.1"
    assert lookups == ["reviews.example"]
    assert server.hosts[-1] == f"reviews.example:{server.server_address[1]}"


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in ("93.184.215.14", "192.168.0.7")]

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UrlForbiddenError, match="192.168.0.7"):
        fetch_url("https://mixed.example/", max_bytes=1000)


@pytest.mark.parametrize("path, code", [("/image", "url_not_text"), ("/pdf", "url_not_text")])
def test_other_content_types_are_refused(server, path, code):
    with pytest.raises(UrlNotTextError) as raised:
        get(url_of(server, path))
    assert raised.value.code == code and "not a page or a text" in raised.value.message


def test_a_page_over_the_size_limit_is_refused_by_its_length(server):
    with pytest.raises(UrlTooLargeError, match="larger than 10,000 bytes") as raised:
        get(url_of(server, "/big"))
    assert raised.value.code == "url_too_large"


def test_an_endless_body_is_cut_off_just_past_the_limit(server):
    started = time.monotonic()
    with pytest.raises(UrlTooLargeError):
        get(url_of(server, "/endless"), max_bytes=100_000)
    assert time.monotonic() - started < 3


def test_a_compression_bomb_stops_at_the_limit(server):
    with pytest.raises(UrlTooLargeError):
        get(url_of(server, "/bomb"), max_bytes=100_000)


def test_a_slow_page_runs_into_the_time_limit(server):
    started = time.monotonic()
    with pytest.raises(UrlUnreachableError, match="in time") as raised:
        get(url_of(server, "/slow"), timeout=0.5)
    assert raised.value.code == "url_unreachable"
    assert time.monotonic() - started < 2


def test_a_closed_port_and_an_error_status_are_unreachable(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(UrlUnreachableError, match="could not be reached"):
        get(f"http://127.0.0.1:{closed_port}/")
    with pytest.raises(UrlUnreachableError, match="404"):
        get(url_of(server, "/missing"))


def test_an_unknown_name_is_unreachable():
    with pytest.raises(UrlUnreachableError, match="could not be found"):
        fetch_url("http://no-such-host.invalid/", max_bytes=1000)


@pytest.mark.parametrize("address, public", [
    ("93.184.215.14", True), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.1.1", False),
    ("100.64.0.1", False), ("169.254.169.254", False), ("0.0.0.0", False), ("255.255.255.255", False),
    ("224.0.0.251", False), ("240.0.0.1", False), ("::1", False), ("::", False), ("fe80::1", False),
    ("fc00::1", False), ("ff02::1", False), ("::ffff:127.0.0.1", False), ("::ffff:8.8.8.8", True),
    ("2002:7f00:1::", False), ("64:ff9b::a00:1", False), ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),
])
def test_public_addresses(address, public):
    import ipaddress

    assert is_public(ipaddress.ip_address(address)) is public


def test_allowed_networks_parse_and_refuse_nonsense():
    assert [str(n) for n in parse_networks("10.0.0.0/8, 192.168.1.7")] == ["10.0.0.0/8", "192.168.1.7/32"]
    assert parse_networks("") == ()
    with pytest.raises(ValueError):
        parse_networks("10.0.0.0/8, not-a-network")


def test_the_setting_reads_networks_and_names_a_bad_one():
    from narration.settings import SettingError, load_settings

    settings = load_settings({"NARRATOR_FETCH_ALLOWED_NETWORKS": "192.168.0.0/16"})
    assert [str(n) for n in settings.fetch_allowed_networks] == ["192.168.0.0/16"]
    with pytest.raises(SettingError, match="NARRATOR_FETCH_ALLOWED_NETWORKS"):
        load_settings({"NARRATOR_FETCH_ALLOWED_NETWORKS": "lan"})


# --- HTTPS: the pinned address still gets SNI and a certificate check by name ------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """An HTTPS server on 127.0.0.1 with a certificate for reviews.test from a throwaway authority."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=reviews.test",
         "-addext", "subjectAltName=DNS:reviews.test", "-keyout", str(key), "-out", str(cert)],
        capture_output=True)
    if made.returncode:
        pytest.skip(f"openssl could not make a certificate: {made.stderr.decode()[:200]}")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.hosts, httpd.sent, httpd.names = [], 0, []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: httpd.names.append(name)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd, ssl.create_default_context(cafile=str(cert))
    httpd.shutdown()
    httpd.server_close()


def pin_name(monkeypatch, name: str, address: str = "127.0.0.1"):
    """Make `name` resolve to `address` for the fetcher alone."""
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", fake_getaddrinfo)


def test_https_sends_the_name_for_sni_and_checks_the_certificate_against_it(tls_server, monkeypatch):
    httpd, trust = tls_server
    pin_name(monkeypatch, "reviews.test")
    fetched = get(f"https://reviews.test:{httpd.server_address[1]}/page", ssl_context=trust)
    assert fetched.body == PAGE
    assert httpd.names[-1] == "reviews.test"
    assert httpd.hosts[-1] == f"reviews.test:{httpd.server_address[1]}"


def test_https_to_a_name_the_certificate_does_not_cover_is_unreachable(tls_server, monkeypatch):
    httpd, trust = tls_server
    pin_name(monkeypatch, "other.test")
    with pytest.raises(UrlUnreachableError, match="certificate is not valid for other.test"):
        get(f"https://other.test:{httpd.server_address[1]}/page", ssl_context=trust)


# --- A link read end to end: fetched safely, then read by the reader for its type -----------------


def test_a_linked_review_page_reads_into_its_article(server):
    from narration.reading import read_url

    url = url_of(server, "/review")
    document = read_url(url, allowed_networks=LOOPBACK, max_bytes=1 << 20)
    assert document.metadata.url == url and document.metadata.rating == "7/10"
    assert [chapter.title for chapter in document.chapters][1:3] == ["A port that runs on patience", "Where it runs aground"]
    text = " ".join(p for chapter in document.chapters for p in chapter.paragraphs)
    assert "Advertisement" not in text and "Is it on console" not in text


def test_a_linked_text_is_decoded_by_its_charset(server):
    from narration.reading import read_url

    document = read_url(url_of(server, "/latin"), allowed_networks=LOOPBACK, max_bytes=10_000)
    assert document.metadata.title == "Caf\u00e9 society"


def test_a_refused_link_reads_into_the_same_error(server):
    from narration.reading import read_url

    with pytest.raises(UrlForbiddenError):
        read_url(url_of(server, "/review"), max_bytes=1 << 20)
