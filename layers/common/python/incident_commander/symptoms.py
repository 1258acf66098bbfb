"""What an alert means: its name, metric and text mapped onto a symptom, from general SRE knowledge.

Shared by detection (a starved service points at its callers, not its dependencies) and by the
evidence-rules diagnoser (symptoms point at root-cause categories). Patterns describe common alert
vocabularies (kube-prometheus, OpenTelemetry, CloudWatch metric names, vendor monitors), never
particular scenarios.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Symptom(StrEnum):
    ERRORS = "errors"  # elevated error rate / 5xx
    LATENCY = "latency"  # slow responses, timeouts
    NO_TRAFFIC = "no_traffic"  # starvation: nothing arrives (callers or the path to it are broken)
    CRASHLOOP = "crashloop"  # restarts, crash loops, failed pods
    WAITING = "waiting"  # containers that cannot start: image pull errors, bad config, create errors
    NOT_READY = "not_ready"  # pods not ready, rollout stuck, probes failing
    OOM = "oom"  # out-of-memory kills
    MEMORY = "memory"  # memory pressure / leak
    CPU = "cpu"  # CPU saturation / throttling
    DISK = "disk"  # disk full, I/O errors, volume problems
    CONNECTIONS = "connections"  # connection pools, file handles exhausted
    NETWORK = "network"  # packet loss, DNS, partitions, connection closures
    QUEUE = "queue"  # consumer lag, inactive consumer groups, backlog
    TRAFFIC_SPIKE = "traffic_spike"  # request rate far above normal
    ATTACK = "attack"  # WAF blocks, DDoS, suspicious traffic
    THROTTLING = "throttling"  # throttled API calls, rate limits hit
    QUOTA = "quota"  # quotas, limits, budgets, spend caps
    AUTH = "auth"  # certificates, credentials, permission denied
    DEPLOY = "deploy"  # a deployment / configuration change
    CONFIG = "config"  # configuration errors, bad feature flags
    DATABASE = "database"  # database-side errors (deadlocks, replication, DB down)
    UNKNOWN = "unknown"


# (symptom, pattern over the normalised alert name + metric + text). Order matters: first match wins.
_RULES: list[tuple[Symptom, str]] = [
    (Symptom.OOM, r"\boom|outofmemory|out of memory|memory ?kill"),  # \b: not the "oom" in "TooMany"
    (Symptom.CRASHLOOP, r"crashloop|crash loop|restart|failedpods?|pods? failed|backoff|exited|crashed"),
    (Symptom.WAITING, r"containerwaiting|container waiting|imagepull|errimage|createcontainer(config)?error|"
                      r"invalidimagename"),
    (Symptom.NOT_READY, r"notready|not ready|rolloutstuck|rollout stuck|"
                        r"replicasmismatch|unavailablereplicas|probe|unschedulable|pending pods?|"
                        r"deploymentgenerationmismatch|statefulsetreplicas|hpa.*maxed"),
    (Symptom.ATTACK, r"ddos|attack|malicious|waf|blocked requests|bot traffic|suspicious|shield"),
    (Symptom.AUTH, r"cert(ificate)?s? ?expir|expired|ssl|tls|credential|unauthori[sz]ed|forbidden|accessdenied|"
                   r"access denied|permission|\b401\b|\b403\b|auth(entication)? fail|token"),
    (Symptom.QUOTA, r"quota|spend|budget|limitexceeded|limit exceeded|servicelimit|concurrentexecutions|"
                    r"resourcequota|exceeds? (the )?limit"),
    (Symptom.CPU, r"cpu ?throttl"),
    (Symptom.THROTTLING, r"throttl|ratelimit|rate limit|too many requests|\b429\b|provisionedthroughput"),
    (Symptom.CPU, r"cpu|systemsaturation|system saturation|load average|loadavg"),
    (Symptom.MEMORY, r"memory|heap|\bgc\b|garbage|swap|leak"),
    (Symptom.DISK, r"disk|volume|filesystem|inode|\bio\b|i/o|iops|ebs|storage|diskqueue|freestoragespace|"
                   r"readlatency|writelatency|s3 ?5xx|bucket"),
    (Symptom.CONNECTIONS, r"connection ?pool|too many connections|databaseconnections|maxconn|file ?handles|"
                          r"file descriptors|fd exhaust|sockets?"),
    (Symptom.QUEUE, r"consumerlag|consumer lag|consumergroup|consumer group|backlog|queue ?depth|"
                    r"approximateageofoldestmessage|iteratorage|dlq|deadletter"),
    (Symptom.NETWORK, r"network|packet|dns|partition|unreachable|connectionclosure|connection closure|"
                      r"connection reset|connection refused|tcp|retransmi|nat ?gateway|vpn|peering"),
    (Symptom.DEPLOY, r"deploy(ment)? (started|finished|completed)|release|rollout (started|complete)|"
                     r"change ?event|config(uration)? ?change"),
    (Symptom.CONFIG, r"config|feature ?flag|misconfig"),
    (Symptom.NO_TRAFFIC, r"norequests?|no requests?|no ?traffic|nodatabaseoperations|no database operations|"
                         r"requests? (dropped|stopped)|zero (requests|traffic)|absent|no data|stopped performing|"
                         r"throughput ?drop|invocations? dropped"),
    (Symptom.TRAFFIC_SPIKE, r"traffic ?(spike|surge)|request ?rate ?(high|spike)|highrequestrate|"
                            r"high request rate|requestcount|surge|spike|load ?test"),
    (Symptom.DATABASE, r"deadlock|replication|replica ?lag|database|\bdb\b|rds|aurora|dynamodb|postgres|mysql|"
                       r"redis|valkey|cache ?miss"),
    (Symptom.LATENCY, r"latency|slow|duration|response ?time|timeout|timed out|p9[59]"),
    (Symptom.ERRORS, r"error|5xx|failure|failed|fault|exception|unhealthy|down|availability"),
]
_COMPILED = [(s, re.compile(p)) for s, p in _RULES]
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise_text(*parts: str) -> str:
    joined = " ".join(p for p in parts if p)
    return _CAMEL.sub(" ", joined).lower().replace("_", " ")


def classify(name: str, text: str = "") -> Symptom:
    """The symptom an alert reports, judged from its name first, then its description."""
    for source in (name, text):
        # match on both the raw lower-case form (camel case joined) and the split form
        hay = f"{source.lower()} {normalise_text(source)}"
        for symptom, pattern in _COMPILED:
            if pattern.search(hay):
                return symptom
    return Symptom.UNKNOWN


# Symptoms whose cause usually lies with the callers of the alerting service, not below it.
STARVATION = frozenset({Symptom.NO_TRAFFIC})
# Symptoms that usually originate in the alerting service (or its own host) itself.
SELF_CAUSED = frozenset({Symptom.OOM, Symptom.CRASHLOOP, Symptom.WAITING, Symptom.NOT_READY, Symptom.MEMORY, Symptom.CPU,
                         Symptom.DISK, Symptom.CONNECTIONS, Symptom.QUOTA, Symptom.AUTH, Symptom.CONFIG})
