"""Two fixes that make moto's DynamoDB behave like DynamoDB under concurrent writers.

1. moto server handles requests on many threads with no lock around its DynamoDB backend, so two
   concurrent TransactWriteItems can both pass the same condition (a lost update; measured: 8
   writers lost 21 of 240 appends). DynamoDB serialises conflicting transactions; here every
   DynamoDB request runs under one lock.
2. moto's TransactWriteItems deep-copies every table it touches to be able to roll back, which
   makes each append O(table size) (17 s of 26 s for 400 appends). DynamoDB checks every condition
   against the state before the transaction and then writes all or nothing; under the lock this
   does the same: check all, and write only when all pass (undoing the written items if a write
   itself fails).

Both patch private moto code: `tests/integration/test_event_store_concurrency.py` fails loudly if
the patched names move. The moto version is pinned in requirements-dev.txt.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

PATCH_TARGETS = ("moto.dynamodb.responses.DynamoHandler.call_action",
                 "moto.dynamodb.models.DynamoDBBackend.transact_write_items")
_LOCK = threading.RLock()
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb import models, responses

    original_call = responses.DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original_call(self)

    responses.DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    models.DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    _installed = True


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    planned: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = []  # (op type, op, key, current item)
    errors: list[tuple[Any, Any, Any]] = []
    for entry in transact_items:  # phase 1: every condition against the state before the transaction
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        old: dict[str, Any] | None = None
        try:
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            ident = (op["TableName"], str(dict(sorted(key.items()))))
            if ident in seen:
                raise MultipleTransactionsException()
            seen.add(ident)
            current = self.get_item(op["TableName"], key)
            if op.get("ConditionExpression") is not None:
                cond = get_filter_expression(op["ConditionExpression"], op.get("ExpressionAttributeNames"),
                                             op.get("ExpressionAttributeValues"))
                if not cond.expr(current):
                    if current is not None and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
                        old = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed()
            planned.append((op_type, op, key, current))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), old))
        except Exception as e:  # noqa: BLE001 - reported per item, as moto and DynamoDB do
            errors.append((type(e).__name__, str(e), None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    done: list[tuple[str, dict[str, Any], Any]] = []
    try:  # phase 2: all conditions held; write everything
        for op_type, op, key, current in planned:
            name = op["TableName"]
            snapshot = copy.deepcopy(current) if op_type != "ConditionCheck" else None
            if op_type == "Put":
                self.put_item(name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(name, key)
            elif op_type == "Update":
                self.update_item(name, key, update_expression=op["UpdateExpression"],
                                 expression_attribute_names=op.get("ExpressionAttributeNames"),
                                 expression_attribute_values=op.get("ExpressionAttributeValues"))
            if op_type != "ConditionCheck":
                done.append((name, key, snapshot))
    except Exception:
        for name, key, snapshot in reversed(done):  # all or nothing
            if snapshot is None:
                self.delete_item(name, key)
            else:
                self.put_item(name, snapshot.to_json()["Attributes"])
        raise
