"""Shared names: tables, keys, indexes, environment variables, functions, streams.

One module imported by the domain, the CDK app, the local stack and the tests, so a fake or a
local deployment cannot drift from the real resources.
"""

from typing import Final

APP: Final = "incident-commander"

# --- environment variables every function may read -------------------------------------------
ENV_STAGE: Final = "IC_STAGE"
ENV_EVENTS_TABLE: Final = "IC_EVENTS_TABLE"
ENV_INCIDENTS_TABLE: Final = "IC_INCIDENTS_TABLE"
ENV_DETECTION_TABLE: Final = "IC_DETECTION_TABLE"
ENV_CONTROL_TABLE: Final = "IC_CONTROL_TABLE"
ENV_IDEMPOTENCY_TABLE: Final = "IC_IDEMPOTENCY_TABLE"
ENV_ALERT_STREAM: Final = "IC_ALERT_STREAM"
ENV_STATE_MACHINE_ARN: Final = "IC_STATE_MACHINE_ARN"
ENV_EVENT_BUS: Final = "IC_EVENT_BUS"
ENV_WEBHOOK_SECRET: Final = "IC_WEBHOOK_SECRET"
ENV_REPLICA_REGIONS: Final = "IC_REPLICA_REGIONS"
ENV_AUTH_MODE: Final = "IC_AUTH_MODE"
ENV_SCENARIOS_ENABLED: Final = "IC_SCENARIOS_ENABLED"
ENV_DIAGNOSER: Final = "IC_DIAGNOSER"
ENV_RECORD_ACTION: Final = "IC_RECORD_ACTION"
ENV_MEMORY_PATH: Final = "IC_MEMORY_PATH"
ENV_ARCHIVE_BUCKET: Final = "IC_ARCHIVE_BUCKET"
ENV_NOTIFY_SECRET: Final = "IC_NOTIFY_SECRET"  # Slack webhook URLs / PagerDuty routing keys (notify/notifier.py)

# --- DynamoDB: event store ---------------------------------------------------------------------
# One item per event: partition = incident id, sort = sequence number (1, 2, 3...).
EVENTS_PK: Final = "incident_id"
EVENTS_SK: Final = "seq"

# --- DynamoDB: incidents (projection + idempotency markers) ------------------------------------
INCIDENTS_PK: Final = "incident_id"
INCIDENTS_LIST_INDEX: Final = "by_opened"  # sparse GSI: every incident projection, newest first
INCIDENTS_LIST_PK: Final = "list_pk"  # constant partition value for the listing index
INCIDENTS_LIST_SK: Final = "opened_key"  # "<opened_at>#<incident_id>"
INCIDENTS_LIST_PARTITION: Final = "INCIDENT"
IDEMPOTENCY_PREFIX: Final = "IDEMP#"
INCIDENTS_CLOSED_INDEX: Final = "by_closed"  # sparse GSI: resolved incidents the archiver has yet to visit
INCIDENTS_CLOSED_PK: Final = "closed_pk"
INCIDENTS_CLOSED_SK: Final = "closed_key"  # "<resolved_at>#<incident_id>"
INCIDENTS_CLOSED_PARTITION: Final = "CLOSED"

# --- DynamoDB: detection working state and control plane (generic pk/sk) -----------------------
PK: Final = "pk"
SK: Final = "sk"
TTL_ATTRIBUTE: Final = "expires_at"

# --- Powertools idempotency table ---------------------------------------------------------------
IDEMPOTENCY_PK: Final = "id"

# --- Table logical names (keys of wiring.TABLES) ------------------------------------------------
T_EVENTS: Final = "events"
T_INCIDENTS: Final = "incidents"
T_DETECTION: Final = "detection"
T_CONTROL: Final = "control"
T_IDEMPOTENCY: Final = "idempotency"

