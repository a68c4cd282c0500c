"""Helpers shared by Latchkey's end-to-end tests (see support.provider)."""

from .provider import (CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, DEVICE_GRANT, PUBLIC_CLIENT,
                       USERS, Person, Provider, ProviderError, SignInError, jwt_claims,
                       pkce_pair)

__all__ = [
    "CONFIDENTIAL_CLIENT", "CONFIDENTIAL_SECRET", "DEVICE_GRANT", "PUBLIC_CLIENT", "USERS",
    "Person", "Provider", "ProviderError", "SignInError", "jwt_claims", "pkce_pair",
]
