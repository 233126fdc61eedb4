# ruff: noqa: RUF001 - full-width look-alike characters are what these tests are about
"""The probe connects to the address it checked: one lookup, every answer checked, no second lookup that DNS
rebinding could answer with the metadata address. And registration refuses every spelling of a refused address.

DNS is faked by patching socket.getaddrinfo; 127.0.0.1 (allowed by the rules) stands in for a public address,
and every connect() is recorded and any to a link-local address refused, so a failing test never reaches one.
"""

import datetime
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib.outages import probes

NAME = "status.example.test"
METADATA = "169.254.169.254"


class Target:
    """An HTTP(S) server on 127.0.0.1 answering 200, remembering the Host headers and TLS server names it got."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.hosts: list[str] = []
        self.server_names: list[str | None] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                target.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format, *args):  # noqa: A002 - http.server's name
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda sock, name, context: target.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket connect()s to; connecting to a link-local address is refused without traffic."""
    made: list[str] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        made.append(address[0])
        if ipaddress.ip_address(address[0].split("%")[0]).is_link_local or address[0].endswith(METADATA):
            raise ConnectionRefusedError(f"test guard: no connection to {address[0]}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return made


@pytest.fixture
def dns(monkeypatch):
    """`dns(*answers)`: NAME resolves to answers[0] on the first lookup, answers[1] on the second, and so on
    (the last one sticks); other names resolve as usual. Returns the list of NAME lookups made."""
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def install(*answers: str) -> list[str]:
        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - socket's names
            if host != NAME:
                return real_getaddrinfo(host, port, family, type, proto, flags)
            ip = answers[min(len(lookups), len(answers) - 1)]
            lookups.append(host)
            if ":" in ip:
                return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port or 0, 0, 0))]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return lookups

    return install


@pytest.fixture
def target():
    started: list[Target] = []

    def start(tls: ssl.SSLContext | None = None) -> Target:
        started.append(Target(tls))
        return started[-1]

    yield start
    for server in started:
        server.close()


def test_a_host_rebinding_to_the_metadata_address_after_the_check_is_still_probed_where_it_was_checked(
    dns, connections, target
):
    server = target()
    lookups = dns("127.0.0.1", METADATA)

    status, detail = probes.probe(f"http://{NAME}:{server.port}/health", timeout_s=2)

    assert (status, detail) == (200, "HTTP 200")
    assert connections == ["127.0.0.1"]
    assert lookups == [NAME]
    assert server.hosts == [f"{NAME}:{server.port}"]


def test_an_https_probe_goes_to_the_checked_address_with_sni_and_certificate_for_the_urls_host(
    dns, connections, target, tmp_path, monkeypatch
):
    server_tls, client_tls = _tls_pair(NAME, tmp_path)
    monkeypatch.setattr(probes, "_tls", lambda: client_tls)
    server = target(server_tls)
    lookups = dns("127.0.0.1", METADATA)

    status, _ = probes.probe(f"https://{NAME}:{server.port}/health", timeout_s=2)

    assert status == 200  # the certificate names NAME, not 127.0.0.1: the check used the URL's host
    assert connections == ["127.0.0.1"]
    assert lookups == [NAME]
    assert server.server_names == [NAME]
    assert server.hosts == [f"{NAME}:{server.port}"]


@pytest.mark.parametrize(
    "resolved", ["::a9fe:a9fe", "::ffff:0:a9fe:a9fe", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "2001:0:a9fe:a9fe::"]
)
def test_a_host_resolving_to_an_ipv6_form_of_the_metadata_address_is_never_connected_to(resolved, dns, connections):
    dns(resolved)

    status, detail = probes.probe(f"http://{NAME}/latest/meta-data", timeout_s=2)

    assert status is None
    assert detail.startswith("refused: ")
    assert METADATA in detail
    assert connections == []


def test_a_stored_url_with_an_ipv6_form_of_the_metadata_address_is_never_connected_to(connections):
    answers = probes.probe_all({"old": "http://[::a9fe:a9fe]/latest/meta-data",
                                "nat64": "http://[64:ff9b::a9fe:a9fe]/"}, timeout_s=2)

    assert {name: status for name, (status, _) in answers.items()} == {"old": None, "nat64": None}
    assert all(detail.startswith("refused: ") for _, detail in answers.values())
    assert connections == []


REFUSED_PROBE_URLS = [
    "http://１６９.２５４.１６９.２５４/latest/meta-data",
    "http://169。254。169。254/latest/meta-data",
    "http://169．254．169．254/",
    "http://169｡254｡169｡254/",
    "http://２８５２０３９１６６/",
    "http://０ｘａ９ｆｅａ９ｆｅ/",
    "http://[::a9fe:a9fe]/",
    "http://[::169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2001:0:a9fe:a9fe::]/",
    "https://ex%41mple.com/",
]


def test_registering_a_probe_url_that_spells_a_refused_address_otherwise_is_a_400_naming_probe_url(api):
    for url in REFUSED_PROBE_URLS:  # one moto stack for the whole table keeps the module fast
        response = api("post", "/components", ("admin", "ops-1"), {"name": "metadata", "probe_url": url})
        assert response.status_code == 400, (url, response.body)
        assert "probe_url" in response.json_body["error"]["fields"], (url, response.json_body)
    assert api("get", "/status").json_body["components"] == []


def _tls_pair(hostname: str, folder) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a self-signed certificate for hostname only, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client
