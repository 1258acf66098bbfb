"""API Gateway REST in front of the api function.

- The human API: a Cognito user pool authorizer on every method (`ANY /` and `ANY /{proxy+}`, so
  every route the function adds is covered), except the webhook route.
- `POST /alerts/{source}`: no API Gateway authorizer. Alert sources authenticate with a per-source
  token (Secrets Manager) or, for PagerDuty, an HMAC signature of the body; API Gateway authorizers
  never see the body (a Lambda authorizer gets headers only), so the api function checks both.
  API Gateway still validates the path parameter and that a JSON body is a JSON object or array.
- The machine API: the same function behind IAM (SigV4) on every method, for other AWS workloads;
  attach the `...-api-machine-invoke` managed policy to their roles.
- Stage throttling, JSON access logs (encrypted log group), error-level execution logs, X-Ray, and
  in prod a WAF web ACL (rate-based rule + AWS managed rule groups) on both stages.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as waf
from constructs import Construct

from .. import nag
from ..config import StageConfig

WEBHOOK_NO_AUTHORIZER = ("webhook senders (Alertmanager, Grafana, PagerDuty, Datadog, Opsgenie, SNS) cannot "
                         "obtain Cognito tokens or sign SigV4; the api function authenticates each request with the "
                         "source's token from Secrets Manager or PagerDuty's HMAC body signature, which an API "
                         "Gateway authorizer cannot verify because it never sees the body")
CORS_PREFLIGHT = ("CORS preflight (OPTIONS) requests never carry credentials (Fetch standard), so an authorizer "
                  "would break the dashboard; the method only returns CORS headers from a mock integration")


CORS_ORIGIN_ENV = "IC_CORS_ORIGIN"  # read by api/app.py; known only at deploy (the CloudFront domain)


def _access_format() -> apigw.AccessLogFormat:
    return apigw.AccessLogFormat.json_with_standard_fields(
        caller=True, http_method=True, ip=True, protocol=True, request_time=True, resource_path=True,
        response_length=True, status=True, user=True)


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, function: lambda_.Function,
                 user_pool: cognito.IUserPool, allowed_origins: list[str], logs_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        integration = apigw.LambdaIntegration(function, proxy=True)
        # the function's own CORS answers name the dashboard's origin, like the preflight does
        function.add_environment(CORS_ORIGIN_ENV, allowed_origins[0])

        authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[user_pool],
                                                      authorizer_name=config.name("users"))
        self.human = self._rest_api("Human", config.name("api"), logs_key, apigw.MethodOptions(
            authorizer=authorizer, authorization_type=apigw.AuthorizationType.COGNITO),
            cors=apigw.CorsOptions(allow_origins=allowed_origins, allow_methods=["GET", "POST"],
                                   allow_headers=["Authorization", "Content-Type"], max_age=cdk.Duration.hours(1)))
        self._proxy_methods(self.human, integration)
        self.webhook_method = self._webhook_route(integration)
        for status in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
            # API Gateway's own errors (401 from the authorizer, 429 throttled) must carry CORS headers too
            self.human.add_gateway_response(f"Cors{status.response_type}", type=status, response_headers={
                "Access-Control-Allow-Origin": f"'{allowed_origins[0]}'"})

        self.machine = self._rest_api("Machine", config.name("machine-api"), logs_key, apigw.MethodOptions(
            authorization_type=apigw.AuthorizationType.IAM))
        self._proxy_methods(self.machine, integration)
        nag.acknowledge(self.machine, "AwsSolutions-COG4",
                        "the machine API authorizes every method with IAM (SigV4): its callers are AWS roles, "
                        "which have no Cognito identity; people use the human API")
        nag.acknowledge(self.machine, "AwsSolutions-APIG2",
                        "one proxy method serves every route: API Gateway validates its path parameter (a "
                        "params validator), bodies are validated by the function's typed parsers, which answer 400 "
                        "naming the field; a gateway model per route would duplicate them and drift")
        invoke = self.machine.arn_for_execute_api("*", "/*", config.stage)
        self.machine_policy = iam.ManagedPolicy(
            self, "MachineInvoke", managed_policy_name=config.name("api-machine-invoke"),
            description="attach to a role that calls the machine API with SigV4",
            statements=[iam.PolicyStatement(actions=["execute-api:Invoke"], resources=[invoke])])
        nag.acknowledge(self.machine_policy, nag.wildcard(self, invoke),
                        "every method of this one API's stage: the machine API is the whole API surface for "
                        "machines, and the function enforces what each caller may do")
        if config.waf:
            self.web_acl = self._waf()

    def _rest_api(self, construct_id: str, name: str, logs_key: kms.IKey, method_options: apigw.MethodOptions,
                  cors: apigw.CorsOptions | None = None) -> apigw.RestApi:
        access_logs = logs.LogGroup(self, f"{construct_id}AccessLogs", log_group_name=f"/aws/apigateway/{name}",
                                    retention=self.config.log_retention,
                                    encryption_key=logs_key, removal_policy=self.config.removal)
        api = apigw.RestApi(
            self, construct_id, rest_api_name=name, endpoint_types=[apigw.EndpointType.REGIONAL],
            default_method_options=method_options, default_cors_preflight_options=cors,
            cloud_watch_role=True, cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN,
            min_compression_size=cdk.Size.kibibytes(1),
            deploy_options=apigw.StageOptions(
                stage_name=self.config.stage, tracing_enabled=True, metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR, data_trace_enabled=False,
                throttling_rate_limit=self.config.api_rate_limit, throttling_burst_limit=self.config.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=_access_format()))
        nag.acknowledge(api, "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs]",
                        "API Gateway's account-level logging role; AWS's managed policy is the documented one for "
                        "this service role and grants only CloudWatch Logs writes")
        if not self.config.waf:
            nag.acknowledge(api, "AwsSolutions-APIG3", f"WAF is on in prod; stage {self.config.stage} turns it off "
                            "(cdk.json stages.<stage>.waf) to save its fixed monthly cost")
        return api

    def _proxy_methods(self, api: apigw.RestApi, integration: apigw.LambdaIntegration) -> None:
        """ANY / and ANY /{proxy+}: every route of the function, under the API's default authorizer."""
        validator = apigw.RequestValidator(self, f"{api.node.id}ProxyValidator", rest_api=api,
                                           request_validator_name="proxy-path", validate_request_parameters=True)
        api.root.add_method("ANY", integration, request_validator=validator)
        api.root.add_resource("{proxy+}").add_method("ANY", integration, request_validator=validator,
                                                     request_parameters={"method.request.path.proxy": True})

    def _webhook_route(self, integration: apigw.LambdaIntegration) -> apigw.Method:
        validator = apigw.RequestValidator(self, "WebhookValidator", rest_api=self.human,
                                           request_validator_name="path-and-body",
                                           validate_request_body=True, validate_request_parameters=True)
        model = self.human.add_model("WebhookBody", content_type="application/json", model_name="WebhookBody",
                                     schema=apigw.JsonSchema(schema=apigw.JsonSchemaVersion.DRAFT4,
                                                             title="webhook body",
                                                             type=[apigw.JsonSchemaType.OBJECT, apigw.JsonSchemaType.ARRAY]))
        alerts = self.human.root.add_resource("alerts", default_cors_preflight_options=None)
        method = alerts.add_resource("{source}").add_method(
            "POST", integration, authorization_type=apigw.AuthorizationType.NONE,
            request_parameters={"method.request.path.source": True}, request_validator=validator,
            request_models={"application/json": model})
        nag.acknowledge(method, "AwsSolutions-APIG4", WEBHOOK_NO_AUTHORIZER)
        nag.acknowledge(method, "AwsSolutions-COG4", WEBHOOK_NO_AUTHORIZER)
        return method

    def _waf(self) -> waf.CfnWebACL:
        def managed(name: str, priority: int) -> waf.CfnWebACL.RuleProperty:
            return waf.CfnWebACL.RuleProperty(
                name=name, priority=priority, override_action=waf.CfnWebACL.OverrideActionProperty(none={}),
                statement=waf.CfnWebACL.StatementProperty(managed_rule_group_statement=waf.CfnWebACL.
                                                          ManagedRuleGroupStatementProperty(vendor_name="AWS", name=name)),
                visibility_config=self._visibility(name))

        acl = waf.CfnWebACL(
            self, "WebAcl", name=self.config.name("api"), scope="REGIONAL",
            default_action=waf.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=self._visibility(self.config.name("api")),
            rules=[
                waf.CfnWebACL.RuleProperty(
                    name="rate-per-ip", priority=0, action=waf.CfnWebACL.RuleActionProperty(block={}),
                    statement=waf.CfnWebACL.StatementProperty(rate_based_statement=waf.CfnWebACL.
                                                              RateBasedStatementProperty(
                                                                  limit=self.config.waf_rate_limit,
                                                                  aggregate_key_type="IP")),
                    visibility_config=self._visibility("rate-per-ip")),
                # not the common rule set: its 8 KB body limit would block real Alertmanager storms
                managed("AWSManagedRulesAmazonIpReputationList", 1),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
            ])
        for key, api in (("Human", self.human), ("Machine", self.machine)):
            waf.CfnWebACLAssociation(self, f"WebAcl{key}", resource_arn=api.deployment_stage.stage_arn,
                                     web_acl_arn=acl.attr_arn)
        return acl

    @staticmethod
    def _visibility(name: str) -> waf.CfnWebACL.VisibilityConfigProperty:
        return waf.CfnWebACL.VisibilityConfigProperty(cloud_watch_metrics_enabled=True, metric_name=name,
                                                      sampled_requests_enabled=True)
