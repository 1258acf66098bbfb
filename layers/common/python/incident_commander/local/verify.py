"""`incident-commander verify`: check incidents' hash chains straight from DynamoDB (and S3).

It reads the tables itself rather than asking the API, so an auditor needs only read access to
the tables, not trust in the deployed code. Exit status: 0 every chain verifies, 1 one does not
(the line names the first bad event), 2 bad usage or an incident that does not exist.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .. import names as n
from .. import wiring as w


def add_parser(sub: Any) -> None:
    v = sub.add_parser("verify", help="recompute incidents' hash chains from the tables; name the first bad event",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("incident_ids", nargs="*", metavar="INCIDENT_ID")
    v.add_argument("--all", action="store_true", help="every incident (newest first)")
    v.add_argument("--stage", default=os.environ.get(n.ENV_STAGE, "dev"), help="tables ic-<stage>-... (default dev)")
    v.add_argument("--region", help="the home region (default: the AWS configuration's)")
    v.add_argument("--endpoint-url", help="a local endpoint, e.g. the moto server of `serve`")
    v.add_argument("--replicas", help="comma-separated replica regions to compare (default IC_REPLICA_REGIONS)")
    v.add_argument("--archive-bucket", help="S3 bucket holding archived events (default IC_ARCHIVE_BUCKET)")
    v.add_argument("--repair", action="store_true", help="repair damaged replica copies and record the repairs")
    v.add_argument("--json", action="store_true", help="one JSON document per incident")
    v.set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.incident_ids) == bool(args.all):
        print("error: give incident ids or --all (not both)", file=sys.stderr)
        return 2
    from ..adapters import aws
    from ..adapters.dynamodb import event_store_from_env
    from ..store.replicas import regions_of

    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    aws.reset_clients()
    env = {n.ENV_EVENTS_TABLE: w.TABLES[n.T_EVENTS].physical_name(args.stage),
           n.ENV_INCIDENTS_TABLE: w.TABLES[n.T_INCIDENTS].physical_name(args.stage)}
    replicas = args.replicas if args.replicas is not None else os.environ.get(n.ENV_REPLICA_REGIONS, "")
    regions = json.loads(replicas) if replicas.startswith("[") else [r for r in replicas.split(",") if r]
    env[n.ENV_REPLICA_REGIONS] = json.dumps(regions)
    store = event_store_from_env(env)
    bucket = args.archive_bucket or os.environ.get(n.ENV_ARCHIVE_BUCKET)
    archive = None
    if bucket:
        from ..adapters.s3 import S3Archive

        archive = S3Archive(bucket)
    ids = args.incident_ids or _all_ids(store)
    worst = 0
    for iid in ids:
        worst = max(worst, _one(store, archive, iid, regions_of(store), args))
    if args.all and not args.json:
        print(f"{len(ids)} incident(s) checked", file=sys.stderr)
    return worst


def _all_ids(store: Any) -> list[str]:
    out, cursor = [], None
    while True:
        page = store.list_states(limit=100, cursor=cursor)
        out += [s.incident_id for s in page.items]
        if page.cursor is None:
            return out
        cursor = page.cursor


def _one(store: Any, archive: Any, iid: str, spans: Any, args: argparse.Namespace) -> int:
    from ..store.archive import verify_incident
    from ..store.replicas import check, repair

    result = verify_incident(store, iid, archive)
    if result is None:
        print(f"{iid}: no such incident", file=sys.stderr)
        return 2
    report = None
    if spans is not None:
        report = repair(iid, *spans, archive=archive) if args.repair else check(iid, *spans, archive)[0]
    ok = result.ok and (report is None or report.ok)
    if args.json:
        print(json.dumps({**result.model_dump(), "replicas": report.model_dump() if report else None}))
        return 0 if ok else 1
    if result.ok:
        archived = f", {result.archived_events} from the archive" if result.archived_events else ""
        print(f"{iid}: verified, {result.events} events{archived}, head {result.head_hash[:12] if result.head_hash else '-'}")
    else:
        where = f" at event {result.first_bad_seq}" if result.first_bad_seq else ""
        print(f"{iid}: NOT VERIFIED{where}: {result.problem}")
    for r in report.regions if report else ():
        detail = f" at event {r.first_bad_seq}" if r.first_bad_seq else ""
        print(f"  {r.region}: {r.status}{detail}{': ' + r.problem if r.problem else ''}")
    for rep in report.repairs if report else ():
        print(f"  repaired {rep['region']} from {rep['source_region']}: events {rep['seqs']}"
              + (f", removed {rep['removed']}" if rep["removed"] else ""))
    return 0 if ok else 1
