"""The seed scenarios. Their storms are written from general failure knowledge; the diagnosis never
sees a scenario's name."""

from __future__ import annotations

from collections.abc import Callable

from .base import Scenario, Storm

DATABASE_CASCADE_TOPOLOGY = """
services:
  storefront:
    tier: critical
    revenue_per_minute: 900
    users: 80000
    depends_on: [checkout-api, catalog-api, search-api]
    aliases: [web, storefront-web]
  checkout-api:
    tier: critical
    revenue_per_minute: 700
    users: 30000
    depends_on: [orders-db, payments-api, session-cache]
    aliases: [checkout]
  payments-api:
    tier: critical
    revenue_per_minute: 400
    users: 30000
    depends_on: [orders-db]
    aliases: [payments]
  catalog-api:
    tier: high
    revenue_per_minute: 150
    users: 80000
    depends_on: [orders-db, session-cache]
    aliases: [catalog]
  search-api:
    tier: medium
    revenue_per_minute: 50
    users: 60000
    depends_on: [search-index]
  search-index:
    tier: medium
    revenue_per_minute: 0
    depends_on: []
  session-cache:
    tier: high
    revenue_per_minute: 0
    depends_on: []
    aliases: [redis-sessions]
  orders-db:
    tier: critical
    revenue_per_minute: 0
    users: 0
    depends_on: []
    kind: database
    aliases: [orders-db-prod, orders-aurora]
"""


def database_cascade() -> Scenario:
    """Connections to the orders database run out; every API that calls it slows, then fails."""
    s = Storm()
    s.cloudwatch(0, "orders-db-prod-DatabaseConnections-high", "ALARM", "AWS/RDS", "DatabaseConnections",
                 {"DBInstanceIdentifier": "orders-db-prod"}, "Threshold Crossed: 1 datapoint [498.0] > 450.0",
                 "severity: critical - connections near max_connections")
    s.alertmanager(25, [{"name": "HighRequestLatency", "service": "checkout-api", "severity": "warning",
                         "summary": "p99 latency above 2s", "age": 20},
                        {"name": "HighRequestLatency", "service": "payments-api", "severity": "warning",
                         "summary": "p99 latency above 2s", "age": 15}])
    s.cloudwatch(40, "orders-db-prod-CPUUtilization-high", "ALARM", "AWS/RDS", "CPUUtilization",
                 {"DBInstanceIdentifier": "orders-db-prod"}, "Threshold Crossed: 3 datapoints > 90.0")
    s.alertmanager(55, [{"name": "Watchdog", "severity": "none", "summary": "heartbeat", "namespace": "monitoring"}])
    s.alertmanager(60, [{"name": "HighRequestErrorRate", "service": "checkout-api", "severity": "critical",
                         "summary": "5xx above 5%", "description": "could not acquire connection from pool",
                         "age": 10},
                        {"name": "HighRequestErrorRate", "service": "catalog-api", "severity": "critical",
                         "summary": "5xx above 5%", "age": 5}])
    s.alertmanager(75, [{"name": "HighRequestLatency", "service": "checkout-api", "severity": "warning", "age": 70},
                        {"name": "HighRequestLatency", "service": "payments-api", "severity": "warning", "age": 65}])
    s.alertmanager(95, [{"name": "HighRequestErrorRate", "service": "storefront", "severity": "critical",
                         "summary": "storefront 5xx above 2%", "age": 8}])
    for k, off in enumerate((110, 140, 170)):  # an unrelated disk alert flaps on the log shipper
        s.alertmanager(off, [{"name": "NodeFilesystemAlmostFull", "service": "log-shipper", "severity": "warning",
                              "namespace": "logging", "status": "firing" if k % 2 == 0 else "resolved"}],
                       status="firing" if k % 2 == 0 else "resolved")
    s.alertmanager(130, [{"name": "HighRequestErrorRate", "service": "checkout-api", "severity": "critical", "age": 80},
                         {"name": "HighRequestErrorRate", "service": "catalog-api", "severity": "critical", "age": 75}])
    s.cloudwatch(150, "orders-db-prod-DatabaseConnections-high", "ALARM", "AWS/RDS", "DatabaseConnections",
                 {"DBInstanceIdentifier": "orders-db-prod"}, "Threshold Crossed: 1 datapoint [500.0] > 450.0",
                 "severity: critical - connections near max_connections")
    return Scenario(name="database-cascade", title="Orders database connection exhaustion cascades to the APIs",
                    complexity="high", impact_per_minute=2000.0, topology_yaml=DATABASE_CASCADE_TOPOLOGY,
                    expected_category="resource_exhaustion", expected_service="orders-db",
                    deliveries=s.deliveries)


SCENARIOS: dict[str, Callable[[], Scenario]] = {"database-cascade": database_cascade}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]()
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; available: {', '.join(sorted(SCENARIOS))}") from None
