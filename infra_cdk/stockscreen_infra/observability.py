"""Dashboards, alarms, SLOs and saved log queries for every part of the stack (cdk-monitoring-constructs).

Why cdk-monitoring-constructs: it knows the metrics and sensible alarm shapes of each AWS service (Lambda
fault rate and throttles, queue age, DLQ depth, Step Functions failures, DynamoDB throttles and system
errors, ElastiCache memory and CPU, RDS CPU/storage/connections) and lays them out on one dashboard with an
alarm summary, so this module only states *which* thresholds, not how each metric is spelled.

Coverage is by construction, not by list: ``Observability`` is created last and walks the stack, so every
``lambda.Function``, ``sqs.Queue``, ``sfn.StateMachine`` and ``dynamodb.Table`` added later is monitored
without touching this file (a template test fails when one has no alarm). The parts CDK does not model as
L2 constructs (the Chalice REST API and its handler, the WebSocket API, the ElastiCache replication group)
are named explicitly. Every alarm notifies the admin topic, on ALARM and on OK.

SLOs for the public REST API (30-day window, multi-window multi-burn-rate alarms as in the Google SRE
workbook): availability 99.9% of requests not 5xx; latency 99% of requests answered within 1 s (API
Gateway's ``Latency`` percentile rank ``PR(:1000)``). Each SLO pages when the burn rate is above 14.4 over
both 1 h and 5 min (2% of the month's budget in an hour) and opens a ticket-level alarm above 6 over both
6 h and 30 min (5% in six hours): the long window proves it matters, the short one that it is still
happening, so the alarm resets quickly once fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    CustomMetricGroup,
    DefaultDashboardFactory,
    DurationThreshold,
    ElastiCacheClusterType,
    ErrorCountThreshold,
    ErrorRateThreshold,
    LatencyThreshold,
    MaxMessageAgeThreshold,
    MaxMessageCountThreshold,
    MinFreeableMemoryThreshold,
    MonitoringFacade,
    SnsAlarmActionStrategy,
    ThrottledEventsThreshold,
    UsageThreshold,
)
from constructs import Construct, IConstruct

from stockscreen.core import operations
from stockscreen_infra import constants as c


@dataclass(frozen=True)
class BurnWindow:
    """One multi-window burn-rate condition: both windows above ``rate`` x the budget's even spend."""

    name: str
    long: Duration
    short: Duration
    rate: float


#: The SRE workbook's page and ticket pairs for a 30-day SLO.
BURN_WINDOWS = (
    BurnWindow("Page", Duration.hours(1), Duration.minutes(5), operations.PAGE_BURN_RATE),
    BurnWindow("Ticket", Duration.hours(6), Duration.minutes(30), 6.0),
)
#: The objectives, one definition for the alarms and the admin Operations page
AVAILABILITY_SLO = operations.AVAILABILITY_SLO
LATENCY_SLO = operations.LATENCY_SLO
LATENCY_SLO_THRESHOLD_MS = operations.LATENCY_SLO_THRESHOLD_MS


def saved_queries() -> dict[str, logs.QueryString]:
    """Logs Insights queries saved in the account (CloudWatch > Logs Insights > Queries), over every log
    group: replace USER_ID / CORRELATION_ID before running the last two."""
    return {
        "errors-by-route": logs.QueryString(
            fields=["@timestamp", "level", "message", "path", "status", "correlation_id"],
            filter_statements=['level = "ERROR" or status >= 500'],
            stats="count(*) as errors by path, status",
            sort="errors desc",
        ),
        "slowest-requests": logs.QueryString(
            fields=["@timestamp", "method", "path", "status", "ms", "user_id", "correlation_id"],
            filter_statements=['message = "request"'],
            sort="ms desc",
            limit=50,
        ),
        "one-user": logs.QueryString(
            fields=["@timestamp", "function_name", "message", "method", "path", "status", "ms", "correlation_id"],
            filter_statements=['user_id = "USER_ID"'],
            sort="@timestamp asc",
            limit=1000,
        ),
        # the whole story of one event: every function it touched (API, ingest tasks, alert evaluation and
        # delivery, WebSocket pushes), in order; ``@log`` names each line's log group
        "one-correlation-id": logs.QueryString(
            fields=["@timestamp", "@log", "service", "function_name", "level", "message", "task", "path", "status"],
            filter_statements=['correlation_id = "CORRELATION_ID"'],
            sort="@timestamp asc",
            limit=1000,
        ),
    }


