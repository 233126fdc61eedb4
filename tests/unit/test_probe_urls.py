# ruff: noqa: RUF001 - full-width look-alike characters are what these tests are about
"""Probe URL rules: a refused address is refused in every spelling the resolver or the network would accept
(full-width digits, ideographic dots, numeric forms, IPv6 forms carrying an IPv4 address); ordinary hosts pass."""

import pytest

from chalicelib.outages.rules import address_problem, normalised_host, probe_url_problem

METADATA_SPELLINGS = [  # the ASCII numeric and ::ffff: forms are in test_outage_rules.py
    # full-width digits and dots: IDNA folds them to ASCII, so the resolver reaches 169.254.169.254
    "１６９.２５４.１６９.２５４",
    "169。254。169。254",  # U+3002 ideographic full stop
    "169．254．169．254",  # U+FF0E full-width full stop
    "169｡254｡169｡254",  # U+FF61 half-width ideographic full stop
    "１６９。２５４。１６９。２５４",
    "169.254.169.２５４",
    "169.254.169.254。",  # a trailing dot, full-width, is the same host
    "169.254.169.2\u00ad54",  # a soft hyphen is mapped to nothing
    # integer spellings inet_aton accepts, in full-width forms
    "２８５２０３９１６６",
    "０ｘａ９ｆｅａ９ｆｅ",
    "０ＸＡ９ＦＥＡ９ＦＥ",
    "０２５１．０３７６．０２５１．０３７６",
    "0xa9。0xfe。0xa9。0xfe",
    "１６９.１６６８９６６２",
    "169。254。43518",
    # IPv6 forms that carry 169.254.169.254
    "[::a9fe:a9fe]",  # IPv4-compatible
    "[::169.254.169.254]",
    "[::ffff:0:a9fe:a9fe]",  # IPv4-translated (SIIT)
    "[64:ff9b::a9fe:a9fe]",  # NAT64 well-known prefix
    "[64:ff9b::169.254.169.254]",
    "[64:ff9b:1::a9fe:a9fe]",  # NAT64 local-use prefix at /96
    "[64:ff9b:1:a9fe:a9:fe00::]",  # ... at /48 (RFC 6052 skips bits 64..71)
    "[64:ff9b:1:a9:fe:a9fe::]",  # ... at /56
    "[64:ff9b:1:0:a9:fea9:fe00:0]",  # ... at /64
    "[2002:a9fe:a9fe::1]",  # 6to4
    "[2001:0:a9fe:a9fe::1]",  # Teredo server
    "[2001:0:4136:e378:8000:63bf:5601:5601]",  # Teredo client (stored inverted)
    "[2002:a9fe:1::]",  # 6to4 of another link-local address
]


@pytest.mark.parametrize("host", METADATA_SPELLINGS)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_link_local_address_is_refused_in_every_spelling(host, scheme):
    assert probe_url_problem(f"{scheme}://{host}/latest/meta-data", https_only=False) is not None
    assert probe_url_problem(f"{scheme}://{host}:8080/", https_only=False) is not None


@pytest.mark.parametrize(
    "host", ["０.０.０.０", "0。0。0。0", "０", "０ｘ０", "[::ffff:0:0.0.0.0]", "[2002::1]", "[64:ff9b::]"]
)
def test_unspecified_and_link_local_addresses_are_refused_in_other_spellings(host):
    assert probe_url_problem(f"http://{host}/", https_only=False) is not None


@pytest.mark.parametrize(
    "host",
    [
        "ex%41mple.com",  # percent-encoding is not decoded by the resolver
        "example..com",
        "example.com..",
        ".example.com",
        "exa!mple.com",
        "ex\ufffdample.com",  # prohibited by IDNA
        "a" * 64 + ".example.com",
        ".".join(["abcdefghij"] * 24) + ".com",  # longer than 253
    ],
)
def test_a_host_that_cannot_be_normalised_is_refused(host):
    assert probe_url_problem(f"https://{host}/health", https_only=True) == "host is not a valid host name"


@pytest.mark.parametrize(
    "url",
    [
        "https://status.example.com/health",
        "https://Status.Example.COM./health",
        "https://ｓｔａｔｕｓ．ｅｘａｍｐｌｅ．ｃｏｍ/health",
        "https://bücher.example/health",
        "https://xn--bcher-kva.example/health",
        "https://api.taxi-platform.co.kr:8443/v1/health?deep=1",
        "https://_probe.example.com/",
        "https://8.8.8.8/health",
        "https://8.8.8.8./health",
        "https://８.８.８.８/health",
        "https://203.0.113.10:8443/",
        "https://169.253.255.255/",
        "https://[2001:4860:4860::8888]/health",
        "https://[64:ff9b::808:808]/",  # NAT64 of a public address
        "https://[64:ff9b:1::808:808]/",
        "https://[2002:808:808::1]/",  # 6to4 of a public address
        "https://[2001:0:808:808::1]/",  # Teredo with public server and client
        "https://[::ffff:8.8.8.8]/",
    ],
)
def test_public_hosts_and_addresses_are_accepted_in_any_spelling(url):
    assert probe_url_problem(url, https_only=True) is None


def test_the_normalised_host_is_the_name_the_resolver_gets():
    assert normalised_host("Status.Example.COM.") == "status.example.com"
    assert normalised_host("ｓｔａｔｕｓ。ｅｘａｍｐｌｅ．ｃｏｍ") == "status.example.com"
    assert normalised_host("Bücher.example") == "xn--bcher-kva.example"
    assert normalised_host("２８５２０３９１６６") == "2852039166"
    assert normalised_host("::FFFF:A9FE:A9FE") == "::ffff:a9fe:a9fe"
    assert normalised_host("exa mple.com") is None
    assert normalised_host("::g") is None


@pytest.mark.parametrize(
    "ip",
    [
        "::a9fe:a9fe",
        "::ffff:0:a9fe:a9fe",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a9fe:a9fe",
        "64:ff9b:1:a9fe:a9:fe00::",
        "2002:a9fe:a9fe::",
        "2001:0:a9fe:a9fe::",
        "2001:0:4136:e378:8000:63bf:5601:5601",
    ],
)
def test_a_resolved_ipv6_address_carrying_a_link_local_ipv4_is_refused(ip):
    assert "169.254.169.254" in address_problem(ip)


@pytest.mark.parametrize(
    "ip", ["::1", "64:ff9b::808:808", "64:ff9b:1::808:808", "64:ff9b:1:808:8:800::", "2002:808:808::", "127.0.0.1"]
)
def test_a_resolved_ipv6_address_carrying_a_public_or_loopback_ipv4_is_allowed(ip):
    assert address_problem(ip) is None
