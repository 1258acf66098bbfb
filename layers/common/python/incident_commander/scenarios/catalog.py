"""The five demo scenarios. Each storm is written from general failure knowledge (what the tools of
a real shop would send while this goes wrong, with noise and flapping); the diagnosis never sees a
scenario's name, only the alerts and the topology."""

from __future__ import annotations

from .base import Scenario, Storm

# --- database-cascade ---------------------------------------------------------------------------
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


def database_cascade_storm(s: Storm) -> None:
    s.cloudwatch(0, "orders-db-prod-DatabaseConnections-high", "ALARM", "AWS/RDS", "DatabaseConnections",
                 {"DBInstanceIdentifier": "orders-db-prod"}, "Threshold Crossed: 1 datapoint [498.0] > 450.0",
                 "severity: critical - connections near max_connections")
    s.alertmanager(25, [{"name": "HighRequestLatency", "service": "checkout-api", "severity": "warning",
                         "summary": "p99 latency above 2s", "age": 20},
                        {"name": "HighRequestLatency", "service": "payments-api", "severity": "warning",
                         "summary": "p99 latency above 2s", "age": 15}])
    s.cloudwatch_sns(40, "orders-db-prod-CPUUtilization-high", "ALARM", "AWS/RDS", "CPUUtilization",
                     {"DBInstanceIdentifier": "orders-db-prod"}, "Threshold Crossed: 3 datapoints > 90.0",
                     threshold=90.0)
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
    s.grafana(105, [{"name": "StorefrontAvailabilitySLOBurn", "service": "storefront", "severity": "critical",
                     "summary": "availability SLO burning 14x (1h window)", "age": 5, "folder": "SLOs", "value": 14.2}])
    s.pagerduty(120, "trigger", "synthetic-checkout-journey", "Synthetic checkout journey failing in 3 of 3 regions",
                "synthetics-us-east-1", "critical", component="checkout-api", group="checkout", klass="transaction check failure",
                details={"step": "place order", "error": "HTTP 503"})
    for k, off in enumerate((110, 140, 170)):  # an unrelated disk alert flaps on the log shipper
        st = "firing" if k % 2 == 0 else "resolved"
        s.alertmanager(off, [{"name": "NodeFilesystemAlmostFull", "service": "log-shipper", "severity": "warning",
                              "namespace": "logging", "status": st}], status=st)
    s.alertmanager(130, [{"name": "HighRequestErrorRate", "service": "checkout-api", "severity": "critical", "age": 80},
                         {"name": "HighRequestErrorRate", "service": "catalog-api", "severity": "critical", "age": 75}])
    s.cloudwatch(150, "orders-db-prod-DatabaseConnections-high", "ALARM", "AWS/RDS", "DatabaseConnections",
                 {"DBInstanceIdentifier": "orders-db-prod"}, "Threshold Crossed: 1 datapoint [500.0] > 450.0",
                 "severity: critical - connections near max_connections")


# --- ddos-attack ----------------------------------------------------------------------------------
DDOS_TOPOLOGY = """
services:
  storefront:
    tier: critical
    revenue_per_minute: 1000
    users: 150000
    depends_on: [product-api, session-store]
    aliases: [storefront-web, shop-edge-alb, shop-edge-acl]
  checkout-api:
    tier: critical
    revenue_per_minute: 500
    users: 20000
    depends_on: [session-store]
  product-api:
    tier: high
    revenue_per_minute: 0
    users: 150000
    depends_on: []
  session-store:
    tier: high
    revenue_per_minute: 0
    depends_on: []
    kind: cache
    aliases: [sessions-redis]
  reporting:
    tier: low
    revenue_per_minute: 0
    depends_on: []
"""


