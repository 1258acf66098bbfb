"""Humans sign in through a Cognito user pool (MFA required, no self sign-up); groups carry roles."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct
from incident_commander import names as n

from ..config import StageConfig

GROUP_DESCRIPTIONS = {"viewer": "reads incidents, timelines and metrics",
                      "responder": "viewer + approves, rejects, reassigns and resolves",
                      "admin": "responder + configuration and demo scenarios"}


class Users(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, callback_urls: list[str]) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.pool = cognito.UserPool(
            self, "Pool", user_pool_name=config.name("users"), self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True), auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED, mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(min_length=14, require_lowercase=True, require_uppercase=True,
                                                   require_digits=True, require_symbols=True,
                                                   temp_password_validity=cdk.Duration.days(3)),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=config.retain_data, removal_policy=config.removal)
        for precedence, group in enumerate(reversed(n.USER_GROUPS)):
            cognito.CfnUserPoolGroup(self, f"Group-{group}", user_pool_id=self.pool.user_pool_id, group_name=group,
                                     description=GROUP_DESCRIPTIONS.get(group, group), precedence=precedence)
        self.domain = self.pool.add_domain("Domain", cognito_domain=cognito.CognitoDomainOptions(
            domain_prefix=f"ic-{config.stage}-{stack.account}"))
        self.client = self.pool.add_client(
            "Dashboard", user_pool_client_name=config.name("dashboard"), generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True), prevent_user_existence_errors=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=callback_urls, logout_urls=callback_urls),
            access_token_validity=cdk.Duration.hours(1), id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.hours(12))
