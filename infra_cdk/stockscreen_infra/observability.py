"""CloudWatch dashboard and alarms (API 5xx, failed ingest runs, alert delivery errors, DLQ depth) -> SNS."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stockscreen_infra import constants as c


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        state_machine: sfn.StateMachine,
        dlq: sqs.Queue,
        api_function_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        dims = {"ApiName": c.API_APP_NAME, "Stage": c.REST_API_STAGE}
        api_5xx = cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions_map=dims,
            statistic="Sum",
            period=Duration.minutes(5),
        )
        api_count = cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name="Count",
            dimensions_map=dims,
            statistic="Sum",
            period=Duration.minutes(5),
        )
        api_latency = cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions_map=dims,
            statistic="p95",
            period=Duration.minutes(5),
        )
        api_fn_errors = cw.Metric(
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions_map={"FunctionName": api_function_name},
            statistic="Sum",
            period=Duration.minutes(5),
        )
        sfn_failed = state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum")
        sfn_succeeded = state_machine.metric_succeeded(period=Duration.minutes(5), statistic="Sum")
        dlq_visible = dlq.metric_approximate_number_of_messages_visible(period=Duration.minutes(5))
        delivery_errors = cw.Metric(
            namespace=c.METRICS_NAMESPACE,
            metric_name=c.ALERT_DELIVERY_ERRORS_METRIC,
            dimensions_map={"service": c.METRICS_SERVICE},
            statistic="Sum",
            period=Duration.minutes(5),
        )

        action = cw_actions.SnsAction(topic)
        self.alarms = {
            "Api5xx": cw.Alarm(
                self,
                "Api5xxAlarm",
                alarm_description="REST API returned 5xx responses",
                metric=api_5xx,
                threshold=5,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            "IngestFailed": cw.Alarm(
                self,
                "IngestFailedAlarm",
                alarm_description="An ingest state machine execution failed",
                metric=sfn_failed,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            "AlertDeliveryErrors": cw.Alarm(
                self,
                "AlertDeliveryErrorsAlarm",
                alarm_description="Alert channels failed to deliver (retried by the queue, then dead-lettered)",
                metric=delivery_errors,
                threshold=5,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            "DlqNotEmpty": cw.Alarm(
                self,
                "DlqNotEmptyAlarm",
                alarm_description="Messages in the alerts dead-letter queue",
                metric=dlq_visible,
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
        }
        for alarm in self.alarms.values():
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=c.DASHBOARD_NAME)
        self.dashboard.add_widgets(
            cw.GraphWidget(title="REST API requests / 5xx", left=[api_count], right=[api_5xx], width=12),
            cw.GraphWidget(title="REST API p95 latency (ms)", left=[api_latency], width=12),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="API handler errors", left=[api_fn_errors], width=8),
            cw.GraphWidget(title="Ingest runs", left=[sfn_succeeded, sfn_failed], width=8),
            cw.GraphWidget(
                title="Alerts DLQ depth / delivery errors", left=[dlq_visible], right=[delivery_errors], width=8
            ),
        )
        self.dashboard.add_widgets(
            *(cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24),)
        )
