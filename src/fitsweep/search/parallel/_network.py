"""Addresses for the chief's oracle: which are safe to serve on, and how to write and read them."""

from __future__ import annotations

import ipaddress

from fitsweep.errors import FitsweepError

LOOPBACK = "127.0.0.1"


class ExposedOracleWarning(UserWarning):
    """The chief's oracle listens on an address other machines can reach."""


def exposure_warning(host: str) -> str | None:
    """The warning for serving the oracle on `host`, or None for a loopback address.

    Example:
        >>> exposure_warning("127.0.0.1") is None
        True
    """
    if host == "localhost" or is_loopback(host):
        return None
    return (f"the oracle listens on {host}, which other machines can reach; KerasTuner's gRPC oracle has no "
            "authentication, so serve it only on a network you trust")


def address(host: str, port: int) -> str:
    """"host:port", with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback IP address (127.0.0.0/8 or ::1)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_address(chief: str) -> tuple[str, int]:
    """The host and port of a chief's "host:port" as a user gave it."""
    host, _, port = chief.rpartition(":")
    if not host or not port.isdecimal() or not 1 <= int(port) <= 65535:
        raise FitsweepError(f"--chief: '{chief}' is not HOST:PORT with a port from 1 to 65535, such as 10.0.0.5:8470")
    return host.strip("[]"), int(port)
