def origin_allowed(*, allowed_origins: tuple[str, ...] | list[str], origin: str) -> bool:
    """Whether a browser `Origin` matches the property's list: exact `scheme://host[:port]`, or
    `scheme://*.example.com[:port]` for any subdomain of example.com (not example.com itself)."""
    origin = origin.strip().lower().rstrip("/")
    scheme, _, host = origin.partition("://")
    for allowed in allowed_origins:
        if allowed == origin:
            return True
        allowed_scheme, _, allowed_host = allowed.partition("://")
        if allowed_host.startswith("*.") and allowed_scheme == scheme:
            suffix = allowed_host[1:]  # ".example.com[:port]"
            if host.endswith(suffix) and len(host) > len(suffix) and "/" not in host:
                return True
    return False
