"""WebSocket API (stage ``ws``): $connect/$disconnect/$default/subscribe/unsubscribe + broadcaster."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stockscreen_infra import constants as c
from stockscreen_infra.functions import FunctionDefaults

_IDS = {
    "handlers.connect": "Connect",
    "handlers.disconnect": "Disconnect",
    "handlers.default": "Default",
    "handlers.message": "Message",
}


class WebSocket(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, defaults: FunctionDefaults) -> None:
        super().__init__(scope, construct_id)

        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=c.WS_API_NAME,
            route_selection_expression=c.WS_ROUTE_SELECTION_EXPRESSION,
        )
        self.stage = apigwv2.WebSocketStage(
            self, "Stage", web_socket_api=self.api, stage_name=c.WS_STAGE, auto_deploy=True
        )
        #: https://{api-id}.execute-api.{region}.amazonaws.com/ws (the @connections endpoint)
        self.management_url = self.stage.callback_url
        self.url = self.stage.url
        self.domain_name = f"{self.api.api_id}.execute-api.{Stack.of(self).region}.{Stack.of(self).url_suffix}"

        # The connection registry: per-symbol subscribers are one Query on pk SYM#<symbol>; every item expires
        # (TTL) shortly after API Gateway's 2-hour connection limit, so a missed $disconnect cleans itself up.
        # Its data lives two hours at most: no point-in-time recovery (nothing worth restoring).
        self.connections_table = dynamodb.Table(
            self,
            "ConnectionsTable",
            table_name=c.CONNECTIONS_TABLE_NAME,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=c.CONNECTIONS_TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
        )
        env = {c.ENV_WS_MANAGEMENT_URL: self.management_url, c.ENV_CONNECTIONS_TABLE: self.connections_table.table_name}
        self.functions: dict[str, lambda_.Function] = {}
        for handler, fid in _IDS.items():
            self.functions[handler] = defaults.function(
                self,
                fid,
                source_dir=c.WS_SOURCE_DIR,
                handler=handler,
                description=f"Stockscreen WebSocket {handler}",
                environment=env,
            )
        # The REQUEST authorizer of $connect checks the access token (query parameter access_token; browsers
        # cannot set headers on a WebSocket upgrade) before the connection exists, and lets anonymous
        # connections in. Its identity source is a header every WebSocket handshake carries: a missing identity
        # source would answer 401 without calling the authorizer, refusing the anonymous ones (WebSocket
        # authorizers have no result cache, so the source is not a cache key).
        self.authorizer_function = defaults.function(
            self,
            "ConnectAuthorizer",
            source_dir=c.WS_SOURCE_DIR,
            handler=c.WS_AUTHORIZER_HANDLER,
            description="Stockscreen WebSocket $connect authorizer (access token or anonymous)",
        )
        self.connect_authorizer = authorizers.WebSocketLambdaAuthorizer(
            "ConnectTokenAuthorizer",
            self.authorizer_function,
            identity_source=[c.WS_AUTHORIZER_IDENTITY_SOURCE],
        )
        for route_key, handler in c.WS_ROUTES.items():
            integration = integrations.WebSocketLambdaIntegration(
                f"{_IDS[handler]}{route_key.strip('$').capitalize()}Integration", self.functions[handler]
            )
            # (an authorizer exists on $connect only: the other routes run on accepted connections)
            self.api.add_route(
                route_key,
                integration=integration,
                authorizer=self.connect_authorizer if route_key == "$connect" else None,
            )

        self.broadcast = defaults.function(
            self,
            "Broadcast",
            source_dir=c.WS_SOURCE_DIR,
            handler=c.WS_BROADCAST_HANDLER,
            description="Stockscreen WebSocket broadcaster (prices.updated)",
            environment=env,
        )
        # Functions that post to connections (broadcast; replies from message/default) may manage
        # connections of THIS API's ``ws`` stage only.
        manage = iam.PolicyStatement(
            actions=["execute-api:ManageConnections"],
            resources=[self.connections_arn],
        )
        for fn in (self.broadcast, self.functions["handlers.message"], self.functions["handlers.default"]):
            fn.add_to_role_policy(manage)
        # the registry: $connect only writes its items; the others read subscribers and clean up
        self.functions["handlers.connect"].add_to_role_policy(
            iam.PolicyStatement(actions=list(c.CONNECTIONS_WRITE_ACTIONS), resources=[self.connections_table.table_arn])
        )
        for fn in (
            self.functions["handlers.disconnect"],
            self.functions["handlers.message"],
            self.functions["handlers.default"],
            self.broadcast,
        ):
            self.grant_registry(fn)

    def grant_registry(self, fn: lambda_.Function) -> None:
        """Let ``fn`` use the connection registry (read subscribers, subscribe, forget gone connections)."""
        fn.add_environment(c.ENV_CONNECTIONS_TABLE, self.connections_table.table_name)
        fn.add_to_role_policy(self.registry_statement())

    def registry_statement(self) -> iam.PolicyStatement:
        """The registry's read/write actions on its table only (:meth:`grant_registry`; the API's role)."""
        return iam.PolicyStatement(
            actions=list(c.CONNECTIONS_READ_WRITE_ACTIONS), resources=[self.connections_table.table_arn]
        )

    @property
    def connections_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="execute-api",
            resource=self.api.api_id,
            resource_name=f"{c.WS_STAGE}/*/@connections/*",
        )

    @property
    def all_functions(self) -> list[lambda_.Function]:
        return [*self.functions.values(), self.broadcast, self.authorizer_function]
