"""The dashboard: static files in a private S3 bucket behind CloudFront with Origin Access Control.

The page talks to the human API with a Cognito sign-in; `config.json` next to it carries the API URL
and the user pool client (written at deploy time). Files deploy only when the dashboard exists in
the repository (`incident_commander/local/dashboard/`).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cf
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from .. import nag
from ..config import StageConfig

DASHBOARD_DIR = Path("layers/common/python/incident_commander/local/dashboard")


class DashboardSite(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.logs = access_logs
        self.bucket = s3.Bucket(
            self, "Site", encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True, versioned=True,
            server_access_logs_bucket=self.logs, server_access_logs_prefix="s3-site/",
            removal_policy=config.removal)
        self.distribution = cf.Distribution(
            self, "Distribution", comment=f"Incident Commander {config.stage} dashboard",
            default_behavior=cf.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cf.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cf.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cf.ResponseHeadersPolicy.SECURITY_HEADERS),
            default_root_object="index.html",
            http_version=cf.HttpVersion.HTTP2_AND_3, price_class=cf.PriceClass.PRICE_CLASS_100,
            enable_logging=True, log_bucket=self.logs, log_file_prefix="cloudfront/")
        nag.acknowledge(self.distribution, "AwsSolutions-CFR4",
                        "the distribution uses CloudFront's default *.cloudfront.net certificate, for which "
                        "CloudFront cannot enforce a minimum TLS version (its policy is fixed); put the dashboard on "
                        "a custom domain with an ACM certificate to require TLSv1.2_2021")
        nag.acknowledge(self.distribution, "AwsSolutions-CFR1",
                        "responders may be anywhere; the site serves only static files and every API call is "
                        "authenticated")
        nag.acknowledge(self.distribution, "AwsSolutions-CFR2",
                        "static files only; a CloudFront web ACL must live in us-east-1, and the API the page "
                        "calls carries its own WAF in prod")
        self.url = f"https://{self.distribution.distribution_domain_name}"

    def deploy_files(self, repo: Path, settings: dict) -> s3deploy.BucketDeployment | None:
        """Upload the dashboard and its config.json (deploy-time values).

        Files carry `Cache-Control: max-age=300`, so CloudFront serves a new deploy within five minutes
        without an invalidation (which would give the deployment handler cloudfront:* on '*').
        """
        source = repo / DASHBOARD_DIR
        if not source.is_dir() or not any(source.iterdir()):
            return None
        deployment = s3deploy.BucketDeployment(
            self, "Files", destination_bucket=self.bucket, prune=True, memory_limit=256,
            cache_control=[s3deploy.CacheControl.max_age(cdk.Duration.minutes(5))],
            sources=[s3deploy.Source.asset(str(source), exclude=["*.py", "__pycache__"]),
                     s3deploy.Source.json_data("config.json", settings)])
        stack = cdk.Stack.of(self)
        for handler in [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]:
            self._acknowledge_deployment_handler(handler)
        return deployment

    def _acknowledge_deployment_handler(self, handler) -> None:
        """CDK's own deployment handler (a singleton that runs only while `cdk deploy` copies the files)."""
        stack = cdk.Stack.of(handler)
        assets = f"arn:{stack.partition}:s3:::cdk-hnb659fds-assets-{stack.account}-{stack.region}/*"
        why = ("CDK's BucketDeployment handler, which runs only during `cdk deploy`: its role reads the CDK "
               "bootstrap asset bucket and writes the dashboard bucket; CDK's grant_read/grant_read_write emit "
               "these S3 action families on '<bucket>/*' of exactly those two buckets")
        for finding in ("AwsSolutions-IAM5[Action::s3:GetBucket*]", "AwsSolutions-IAM5[Action::s3:GetObject*]",
                        "AwsSolutions-IAM5[Action::s3:List*]", "AwsSolutions-IAM5[Action::s3:Abort*]",
                        "AwsSolutions-IAM5[Action::s3:DeleteObject*]", nag.wildcard(handler, assets),
                        nag.wildcard(handler, f"{self.bucket.bucket_arn}/*")):
            nag.acknowledge(handler, finding, why)
        nag.acknowledge(handler, "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                        "AWSLambdaBasicExecutionRole]",
                        "CDK creates the deployment handler's role with the basic execution policy (its own logs); "
                        "the handler runs only during deploys and is not configurable")
        nag.acknowledge(handler, "AwsSolutions-L1",
                        "CDK pins the deployment handler's runtime and upgrades it with aws-cdk-lib releases")
