"""The NetworkPolicy evaluator (netpol.py) on hand-written policies: each case is one rule of
Kubernetes' semantics, so an evaluator that gets the rule wrong fails here first."""

from __future__ import annotations

import pytest

from tests.recipes.kubernetes.netpol import Cluster, PolicyError, address, pod

WEB = pod("web", "shop", {"app": "web", "tier": "front"})
DB = pod("db", "shop", {"app": "db", "tier": "back"})
JOB = pod("job", "batch", {"app": "job"})
OTHER_WEB = pod("web2", "batch", {"app": "web"})
OUTSIDE = address("198.51.100.7")


def policy(namespace: str, spec: dict, name: str = "p") -> dict:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def tcp(port: int) -> dict:
    return {"protocol": "TCP", "port": port}


def test_without_policies_everything_flows():
    cluster = Cluster([])
    assert cluster.allows(WEB, DB, 5432) and cluster.allows(OUTSIDE, JOB, 1) and cluster.allows(DB, OUTSIDE, 443, "UDP")


def test_a_deny_all_policy_isolates_every_pod_of_its_namespace_only():
    cluster = Cluster([policy("shop", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})])
    assert not cluster.allows(WEB, DB, 5432)
    assert not cluster.allows(JOB, WEB, 80)  # into shop
    assert not cluster.allows(DB, JOB, 80)  # out of shop
    assert cluster.allows(JOB, OTHER_WEB, 80)  # batch is not isolated


def test_isolation_is_per_direction():
    ingress_only = Cluster([policy("shop", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]})])
    assert not ingress_only.allows(WEB, DB, 5432)
    assert ingress_only.allows(DB, WEB, 80)  # db's egress is not isolated, web's ingress neither
    assert ingress_only.isolated(DB, "Ingress") and not ingress_only.isolated(DB, "Egress")


def test_policy_types_default_to_ingress_plus_egress_when_egress_rules_exist():
    no_types = Cluster([policy("shop", {"podSelector": {}})])
    assert no_types.isolated(WEB, "Ingress") and not no_types.isolated(WEB, "Egress")
    with_egress = Cluster([policy("shop", {"podSelector": {}, "egress": [{"ports": [tcp(53)]}]})])
    assert with_egress.isolated(WEB, "Egress")
    assert with_egress.allows(WEB, OUTSIDE, 53) and not with_egress.allows(WEB, OUTSIDE, 443)


def test_a_connection_needs_the_senders_egress_and_the_receivers_ingress():
    db_admits_web = policy("shop", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]})
    web_sends_nothing = policy("shop", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"]}, "q")
    assert Cluster([db_admits_web]).allows(WEB, DB, 5432)
    assert not Cluster([db_admits_web, web_sends_nothing]).allows(WEB, DB, 5432)


def test_policies_add_up():
    deny = policy("shop", {"podSelector": {}, "policyTypes": ["Ingress"]}, "deny")
    web = policy("shop", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                          "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}, "web")
    job = policy("shop", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                          "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "batch"}}}]}]},
                 "job")
    cluster = Cluster([deny, web, job])
    assert cluster.allows(WEB, DB, 5432) and cluster.allows(JOB, DB, 5432)
    assert not cluster.allows(DB, WEB, 80)  # web is isolated by `deny` and admitted by nothing


def test_pod_selector_alone_means_the_policys_own_namespace():
    cluster = Cluster([policy("shop", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                                       "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]})])
    assert cluster.allows(WEB, DB, 5432)
    assert not cluster.allows(OTHER_WEB, DB, 5432)  # app=web, but in batch


def test_namespace_and_pod_selector_in_one_peer_mean_both_in_two_peers_either():
    batch = {"namespaceSelector": {"matchLabels": {"team": "data"}}}
    web = {"podSelector": {"matchLabels": {"app": "web"}}}
    both = Cluster([policy("shop", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                                    "ingress": [{"from": [{**batch, **web}]}]})], {"batch": {"team": "data"}})
    assert both.allows(OTHER_WEB, DB, 5432)  # web in batch
    assert not both.allows(JOB, DB, 5432)  # batch, not web
    assert not both.allows(WEB, DB, 5432)  # web, not batch
    either = Cluster([policy("shop", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                                      "ingress": [{"from": [batch, web]}]})], {"batch": {"team": "data"}})
    assert either.allows(JOB, DB, 5432) and either.allows(WEB, DB, 5432)


def test_every_namespace_is_selectable_by_its_name_label():
    cluster = Cluster([policy("shop", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "batch"}}, "podSelector": {}}]}]})])
    assert cluster.allows(WEB, JOB, 8080) and not cluster.allows(WEB, DB, 8080)