def ddos_storm(s: Storm) -> None:
    """A volumetric HTTP flood from a botnet hits the storefront's public load balancer; the WAF rate
    rule and Shield see it first, then the web tier saturates and sheds load."""
    alb = {"LoadBalancer": "app/shop-edge-alb/50dc6c495c0c9188"}
    s.cloudwatch(0, "shop-edge-alb-RequestCount-surge", "ALARM", "AWS/ApplicationELB", "RequestCount", alb,
                 "Threshold Crossed: 1 datapoint [912044.0] > 150000.0",
                 "severity: high - requests per minute far above the weekly baseline")
    s.cloudwatch(20, "shop-edge-acl-BlockedRequests-high", "ALARM", "AWS/WAFV2", "BlockedRequests",
                 {"WebACL": "shop-edge-acl", "Rule": "rate-limit-per-ip", "Region": "us-east-1"},
                 "Threshold Crossed: 1 datapoint [420311.0] > 10000.0",
                 "severity: critical - WAF blocking a flood of requests from many source IPs")
    s.alertmanager(30, [{"name": "HighRequestRate", "service": "storefront", "severity": "warning",
                         "summary": "storefront requests 8x above normal", "age": 25}])
    s.cloudwatch_sns(45, "shop-edge-alb-DDoSDetected", "ALARM", "AWS/DDoSProtection", "DDoSDetected",
                     {"ResourceArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/"
                                     "shop-edge-alb/50dc6c495c0c9188"},
                     "Threshold Crossed: 1 datapoint [1.0] >= 1.0",
                     "severity: critical - Shield Advanced detected a DDoS attack (HTTP flood)", threshold=1.0,
                     comparison="GreaterThanOrEqualToThreshold")
    s.alertmanager(50, [{"name": "Watchdog", "severity": "none", "summary": "heartbeat", "namespace": "monitoring"}])
    s.alertmanager(60, [{"name": "HighRequestLatency", "service": "storefront", "severity": "warning",
                         "summary": "p99 latency above 3s", "age": 30},
                        {"name": "HighRequestLatency", "service": "checkout-api", "severity": "warning",
                         "summary": "p99 latency above 2s", "age": 20}])
    s.alertmanager(75, [{"name": "KubeHpaMaxedOut", "service": "storefront", "severity": "warning",
                         "summary": "HPA storefront at max replicas for 5m", "age": 15}])
    for k, off in enumerate((80, 110, 140, 170)):  # an unrelated nightly report job flaps on its SLO
        st = "firing" if k % 2 == 0 else "resolved"
        s.alertmanager(off, [{"name": "JobRunDurationHigh", "service": "reporting", "severity": "warning",
                              "namespace": "batch", "status": st, "summary": "nightly report slow"}], status=st)
    s.alertmanager(95, [{"name": "HighRequestErrorRate", "service": "storefront", "severity": "critical",
                         "summary": "storefront 5xx above 5%", "description": "upstream connect error or disconnect",
                         "age": 10}])
    s.datadog(100, 4111203, "Storefront 5xx error rate above 5%", metric="trace.http.request.errors",
              scope="service:storefront", tags="service:storefront,env:prod,kube_cluster_name:prod-us-east-1",
              body="Error rate 7.9% over the last 5 minutes", hostname="storefront-6c9d7")
    s.pagerduty(115, "trigger", "synthetic-homepage", "Homepage availability check failing from 4 regions",
                "synthetics-global", "critical", component="storefront", group="web", klass="availability check failure")
    s.cloudwatch(120, "shop-edge-alb-HTTPCode-ELB-5XX", "ALARM", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb,
                 "Threshold Crossed: 2 datapoints [8800.0, 9400.0] > 500.0",
                 "severity: high - load balancer returning 503s, no healthy capacity")
    s.cloudwatch(150, "shop-edge-acl-BlockedRequests-high", "ALARM", "AWS/WAFV2", "BlockedRequests",
                 {"WebACL": "shop-edge-acl", "Rule": "rate-limit-per-ip", "Region": "us-east-1"},
                 "Threshold Crossed: 1 datapoint [655902.0] > 10000.0",
                 "severity: critical - WAF blocking a flood of requests from many source IPs")


# --- memory-leak ------------------------------------------------------------------------------------
MEMORY_LEAK_TOPOLOGY = """
services:
  web-app:
    tier: high
    revenue_per_minute: 0
    users: 40000
    depends_on: [recommendations, catalog-api]
  recommendations:
    tier: medium
    revenue_per_minute: 300
    users: 40000
    depends_on: [feature-store]
    aliases: [recommendations-svc, reco]
  catalog-api:
    tier: high
    revenue_per_minute: 0
    depends_on: []
  feature-store:
    tier: medium
    revenue_per_minute: 0
    depends_on: []
    kind: cache
  ci-runner:
    tier: low
    depends_on: []
"""