# --- Functions (one per agent; keys of wiring.FUNCTIONS) ---------------------------------------
F_API: Final = "api"
F_DETECTION: Final = "detection"
F_DIAGNOSE_RULES: Final = "diagnose_rules"
F_DIAGNOSE_TOPOLOGY: Final = "diagnose_topology"
F_DIAGNOSE_MEMORY: Final = "diagnose_memory"
F_DIAGNOSE_LLM: Final = "diagnose_llm"
F_LEARNING: Final = "learning"  # consumes incident.resolved from the bus, writes patterns to memory
F_CONSENSUS: Final = "consensus"
F_ESCALATION: Final = "escalation"
F_RECORDER: Final = "recorder"
F_STREAM_PUBLISHER: Final = "stream_publisher"  # events table stream -> the incidents bus
F_ARCHIVER: Final = "archiver"  # retention: closed incidents' events -> S3, then TTL

# --- Streams, queues, buses, state machine ------------------------------------------------------
S_ALERTS: Final = "alerts"
Q_DETECTION_FAILURES: Final = "detection-failures"
BUS_INCIDENTS: Final = "incidents"
SM_INCIDENT_RESPONSE: Final = "incident-response"
SECRET_WEBHOOK_TOKENS: Final = "webhook-tokens"  # Secrets Manager, JSON {source: token}
SECRET_NOTIFY: Final = "notify-credentials"  # JSON {"slack": {channel: webhook URL}, "pagerduty": {service: key}}
C_MEMORY: Final = "memory"  # OpenSearch Serverless vector collection (AWS only)
B_ARCHIVE: Final = "archive"  # S3 bucket: archived events of closed incidents
Q_PUBLISHER_FAILURES: Final = "publisher-failures"  # events-table stream records the publisher gave up on
# Incident events on the bus: source = APP, detail-type = the event's type (models.events.EventType)
BUS_DETAIL_TYPE_ESCALATION: Final = "escalation.sent"  # routed to the on-call topic
BUS_DETAIL_TYPE_RESOLVED: Final = "incident.resolved"  # invokes the learning agent
# Cognito groups (JWT claim cognito:groups): viewer reads, responder also decides, admin also configures
USER_GROUPS: Final = ("viewer", "responder", "admin")

# --- CloudWatch metrics (namespace = POWERTOOLS_METRICS_NAMESPACE); the CDK dashboard and alarms read them
METRICS_NAMESPACE: Final = "IncidentCommander"
METRIC_ALERTS_RECEIVED: Final = "AlertsReceived"  # count, per accepted alert
METRIC_INCIDENTS_OPENED: Final = "IncidentsOpened"  # count
METRIC_DECISIONS: Final = "Decisions"  # count, dimension "decision" = auto_remediate | monitor | escalate
METRIC_MTTR_SECONDS: Final = "MttrSeconds"  # one value per resolved incident
METRIC_CIRCUIT_OPEN: Final = "CircuitOpen"  # 1 while open, 0 when closed; dimension "dependency" (e.g. bedrock)

# Source names accepted on POST /alerts/{source} and in replay files.
SOURCES: Final = ("alertmanager", "grafana", "cloudwatch", "sns", "pagerduty", "opsgenie", "datadog")

# Kinds of Kinesis record the detection agent understands.
RECORD_ALERT: Final = "alert"  # a canonical Alert written by the API
EVENTBRIDGE_DETAIL_TYPE_ALARM: Final = "CloudWatch Alarm State Change"

# Control-table items
CONTROL_TOPOLOGY_PK: Final = "CONFIG"
CONTROL_TOPOLOGY_SK: Final = "topology"
CONTROL_TASK_TOKEN_PK: Final = "TASK_TOKEN"  # sk = incident id
CONTROL_SCENARIO_RUN_PK: Final = "SCENARIO_RUN"  # sk = "<started_at>#<run id>": who played which demo scenario

# Detection-table items
DETECTION_ALERT_PREFIX: Final = "ALERT#"
DETECTION_SCOPE_PREFIX: Final = "SCOPE#"
DETECTION_PENDING_PK: Final = "PENDING"
