"""Which metadata keys are reserved (kube.registry.reserved): the domain the workspaces app
reserves (`kcp.io`) and its subdomains, by the prefix before `/` only."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "key",
    [
        "kcp.io/path",
        "kcp.io/cluster",
        "internal.tenancy.kcp.io/type",
        "experimental.tenancy.kcp.io/owner",
        "claimed.internal.apis.kcp.io/abc",
        "core.kcp.io/logicalcluster",
    ],
)
def test_kcp_domain_and_subdomains_are_reserved(key: str) -> None:
    from kube.registry.reserved import is_reserved

    assert is_reserved(key)


@pytest.mark.parametrize(
    "key",
    [
        "kcp.io",  # no prefix: a bare name
        "app",
        "notkcp.io/x",  # another domain that merely ends in the same letters
        "kcp.io.example.com/x",
        "example.com/kcp.io",
        "kubernetes.io/metadata.name",
        "",
    ],
)
def test_other_keys_are_not(key: str) -> None:
    from kube.registry.reserved import is_reserved

    assert not is_reserved(key)


def test_an_exempt_key_of_a_reserved_domain_is_not_reserved() -> None:
    from kube.registry.reserved import is_reserved

    assert not is_reserved("apiexports.apis.kcp.io/skip-endpointslice")  # the apis app exempts it
    assert is_reserved("apiexports.apis.kcp.io/other")