def memory_leak_storm(s: Storm) -> None:
    """A release leaks memory in the recommendations service: the heap climbs for an hour, GC
    pauses slow it down, then its pods are OOM-killed and restart, over and over."""
    reco = {"service": "recommendations", "namespace": "reco"}
    s.alertmanager(0, [{**reco, "name": "ContainerMemoryUsageHigh", "severity": "warning", "age": 600,
                        "summary": "container memory above 85% of its limit",
                        "labels": {"pod": "recommendations-7d9f8-x2kq", "container": "recommendations"}}])
    s.opsgenie(20, "apm-heap-recommendations", "recommendations: JVM heap above 90% of max", priority="P3",
               entity="recommendations", description="old generation 3.6 GiB of 4 GiB and rising",
               tags=["service:recommendations", "env:prod"], details={"service": "recommendations"})
    s.alertmanager(40, [{**reco, "name": "JvmGcPauseTimeHigh", "severity": "warning", "age": 30,
                         "summary": "GC pauses above 500ms per minute",
                         "description": "old generation heap keeps growing after full GC"}])
    s.alertmanager(70, [{"name": "HighRequestLatency", "service": "web-app", "severity": "warning",
                         "summary": "p99 latency above 1.5s on /home", "age": 20}])
    s.alertmanager(90, [{**reco, "name": "KubePodOOMKilled", "severity": "critical", "age": 2,
                         "summary": "container recommendations OOMKilled (exit code 137)",
                         "labels": {"pod": "recommendations-7d9f8-x2kq", "reason": "OOMKilled"}}])
    s.alertmanager(100, [{"name": "Watchdog", "severity": "none", "summary": "heartbeat", "namespace": "monitoring"}])
    s.opsgenie(100, "apm-heap-recommendations", action="close")  # the restart freed the heap, for now
    s.datadog(125, 5230017, "Recommendations p99 latency above 2s", alert_type="warning", priority="P3",
              metric="trace.servlet.request.duration", scope="service:recommendations",
              tags="service:recommendations,env:prod,kube_cluster_name:prod-us-east-1")
    s.opsgenie(175, "apm-heap-recommendations", "recommendations: JVM heap above 90% of max", priority="P3",
               entity="recommendations", description="old generation 3.7 GiB of 4 GiB and rising",
               tags=["service:recommendations", "env:prod"], details={"service": "recommendations"})
    # the memory alert resolves after each restart and fires again as the heap refills: flapping
    for k, off in enumerate((105, 135, 165, 195)):
        st = "resolved" if k % 2 == 0 else "firing"
        s.alertmanager(off, [{**reco, "name": "ContainerMemoryUsageHigh", "severity": "warning", "status": st,
                              "age": 600, "summary": "container memory above 85% of its limit",
                              "labels": {"pod": "recommendations-7d9f8-x2kq", "container": "recommendations"}}],
                       status=st)
    s.cloudwatch_sns(120, "web-app-alb-Target5XX-recommendations", "ALARM", "AWS/ApplicationELB",
                     "HTTPCode_Target_5XX_Count", {"TargetGroup": "targetgroup/recommendations/6d0ecf831eec9f09",
                                                   "LoadBalancer": "app/web-app-alb/3c5e1a9b"},
                     "Threshold Crossed: 2 datapoints [61.0, 75.0] > 20.0",
                     "severity: high - recommendations targets failing requests", threshold=20.0)
    s.alertmanager(150, [{**reco, "name": "KubePodCrashLooping", "severity": "critical", "age": 10,
                          "summary": "pod recommendations-7d9f8-x2kq restarting (OOMKilled)",
                          "labels": {"pod": "recommendations-7d9f8-x2kq", "reason": "OOMKilled"}}])
    s.alertmanager(160, [{"name": "NodeFilesystemAlmostFull", "service": "ci-runner", "severity": "warning",
                          "namespace": "ci", "summary": "runner docker volume 91% full"}])


# --- api-overload ------------------------------------------------------------------------------------
API_OVERLOAD_TOPOLOGY = """
services:
  mobile-bff:
    tier: critical
    revenue_per_minute: 300
    users: 90000
    depends_on: [orders-api]
    aliases: [bff]
  orders-api:
    tier: critical
    revenue_per_minute: 500
    users: 90000
    depends_on: [inventory-db, pricing-api]
    aliases: [orders-api-prod, orders]
  pricing-api:
    tier: high
    revenue_per_minute: 0
    depends_on: []
  inventory-db:
    tier: critical
    revenue_per_minute: 0
    depends_on: []
    kind: database
    aliases: [inventory-aurora]
  email-sender:
    tier: low
    depends_on: []
"""