def _is_dlq(queue: sqs.Queue, dlqs: set[str]) -> bool:
    return queue.node.path in dlqs


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        api_function_name: str,
        ws_api: apigwv2.WebSocketApi,
        redis: elasticache.CfnReplicationGroup,
        database: rds.DatabaseInstance | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        action = SnsAlarmActionStrategy(on_alarm_topic=topic, on_ok_topic=topic)
        self.facade = facade = MonitoringFacade(
            self,
            "Monitoring",
            alarm_factory_defaults=AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=c.APP_TAG,
                action=action,
                datapoints_to_alarm=2,
                evaluation_periods=3,
            ),
            dashboard_factory=DefaultDashboardFactory(self, "Dashboards", dashboard_name_prefix=c.DASHBOARD_NAME),
        )

        # --- everything CDK models: found by walking the stack ---------------------------------------
        nodes = [n for n in stack.node.find_all() if not n.node.path.startswith(self.node.path)]
        dlqs = {
            q.queue.node.path
            for n in nodes
            if isinstance(n, sqs.Queue) and (q := n.dead_letter_queue) is not None and isinstance(q.queue, sqs.Queue)
        }
        for node in nodes:
            self._monitor(node, dlqs)

        # --- the Chalice REST API (a SAM template, not L2 constructs) ---------------------------------
        handler = lambda_.Function.from_function_name(self, "ApiHandlerRef", api_function_name)
        facade.monitor_lambda_function(
            lambda_function=handler,
            human_readable_name="REST API handler",
            alarm_friendly_name="ApiHandler",
            add_fault_rate_alarm={"Critical": ErrorRateThreshold(max_error_rate=1)},
            add_throttles_count_alarm={"Warning": ErrorCountThreshold(max_error_count=5)},
            add_latency_p99_alarm={"Warning": LatencyThreshold(max_latency=Duration.seconds(3))},
        )
        rest = {"ApiName": c.API_APP_NAME, "Stage": c.REST_API_STAGE}
        requests = _metric("AWS/ApiGateway", "Count", rest, "Sum")
        faults = _metric("AWS/ApiGateway", "5XXError", rest, "Sum")
        latency = _metric("AWS/ApiGateway", "Latency", rest, "p99")
        facade.monitor_custom(
            alarm_friendly_name="RestApi",
            human_readable_name=f"REST API {c.API_APP_NAME} (stage {c.REST_API_STAGE})",
            metric_groups=[
                CustomMetricGroup(title="Requests / 5xx", metrics=[requests, faults]),
                CustomMetricGroup(title="Latency p99 (ms)", metrics=[latency]),
            ],
        )
        self.slo_alarms = self._slos(topic, rest)

        # --- the WebSocket API -------------------------------------------------------------------------
        ws = {"ApiId": ws_api.api_id, "Stage": c.WS_STAGE}
        self.ws_alarms = [
            self._alarm(
                topic,
                f"Ws{name}",
                f"WebSocket API {name} (5 min sum >= {threshold})",
                _metric("AWS/ApiGateway", name, ws, "Sum"),
                threshold,
            )
            for name, threshold in (("ExecutionError", 1), ("IntegrationError", 5))
        ]
        facade.monitor_custom(
            alarm_friendly_name="WebSocketApi",
            human_readable_name=f"WebSocket API {c.WS_API_NAME}",
            metric_groups=[
                CustomMetricGroup(
                    title="Connections and messages",
                    metrics=[_metric("AWS/ApiGateway", m, ws, "Sum") for m in ("ConnectCount", "MessageCount")],
                ),
                CustomMetricGroup(
                    title="Errors",
                    metrics=[
                        _metric("AWS/ApiGateway", m, ws, "Sum")
                        for m in ("ClientError", "ExecutionError", "IntegrationError")
                    ],
                ),
            ],
        )

        # --- what the functions measure themselves (EMF) ---------------------------------------------
        self.delivery_errors_alarm = self._alarm(
            topic,
            "AlertDeliveryErrorsAlarm",
            "Alert channels failed to deliver (retried by the queue, then dead-lettered): 5 min sum >= 5",
            _metric(c.METRICS_NAMESPACE, c.ALERT_DELIVERY_ERRORS_METRIC, {"service": c.METRICS_SERVICE}, "Sum"),
            5,
        )

        # --- ElastiCache (one node per cache cluster id: <replication group>-001) and RDS ----------------
        facade.monitor_elasti_cache_cluster(
            cluster_id=f"{redis.ref}-001",
            cluster_type=ElastiCacheClusterType.REDIS,
            alarm_friendly_name="Redis",
            human_readable_name="Redis (ElastiCache)",
            add_cpu_usage_alarm={"Warning": UsageThreshold(max_usage_percent=80)},
            add_redis_engine_cpu_usage_alarm={"Warning": UsageThreshold(max_usage_percent=80)},
            add_min_freeable_memory_alarm={
                "Warning": MinFreeableMemoryThreshold(min_freeable_memory_in_bytes=32 * 1024**2)
            },
        )
        if database is not None:
            facade.monitor_rds_instance(
                instance=database,
                alarm_friendly_name="Postgres",
                human_readable_name="PostgreSQL (RDS)",
                add_cpu_usage_alarm={"Warning": UsageThreshold(max_usage_percent=80)},
            )

        # --- saved Logs Insights queries -------------------------------------------------------------
        groups = [g for g in stack.node.find_all() if isinstance(g, logs.LogGroup)]
        for name, query in saved_queries().items():
            logs.QueryDefinition(
                self,
                f"Query-{name}",
                query_definition_name=f"{c.APP_TAG}/{name}",
                query_string=query,
                log_groups=groups,
            )

    # ------------------------------------------------------------------------------------------------
    def _monitor(self, node: IConstruct, dlqs: set[str]) -> None:
        facade = self.facade
        name = node.node.path.removeprefix(Stack.of(self).node.path + "/").replace("/", "-")
        if isinstance(node, CfnResource) and node.cfn_resource_type == "AWS::Lambda::Function":
            # every function, ours (L2) and CDK's own custom-resource handlers (L1), by its physical name
            fn = lambda_.Function.from_function_name(self, f"Fn-{name}", node.ref)
            timeout = node.timeout if isinstance(node, lambda_.CfnFunction) and node.timeout else 3
            facade.monitor_lambda_function(
                lambda_function=fn,
                alarm_friendly_name=name.removesuffix("-Resource"),
                add_fault_rate_alarm={"Critical": ErrorRateThreshold(max_error_rate=5)},
                add_throttles_count_alarm={"Warning": ErrorCountThreshold(max_error_count=5)},
                # near the timeout: the next slow run times out
                add_latency_p99_alarm={
                    "Warning": LatencyThreshold(max_latency=Duration.millis(int(float(timeout) * 1000 * 0.8)))
                },
            )
        elif isinstance(node, sqs.Queue):
            if _is_dlq(node, dlqs):
                facade.monitor_sqs_queue(
                    queue=node,
                    alarm_friendly_name=name,
                    add_queue_max_size_alarm={"Critical": MaxMessageCountThreshold(max_message_count=0)},
                )
            else:
                facade.monitor_sqs_queue(
                    queue=node,
                    alarm_friendly_name=name,
                    add_queue_max_message_age_alarm={"Warning": MaxMessageAgeThreshold(max_age_in_seconds=300)},
                )
        elif isinstance(node, sfn.StateMachine):
            facade.monitor_step_function(
                state_machine=node,
                alarm_friendly_name=name,
                add_failed_execution_count_alarm={"Critical": ErrorCountThreshold(max_error_count=0)},
                add_timed_out_execution_count_alarm={"Critical": ErrorCountThreshold(max_error_count=0)},
                add_duration_p99_alarm={"Warning": DurationThreshold(max_duration=Duration.minutes(10))},
            )
        elif isinstance(node, dynamodb.Table):
            facade.monitor_dynamo_table(
                table=node,
                alarm_friendly_name=name,
                add_read_throttled_events_count_alarm={
                    "Warning": ThrottledEventsThreshold(max_throttled_events_threshold=10)
                },
                add_write_throttled_events_count_alarm={
                    "Warning": ThrottledEventsThreshold(max_throttled_events_threshold=10)
                },
                add_system_error_count_alarm={"Critical": ErrorCountThreshold(max_error_count=0)},
            )

    def _alarm(self, topic: sns.ITopic, cid: str, description: str, metric: cw.IMetric, threshold: float) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            cid,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(topic))
        alarm.add_ok_action(cw_actions.SnsAction(topic))
        return alarm

    def _slos(self, topic: sns.ITopic, dims: dict[str, str]) -> list[cw.CompositeAlarm]:
        """Availability and latency SLO burn-rate alarms: composite (long AND short window) per pair."""
        out: list[cw.CompositeAlarm] = []
        for slo, objective in (("Availability", AVAILABILITY_SLO), ("Latency", LATENCY_SLO)):
            budget = 1 - objective
            for w in BURN_WINDOWS:
                legs = []
                for label, window in (("Long", w.long), ("Short", w.short)):
                    if slo == "Availability":
                        expr = cw.MathExpression(
                            expression="IF(requests > 0, faults / requests, 0)",
                            using_metrics={
                                "requests": _metric("AWS/ApiGateway", "Count", dims, "Sum", window),
                                "faults": _metric("AWS/ApiGateway", "5XXError", dims, "Sum", window),
                            },
                            period=window,
                            label=f"5xx ratio over {window.to_human_string()}",
                        )
                    else:
                        expr = cw.MathExpression(
                            expression="(100 - fast) / 100",
                            using_metrics={
                                "fast": _metric(
                                    "AWS/ApiGateway", "Latency", dims, f"PR(:{LATENCY_SLO_THRESHOLD_MS})", window
                                ),
                            },
                            period=window,
                            label=f"share slower than {LATENCY_SLO_THRESHOLD_MS} ms over {window.to_human_string()}",
                        )
                    legs.append(
                        cw.Alarm(
                            self,
                            f"Slo{slo}{w.name}{label}",
                            alarm_description=(
                                f"{slo} SLO {objective:.1%}: burn rate > {w.rate} over {window.to_human_string()}"
                            ),
                            metric=expr,
                            threshold=w.rate * budget,
                            evaluation_periods=1,
                            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                        )
                    )
                composite = cw.CompositeAlarm(
                    self,
                    f"Slo{slo}{w.name}",
                    composite_alarm_name=f"{c.APP_TAG}-slo-{slo.lower()}-{w.name.lower()}",
                    alarm_description=(
                        f"{slo} SLO {objective:.1%} of the REST API: error budget burning {w.rate}x over "
                        f"{w.long.to_human_string()} and {w.short.to_human_string()}"
                    ),
                    alarm_rule=cw.AlarmRule.all_of(*legs),
                )
                composite.add_alarm_action(cw_actions.SnsAction(topic))
                composite.add_ok_action(cw_actions.SnsAction(topic))
                out.append(composite)
        return out


def _metric(
    namespace: str, name: str, dims: dict[str, str], statistic: str, period: Duration | None = None
) -> cw.Metric:
    return cw.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dims,
        statistic=statistic,
        period=period or Duration.minutes(5),
    )
