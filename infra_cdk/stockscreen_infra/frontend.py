"""Frontend: private S3 bucket + CloudFront (OAC) with /api/* -> REST API and /ws -> WebSocket API."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from stockscreen_infra import constants as c
from stockscreen_infra.buckets import private_bucket

SPA_REWRITE_JS = """\
function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (request.uri === '/' || last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
"""


class Frontend(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rest_api_domain: str,
        ws_api_domain: str,
        dist_dir: Path,
        upload_origin: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.bucket = private_bucket(
            self,
            "Bucket",
            versioned=True,
        )

        self.headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Stockscreen security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=c.CONTENT_SECURITY_POLICY.format(
                        upload=f" {upload_origin}" if upload_origin else ""
                    ),
                    override=True,
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365),
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
            ),
        )

        # Dynamic origins: never cached, every viewer header except Host (API Gateway routes on its
        # own Host), all query strings and cookies. /api/* is forwarded unchanged to the ``api``
        # stage; /ws is the path of the ``ws`` stage.
        api_behavior = cloudfront.BehaviorOptions(
            origin=origins.HttpOrigin(rest_api_domain, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=self.headers_policy,
            compress=True,
        )
        ws_behavior = cloudfront.BehaviorOptions(
            origin=origins.HttpOrigin(ws_api_domain, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        )

        #: SPA: an extension-less path (a client-side route such as /screener/AAPL) -> /index.html,
        #: for the S3 behaviour only.
        self.spa_rewrite = cloudfront.Function(
            self,
            "SpaRewrite",
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="Stockscreen SPA routes -> /index.html",
            code=cloudfront.FunctionCode.from_inline(SPA_REWRITE_JS),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Stockscreen",
            default_root_object="index.html",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers_policy,
                compress=True,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        event_type=cloudfront.FunctionEventType.VIEWER_REQUEST, function=self.spa_rewrite
                    )
                ],
            ),
            additional_behaviors={c.API_PATH_PATTERN: api_behavior, c.WS_PATH_PATTERN: ws_behavior},
            # SPA routing is done by ``spa_rewrite`` on the S3 behaviour only, NOT by distribution-wide
            # custom error responses (403/404 -> /index.html): those would also rewrite the API's
            # 403/404 JSON answers into a 200 index.html.
        )
        self.url = f"https://{self.distribution.distribution_domain_name}"

        self.deployment: s3deploy.BucketDeployment | None = None
        if dist_dir.is_dir():
            self.deployment = s3deploy.BucketDeployment(
                self,
                "Deploy",
                sources=[s3deploy.Source.asset(str(dist_dir))],
                destination_bucket=self.bucket,
                distribution=self.distribution,
                distribution_paths=["/*"],
                prune=True,
                memory_limit=512,
            )