def api_overload_storm(s: Storm) -> None:
    """A flash sale sends five times the usual traffic to the orders API: request rate first, then
    saturation, queueing and load shedding; the database behind it is busy but healthy."""
    orders = {"service": "orders-api", "namespace": "orders"}
    s.alertmanager(0, [{**orders, "name": "HighRequestRate", "severity": "warning", "age": 60,
                        "summary": "orders-api request rate 5x above the same hour last week",
                        "description": "traffic surge: 4.1k rps against a 800 rps baseline"}])
    s.cloudwatch(25, "orders-api-prod-Count-surge", "ALARM", "AWS/ApiGateway", "Count",
                 {"ApiName": "orders-api-prod", "Stage": "prod"},
                 "Threshold Crossed: 1 datapoint [243012.0] > 60000.0",
                 "severity: high - request count surge on the public orders API")
    s.alertmanager(45, [{**orders, "name": "HighRequestLatency", "severity": "warning", "age": 30,
                         "summary": "p99 latency above 1.2s", "description": "request queueing in the worker pool"}])
    s.datadog(50, 7300441, "Request rate spike on orders-api", alert_type="warning", priority="P3",
              metric="trace.http.request.hits", scope="service:orders-api",
              tags="service:orders-api,env:prod,kube_cluster_name:prod-us-east-1",
              body="4.6k requests/s, 5.7x the weekly baseline for this hour")
    s.pagerduty(80, "trigger", "synthetic-mobile-order", "Mobile order placement p95 above SLO (2.5s)",
                "synthetics-us-east-1", "warning", component="mobile-bff", group="mobile", klass="latency SLO breach")
    s.alertmanager(60, [{"name": "Watchdog", "severity": "none", "summary": "heartbeat", "namespace": "monitoring"}])
    s.alertmanager(70, [{"name": "HighRequestLatency", "service": "mobile-bff", "severity": "warning", "age": 15,
                         "summary": "p99 latency above 2s calling orders"}])
    s.cloudwatch_sns(90, "orders-api-prod-5XXError", "ALARM", "AWS/ApiGateway", "5XXError",
                     {"ApiName": "orders-api-prod", "Stage": "prod"},
                     "Threshold Crossed: 3 datapoints [0.04, 0.06, 0.07] > 0.02",
                     "severity: high - orders API shedding load with 503s", threshold=0.02)
    s.alertmanager(100, [{**orders, "name": "HighRequestErrorRate", "severity": "critical", "age": 10,
                          "summary": "5xx above 3%", "description": "503 Service Unavailable: overloaded"}])
    for k, off in enumerate((110, 140, 170)):  # the marketing e-mail sender flaps on its own queue
        st = "firing" if k % 2 == 0 else "resolved"
        s.alertmanager(off, [{"name": "SmtpSendFailuresHigh", "service": "email-sender", "severity": "warning",
                              "namespace": "marketing", "status": st}], status=st)
    s.cloudwatch(130, "inventory-aurora-CPUUtilization-elevated", "ALARM", "AWS/RDS", "CPUUtilization",
                 {"DBClusterIdentifier": "inventory-aurora"}, "Threshold Crossed: 3 datapoints > 70.0",
                 "severity: low - busier than usual, within capacity")
    s.alertmanager(150, [{**orders, "name": "HighRequestRate", "severity": "critical", "age": 210,
                          "summary": "orders-api request rate 6x above the same hour last week",
                          "description": "traffic surge continues: 4.9k rps"}])


# --- storage-failure ---------------------------------------------------------------------------------
STORAGE_FAILURE_TOPOLOGY = """
services:
  storefront:
    tier: critical
    revenue_per_minute: 1200
    users: 120000
    depends_on: [checkout-api, catalog-api]
  checkout-api:
    tier: critical
    revenue_per_minute: 1000
    users: 45000
    depends_on: [payments-api, ledger-db]
  payments-api:
    tier: critical
    revenue_per_minute: 800
    users: 45000
    depends_on: [ledger-db]
  catalog-api:
    tier: high
    revenue_per_minute: 0
    users: 120000
    depends_on: [catalog-cache]
  catalog-cache:
    tier: high
    depends_on: []
    kind: cache
  ledger-db:
    tier: critical
    revenue_per_minute: 0
    depends_on: []
    kind: database
    aliases: [ledger-db-primary, ledger-postgres]
  settlement-batch:
    tier: high
    revenue_per_minute: 0
    depends_on: [ledger-db]
  search-api:
    tier: medium
    depends_on: []
"""