@pytest.mark.parametrize("expression, web, db", [
    ({"key": "app", "operator": "In", "values": ["web", "api"]}, True, False),
    ({"key": "app", "operator": "NotIn", "values": ["web"]}, False, True),
    ({"key": "missing", "operator": "NotIn", "values": ["x"]}, True, True),  # NotIn matches an absent label
    ({"key": "tier", "operator": "Exists"}, True, True),
    ({"key": "tier", "operator": "DoesNotExist"}, False, False),
])
def test_match_expressions(expression, web, db):
    cluster = Cluster([policy("shop", {"podSelector": {"matchExpressions": [expression]}, "policyTypes": ["Ingress"]})])
    assert cluster.isolated(WEB, "Ingress") is web
    assert cluster.isolated(DB, "Ingress") is db


def test_match_labels_and_expressions_must_all_hold():
    selector = {"matchLabels": {"tier": "front"}, "matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]}
    cluster = Cluster([policy("shop", {"podSelector": selector, "policyTypes": ["Ingress"]})])
    assert not cluster.isolated(WEB, "Ingress") and not cluster.isolated(DB, "Ingress")


def test_ip_blocks_match_addresses_minus_their_exceptions_and_never_selector_peers():
    cluster = Cluster([policy("shop", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "198.51.100.0/24", "except": ["198.51.100.128/25"]}}]}]})])
    assert cluster.allows(WEB, address("198.51.100.7"), 443)
    assert not cluster.allows(WEB, address("198.51.100.200"), 443)
    assert not cluster.allows(WEB, address("2001:db8::1"), 443)
    assert not cluster.allows(WEB, JOB, 443)  # a pod without a known address


def test_a_rule_without_peers_admits_everyone_without_ports_every_port():
    cluster = Cluster([policy("shop", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": [tcp(80)]}]}),
                       policy("batch", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
                           {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}]}]})])
    assert cluster.allows(OUTSIDE, WEB, 80) and cluster.allows(JOB, DB, 80) and not cluster.allows(OUTSIDE, WEB, 81)
    assert cluster.allows(WEB, JOB, 1) and cluster.allows(DB, JOB, 65535) and not cluster.allows(OUTSIDE, JOB, 1)


def test_an_empty_rule_list_admits_nothing():
    cluster = Cluster([policy("shop", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []})])
    assert not cluster.allows(JOB, WEB, 80)


def test_ports_default_to_tcp_and_ranges_hold_both_ends():
    cluster = Cluster([policy("shop", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
        {"ports": [{"port": 53}, {"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 8000, "endPort": 8002},
                   {"protocol": "SCTP"}]}]})])
    assert cluster.allows(OUTSIDE, WEB, 53, "TCP") and cluster.allows(OUTSIDE, WEB, 53, "UDP")
    assert cluster.allows(OUTSIDE, WEB, 8000) and cluster.allows(OUTSIDE, WEB, 8002)
    assert not cluster.allows(OUTSIDE, WEB, 8003) and not cluster.allows(OUTSIDE, WEB, 7999)
    assert not cluster.allows(OUTSIDE, WEB, 8001, "UDP")
    assert cluster.allows(OUTSIDE, WEB, 9, "SCTP")


@pytest.mark.parametrize("rule", [
    {"ports": [{"protocol": "TCP", "port": "http"}]},  # named port
    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]},  # ipBlock with a selector
    {"from": [{}]},  # an empty peer
    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]},  # except outside cidr
    {"from": [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": []}]}}]},
    {"source": []},  # a misspelt key
])
def test_policies_it_cannot_judge_are_refused_not_guessed(rule):
    cluster = Cluster([policy("shop", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [rule]})])
    with pytest.raises(PolicyError):
        cluster.allows(pod("x", "shop", {"app": "web"}, ip="10.1.2.3"), WEB, 80)
