"""Secrets from the wiring, encrypted with the data key; values are JSON objects operators extend."""

from __future__ import annotations

import json

from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct
from incident_commander import wiring as w

from .. import nag
from ..config import StageConfig


class Secrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 specs: dict[str, w.SecretSpec], key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.secrets: dict[str, sm.Secret] = {}
        for spec in specs.values():
            generate = sm.SecretStringGenerator(
                secret_string_template=json.dumps({}), generate_string_key=spec.generated_key,
                exclude_punctuation=True, password_length=48) if spec.generated_key else None
            secret = sm.Secret(self, spec.key, secret_name=spec.physical_name(config.stage),
                               description=spec.description, encryption_key=key, generate_secret_string=generate,
                               removal_policy=config.removal)
            nag.acknowledge(secret, "AwsSolutions-SMG4",
                            "these are shared with external senders (webhook configurations); automatic rotation "
                            "would break them until each sender is updated, so rotation is a documented manual step "
                            "(add the new token, update the sender, remove the old one)")
            self.secrets[spec.key] = secret
