"""Which redirect URIs an OAuth client may register, and how a requested one is matched.

Why so strict: the redirect URI is where the gateway delivers authorization codes. Every
known redirect-URI attack (open redirectors via wildcards or prefix matching, parser
differentials on ``\\``, ``@`` or ``..``, fragment tricks, ``javascript:`` sinks) relies on
the server accepting or matching more than one exact string. So registration admits only a
small, unambiguous subset of URIs, and matching is exact string equality (RFC 9700 §4.1.3).

Registration never normalises: the string stored is the string the client sent, so the
client sees at once if its later requests differ from what it registered.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_LENGTH = 2000
# Characters RFC 3986 allows in a URI (unreserved, reserved and "%"); everything else
# (quotes, angle brackets, braces, "|", "^", "`", space, "\") is refused outright.
_URI_CHARS_RE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_PCT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Percent-encoded control characters, and encoded "/" or "\" that could become path
# separators (and so ".." segments) if anything downstream decodes before resolving.
_PCT_CONTROL_RE = re.compile(r"%(?:[01][0-9A-Fa-f]|7[Ff])")
_PCT_SEPARATOR_RE = re.compile(r"%(?:2[Ff]|5[Cc])")
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# WHATWG URL parsing treats a host whose last label "ends in a number" as IPv4
# (e.g. "2130706433" or "0x7f.1" both mean 127.0.0.1); we accept only dotted quads.
_NUMERIC_LABEL_RE = re.compile(r"[0-9]+|0[Xx][0-9A-Fa-f]*")
# host[:port] with no userinfo; an empty port ("host:") is refused as non-canonical.
_AUTHORITY_RE = re.compile(
    r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+))(?::(?P<port>[0-9]{1,5}))?"
)


class RedirectUriError(ValueError):
    """A redirect URI refused at registration; ``code`` is stable for API error answers."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code


def _check_characters(uri: str) -> None:
    if len(uri) > MAX_LENGTH:
        raise RedirectUriError("too_long", f"redirect URI longer than {MAX_LENGTH} characters")
    if not uri.isascii():
        raise RedirectUriError("non_ascii", "redirect URI must be ASCII (percent-encode it)")
    if any(c <= " " or c == "\x7f" for c in uri):
        raise RedirectUriError("whitespace_or_control", "whitespace or control character")
    if "\\" in uri:
        raise RedirectUriError("backslash", "backslash in redirect URI")
    if "#" in uri:
        raise RedirectUriError("fragment", "redirect URI must not contain a fragment")
    if "*" in uri:
        raise RedirectUriError("wildcard", "wildcards are not allowed")
    if not _URI_CHARS_RE.fullmatch(uri):
        raise RedirectUriError("invalid_character", "character not allowed in a URI")
    if _PCT_RE.search(uri) or _PCT_CONTROL_RE.search(uri):
        raise RedirectUriError("invalid_percent_encoding", "bad or control percent-escape")


def _is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: the only hosts where plain http is acceptable."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.version == 6:
        return address == ipaddress.IPv6Address("::1")
    return address.is_loopback


def _check_authority(netloc: str) -> str:
    """Return the host of ``host[:port]``; parsed by hand because urlsplit is lenient."""
    if "@" in netloc:
        raise RedirectUriError("userinfo", "user information is not allowed in the authority")
    if not netloc or netloc.startswith(":"):
        raise RedirectUriError("missing_host", "redirect URI has no host")
    match = _AUTHORITY_RE.fullmatch(netloc)
    if match is None:
        raise RedirectUriError("invalid_host", "authority must be host[:port]")
    ipv6, host, port = match.group("ipv6", "host", "port")
    if port is not None and not 0 < int(port) <= 65535:
        raise RedirectUriError("invalid_port", "port must be 1-65535")
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            raise RedirectUriError("invalid_host", "invalid IPv6 literal") from None
        return ipv6
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise RedirectUriError("invalid_host", "host is not a DNS name or IP address")
    if _NUMERIC_LABEL_RE.fullmatch(labels[-1]):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise RedirectUriError("invalid_host", "ambiguous numeric host") from None
    return host.lower()


def validate_registered_redirect_uri(uri: str) -> str:
    """Return ``uri`` unchanged if a client may register it, else raise RedirectUriError.

    Accepted: ``https://`` URIs, and ``http://`` only on a loopback host (RFC 8252 §7.3,
    for developers and native apps listening locally). Private-use schemes
    (``com.example.app:/cb``) are not accepted here although RFC 8252 allows them: any app
    can claim such a scheme, and the gateway has no native clients that need one.
    The scheme must be written in lower case, since matching is exact.
    """
    if not isinstance(uri, str):
        raise RedirectUriError("invalid_type", "redirect URI must be a string")
    _check_characters(uri)
    if uri.startswith("https://"):
        secure = True
    elif uri.startswith("http://"):
        secure = False
    else:
        raise RedirectUriError("scheme_not_allowed", "only https (or http on loopback)")
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unbalanced "[" in the authority
        raise RedirectUriError("malformed", "redirect URI cannot be parsed") from None
    host = _check_authority(parts.netloc)
    if not secure and not _is_loopback(host):
        raise RedirectUriError("insecure_http", "http is allowed only on a loopback host")
    if "[" in parts.path + parts.query or "]" in parts.path + parts.query:
        raise RedirectUriError("invalid_character", "brackets are only allowed in the host")
    if _PCT_SEPARATOR_RE.search(parts.path):
        raise RedirectUriError("encoded_separator", "percent-encoded / or \\ in the path")
    for segment in parts.path.split("/"):
        if segment.lower().replace("%2e", ".") in (".", ".."):
            raise RedirectUriError("dot_segment", "'.' or '..' path segment")
    return uri


def redirect_uri_matches(requested: str, registered: list[str]) -> bool:
    """True only if ``requested`` is exactly (character for character) one registered URI.

    No normalisation of any kind: not case, trailing slash, default port, query parameters
    or percent-encoding, because every normalisation is a chance for the gateway and the
    browser to disagree about where the code goes (RFC 9700 §4.1.3, OAuth 2.1 §2.3.1).

    Deliberately NOT applied: RFC 8252 §7.3's exception that lets a loopback redirect URI
    match with any port. Native apps must register each loopback URI with its exact port;
    accepting any port would let another local process that grabs a port receive the code.

    Plain ``==`` suffices (no constant-time comparison): redirect URIs are not secrets.
    """
    if not isinstance(requested, str):
        return False
    return any(isinstance(uri, str) and uri == requested for uri in registered)
