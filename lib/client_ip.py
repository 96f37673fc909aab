"""The visitor's address, read through the reverse proxies we trust and no one else.

Behind a proxy every request connects from the proxy, so keys built on the connecting address
put every visitor in one rate-limit bucket. `X-Forwarded-For` names the real visitor, but anyone
can send that header: it is read only when the connecting address is a proxy of ours
(`TRUSTED_PROXIES`), walking it from the right (the part our proxies wrote) and stopping at the
first address that is not one of ours. Rate limits (ours and allauth's) and logs all ask here.

`TRUSTED_PROXIES` is either a number of proxies in front (for load balancers whose addresses
change; the app must then be unreachable except through them) or a list of addresses and CIDR
networks (`10.0.0.0/8, 2001:db8::/32`). Empty: no proxy, the connecting address is the visitor.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

UNKNOWN_PEER = "0.0.0.0"  # noqa: S104 - a placeholder address, never listened on

type Network = ipaddress.IPv4Network | ipaddress.IPv6Network
type Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class TrustedProxies:
    """Either `count` proxies in front (trust the last hops whatever their address) or networks."""

    count: int = 0
    networks: tuple[Network, ...] = ()

    def trusts(self, address: Address, hop: int) -> bool:
        """Whether the `hop`-th address from the right (0: the connecting one) is our proxy."""
        if self.count:
            return hop < self.count
        return any(address in network for network in self.networks)


def parse_trusted_proxies(value: int | str | list[str] | tuple[str, ...]) -> TrustedProxies:
    """A number of proxies, or addresses and networks; ValueError names what is wrong."""
    items = [value] if isinstance(value, int | str) else list(value)
    texts = [str(item).strip() for item in items if str(item).strip()]
    if len(texts) == 1 and texts[0].isdigit():
        return TrustedProxies(count=int(texts[0]))
    try:
        return TrustedProxies(networks=tuple(ipaddress.ip_network(t, strict=False) for t in texts))
    except ValueError as error:
        raise ValueError(f"{error}: give a number of proxies, or addresses and CIDRs") from None


@lru_cache(maxsize=8)
def _trusted(value: int | str | tuple[str, ...]) -> TrustedProxies:
    return parse_trusted_proxies(value)


def trusted_proxies() -> TrustedProxies:
    """The setting, parsed once per distinct value (tests change it)."""
    value = getattr(settings, "TRUSTED_PROXIES", ())
    return _trusted(value if isinstance(value, int | str) else tuple(value))


def client_ip(request: HttpRequest) -> str:
    """The visitor's address: the connecting one, or the nearest untrusted one it forwarded."""
    remote = parse_address(request.META.get("REMOTE_ADDR", ""))
    if remote is None:  # a Unix socket with no address: every such visitor shares one key
        return UNKNOWN_PEER
    proxies = trusted_proxies()
    client = remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    hops = [remote, *(parse_address(item) for item in reversed(forwarded) if item.strip())]
    for hop, address in enumerate(hops):
        if address is None:
            break  # not an address: nothing to its left can be believed either
        client = address
        if not proxies.trusts(address, hop):
            break
    return str(client)


def parse_address(text: str) -> Address | None:
    """An IP address as proxies write it (`[2001:db8::1]` too), or None."""
    text = text.strip().removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