def storage_failure_storm(s: Storm) -> None:
    """The ledger database's volume fills up (a runaway WAL after a stuck replication slot): write
    latency climbs, then writes fail and every service that records payments errors."""
    db = {"DBInstanceIdentifier": "ledger-db-primary"}
    s.cloudwatch(0, "ledger-db-primary-FreeStorageSpace-low", "ALARM", "AWS/RDS", "FreeStorageSpace", db,
                 "Threshold Crossed: 1 datapoint [5.1E9] < 1.0E10",
                 "severity: high - less than 10 GB of storage left")
    s.cloudwatch_sns(30, "ledger-db-primary-WriteLatency-high", "ALARM", "AWS/RDS", "WriteLatency", db,
                     "Threshold Crossed: 3 datapoints [0.21, 0.35, 0.52] > 0.1",
                     "severity: high - disk writes slow", threshold=0.1)
    s.cloudwatch(45, "ledger-db-primary-DiskQueueDepth-high", "ALARM", "AWS/RDS", "DiskQueueDepth", db,
                 "Threshold Crossed: 3 datapoints > 64.0", "severity: high - I/O requests queueing on the volume")
    s.grafana(55, [{"name": "PostgresWalVolumeFillingUp", "service": "ledger-db", "severity": "critical",
                    "summary": "pg_wal volume fills in under 1h at the current rate",
                    "description": "replication slot ledger_cdc inactive; WAL retained 41 GB", "age": 40,
                    "folder": "Databases", "value": 0.93}])
    s.alertmanager(60, [{"name": "Watchdog", "severity": "none", "summary": "heartbeat", "namespace": "monitoring"}])
    s.alertmanager(70, [{"name": "HighRequestLatency", "service": "payments-api", "severity": "warning", "age": 25,
                         "summary": "p99 latency above 2s"},
                        {"name": "HighRequestLatency", "service": "checkout-api", "severity": "warning", "age": 20,
                         "summary": "p99 latency above 2s"}])
    for k, off in enumerate((80, 105, 130, 155)):  # search latency flaps with the daily reindex (unrelated)
        st = "firing" if k % 2 == 0 else "resolved"
        s.alertmanager(off, [{"name": "HighRequestLatency", "service": "search-api", "severity": "warning",
                              "namespace": "search", "status": st, "summary": "p99 latency above 800ms"}], status=st)
    s.cloudwatch(95, "ledger-db-primary-FreeStorageSpace-critical", "ALARM", "AWS/RDS", "FreeStorageSpace", db,
                 "Threshold Crossed: 1 datapoint [2.1E8] < 1.0E9",
                 "severity: critical - storage almost exhausted, writes will fail")
    s.alertmanager(110, [{"name": "HighRequestErrorRate", "service": "payments-api", "severity": "critical",
                          "summary": "5xx above 10%", "age": 12,
                          "description": "could not extend file: No space left on device"},
                         {"name": "HighRequestErrorRate", "service": "checkout-api", "severity": "critical",
                          "summary": "5xx above 5%", "age": 8}])
    s.alertmanager(125, [{"name": "CronJobFailed", "service": "settlement-batch", "severity": "critical",
                          "namespace": "finance", "summary": "settlement job failed",
                          "description": "PANIC: could not write to file pg_wal/xlogtemp: No space left on device"}])
    s.alertmanager(140, [{"name": "HighRequestErrorRate", "service": "storefront", "severity": "critical",
                          "summary": "checkout step 5xx above 2%", "age": 6}])
    s.opsgenie(150, "kpi-payment-confirmations", "Payment confirmations delayed more than 5 minutes", priority="P2",
               entity="payments-api", tags=["team:payments", "kpi"], details={"service": "payments-api"})
    s.cloudwatch(170, "ledger-db-primary-WriteIOPS-drop", "ALARM", "AWS/RDS", "WriteIOPS", db,
                 "Threshold Crossed: 2 datapoints [0.0, 0.0] < 50.0", "severity: critical - writes stopped")


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("database-cascade", "Orders database connection exhaustion cascades to the APIs", "high", 2000.0,
             DATABASE_CASCADE_TOPOLOGY, "resource_exhaustion", "orders-db", database_cascade_storm,
             "Connections to the orders database run out; every API that calls it slows, then fails."),
    Scenario("ddos-attack", "HTTP flood against the storefront's load balancer", "medium", 1500.0, DDOS_TOPOLOGY,
             "security_attack", "storefront", ddos_storm, ddos_storm.__doc__ or ""),
    Scenario("memory-leak", "Memory leak in the recommendations service", "low", 300.0, MEMORY_LEAK_TOPOLOGY,
             "resource_exhaustion", "recommendations", memory_leak_storm, memory_leak_storm.__doc__ or ""),
    Scenario("api-overload", "Flash-sale traffic overloads the orders API", "medium", 800.0, API_OVERLOAD_TOPOLOGY,
             "traffic_surge", "orders-api", api_overload_storm, api_overload_storm.__doc__ or ""),
    Scenario("storage-failure", "Ledger database volume fills up", "high", 3000.0, STORAGE_FAILURE_TOPOLOGY,
             "storage_failure", "ledger-db", storage_failure_storm, storage_failure_storm.__doc__ or ""),
)}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; available: {', '.join(sorted(SCENARIOS))}") from None
