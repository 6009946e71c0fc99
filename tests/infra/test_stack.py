"""Assertions on the synthesised Stockscreen CloudFormation template."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match
from stockscreen_infra import constants as c

from stockscreen.pipeline.definition import HANDLERS, STATE_MACHINE_NAME, TASKS, build_definition

from .conftest import Synth

# --- helpers ---------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for logical_id, res in synth.resources("AWS::IAM::Policy").items():
        for st in res["Properties"]["PolicyDocument"]["Statement"]:
            out.append((logical_id, st))
    for logical_id, res in synth.resources("AWS::IAM::Role").items():
        for pol in res["Properties"].get("Policies", []):
            for st in pol["PolicyDocument"]["Statement"]:
                out.append((logical_id, st))
    return out


def _logical_id(synth: Synth, construct: Any) -> str:
    return synth.stack.get_logical_id(construct.node.default_child)  # type: ignore[no-any-return]


def _render_fn_sub(value: Any) -> str:
    """The state machine's DefinitionString is a Fn::Join of literal parts and Fn::GetAtt tokens."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_render_fn_sub(p) for p in parts)
    if "Fn::GetAtt" in value:
        return "<GetAtt:" + ".".join(value["Fn::GetAtt"]) + ">"
    if "Ref" in value:
        return "<Ref:" + value["Ref"] + ">"
    raise AssertionError(f"unexpected intrinsic {value}")


# --- state machine ---------------------------------------------------------------------------------


def test_state_machine_uses_the_shared_definition(synth: Synth) -> None:
    machines = synth.resources("AWS::StepFunctions::StateMachine")
    assert len(machines) == 2  # ingest and reports (tests/infra/test_reports_stack.py)
    (props,) = [m["Properties"] for m in machines.values() if m["Properties"]["StateMachineName"] == STATE_MACHINE_NAME]

    # The ASL is the shared source verbatim (placeholders kept) ...
    actual = json.loads(_render_fn_sub(props["DefinitionString"]))
    assert actual == build_definition()
    # ... and CloudFormation substitutes each placeholder with the ARN of that task's function.
    fn_ids = {state: _logical_id(synth, fn) for state, fn in synth.stack.ingest.functions.items()}
    assert props["DefinitionSubstitutions"] == {TASKS[state]: {"Fn::GetAtt": [fn_ids[state], "Arn"]} for state in TASKS}

    for state in ("Plan", "Validate", "LoadReference", "Aggregate", "Publish", "Report"):
        assert actual["States"][state]["Retry"]
        assert actual["States"][state]["Catch"]
    for state, task in (("FetchBatches", "Fetch"), ("LoadBatches", "Load")):
        assert actual["States"][state]["Catch"]
        assert actual["States"][state]["ItemProcessor"]["States"][task]["Retry"]


def test_every_function_traces_actively_and_so_do_the_state_machines_and_the_rest_api(synth: Synth) -> None:
    """X-Ray: every function of the project (the handlers' Powertools Tracer sends its segments), each state
    machine, and the REST API's stage. (WebSocket APIs have no X-Ray tracing; their functions do.)"""
    ours = {
        lid: r["Properties"]
        for lid, r in synth.resources("AWS::Lambda::Function").items()
        # the project's handlers (functions/*/handlers.py), not CDK's own custom-resource handlers
        if str(r["Properties"].get("Handler", "")).startswith("handlers.")
    }
    assert len(ours) >= len(TASKS) + 10
    untraced = sorted(lid for lid, p in ours.items() if p.get("TracingConfig") != {"Mode": "Active"})
    assert untraced == []
    ws = synth.stack.websocket
    for fn in [*ws.functions.values(), ws.authorizer_function, ws.broadcast, synth.stack.quotes.function]:
        assert _logical_id(synth, fn) in ours
    (api_fn,) = synth.resources("AWS::Serverless::Function").values()
    assert api_fn["Properties"]["Tracing"] == "Active"
    (api,) = synth.resources("AWS::Serverless::Api").values()
    assert api["Properties"]["TracingEnabled"] is True
    machines = synth.resources("AWS::StepFunctions::StateMachine")
    assert len(machines) >= 2
    assert all(m["Properties"]["TracingConfiguration"] == {"Enabled": True} for m in machines.values())


def test_schedules_start_runs_under_the_tick_id(synth: Synth) -> None:
    """The schedule tick is the edge: its id is the execution input's correlation_id (and the run id)."""
    sm_id = _logical_id(synth, synth.stack.ingest.state_machine)
    (rule,) = [
        r["Properties"]
        for r in synth.resources("AWS::Events::Rule").values()
        if any(t["Arn"] == {"Ref": sm_id} for t in r["Properties"].get("Targets", []))
        and "ScheduleExpression" in r["Properties"]
    ]
    transformer = rule["Targets"][0]["InputTransformer"]
    name = next(k for k, v in transformer["InputPathsMap"].items() if v == "$.id")
    template = transformer["InputTemplate"].replace(" ", "")
    assert f'"correlation_id":<{name}>' in template and f'"run_id":<{name}>' in template
    (schedule,) = synth.resources("AWS::Scheduler::Schedule").values()
    payload = json.loads(schedule["Properties"]["Target"]["Input"])
    assert payload["correlation_id"] == "<aws.scheduler.execution-id>"


def test_state_machine_logging_and_tracing(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
        },
    )


def test_one_ingest_function_per_task_with_shared_handlers(synth: Synth) -> None:
    assert set(synth.stack.ingest.functions) == set(TASKS)
    fns = synth.resources("AWS::Lambda::Function")
    for state, fn in synth.stack.ingest.functions.items():
        props = fns[_logical_id(synth, fn)]["Properties"]
        assert props["Handler"] == HANDLERS[state]
        assert props["Runtime"] == "python3.11"
        assert props["Architectures"] == ["x86_64"]
        assert props["Layers"]


def test_schedule_rule_targets_the_state_machine(synth: Synth) -> None:
    sm_id = _logical_id(synth, synth.stack.ingest.state_machine)
    rules = synth.resources("AWS::Events::Rule")
    scheduled = [
        r
        for r in rules.values()
        if r["Properties"].get("ScheduleExpression")
        and any(t["Arn"] == {"Ref": sm_id} for t in r["Properties"]["Targets"])
    ]
    assert len(scheduled) == 1
    props = scheduled[0]["Properties"]
    assert props["ScheduleExpression"] == c.INGEST_SCHEDULE_EXPRESSION == "cron(30 22 ? * MON-FRI *)"
    (target,) = props["Targets"]
    assert target["Arn"] == {"Ref": sm_id}
    assert "RoleArn" in target
    # the execution input names the run (the event id) and the provider day (the event time)
    transformer = target["InputTransformer"]
    assert set(transformer["InputPathsMap"].values()) == {"$.id", "$.time"}
    assert '"provider":"stooq"' in transformer["InputTemplate"].replace(" ", "")


def test_quote_poller_runs_every_minute_alone_and_may_post_to_connections_only(synth: Synth) -> None:
    fn_id = _logical_id(synth, synth.stack.quotes.function)
    props = synth.resources("AWS::Lambda::Function")[fn_id]["Properties"]
    assert props["Handler"] == c.QUOTES_HANDLER == "handlers.poll"
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["Timeout"] == c.QUOTES_TIMEOUT_SECONDS > c.QUOTES_RUN_SECONDS
    env = props["Environment"]["Variables"]
    assert {c.ENV_WS_MANAGEMENT_URL, c.ENV_REDIS_URL, c.ENV_DATABASE_SECRET_ARN, "QUOTE_PROVIDER"} <= set(env)
    assert env["QUOTE_RUN_SECONDS"] == str(c.QUOTES_RUN_SECONDS)
    # each batch goes to the alert evaluator, which queues firings for delivery
    queue_id = _logical_id(synth, synth.stack.alerts.queue)
    assert env[c.ENV_ALERTS_DELIVERY_QUEUE_URL] == {"Ref": queue_id}
    rules = [
        r["Properties"]
        for r in synth.resources("AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [fn_id, "Arn"]} for t in r["Properties"].get("Targets", []))
    ]
    assert len(rules) == 1
    assert rules[0]["ScheduleExpression"] == c.QUOTES_SCHEDULE_EXPRESSION == "rate(1 minute)"
    (target,) = rules[0]["Targets"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}
    # EventBridge may invoke it; it may manage the WebSocket API's connections and read the database secret
    perms = synth.resources("AWS::Lambda::Permission").values()
    assert any(
        p["Properties"]["FunctionName"] == {"Fn::GetAtt": [fn_id, "Arn"]}
        and p["Properties"]["Principal"] == "events.amazonaws.com"
        for p in perms
    )
    role_id = _logical_id(synth, synth.stack.quotes.function.role)
    statements = [
        st
        for p in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {a for st in statements for a in _as_list(st["Action"])}
    assert "execute-api:ManageConnections" in actions
    assert "secretsmanager:GetSecretValue" in actions
    assert "sqs:SendMessage" in actions
    assert not any(a.startswith(("events:", "states:", "sns:", "ses:")) for a in actions)
    assert not any(
        a.startswith("sqs:") and a not in {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
        for a in actions
    )


def test_ingest_idempotency_table_and_admin_topic(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": c.IDEMPOTENCY_TABLE_NAME,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    )
    synth.template.has_resource_properties("AWS::SNS::Topic", {"TopicName": c.ADMIN_TOPIC_NAME})
    for state, fn in synth.stack.ingest.functions.items():
        env = synth.resources("AWS::Lambda::Function")[_logical_id(synth, fn)]["Properties"]["Environment"]
        assert {c.ENV_IDEMPOTENCY_TABLE, c.ENV_ADMIN_TOPIC_ARN, c.ENV_EVENT_BUS_NAME} <= set(env["Variables"]), state


def test_event_bus_and_prices_updated_rule(synth: Synth) -> None:
    synth.template.has_resource_properties("AWS::Events::EventBus", {"Name": c.EVENT_BUS_NAME})
    rules = synth.resources("AWS::Events::Rule")
    # (the other rule with a pattern is the drop folder's, on the default bus: its own test)
    (rule,) = [
        r
        for r in rules.values()
        if r["Properties"].get("EventPattern", {}).get("source") != ["aws.s3"] and "EventPattern" in r["Properties"]
    ]
    props = rule["Properties"]
    assert props["EventPattern"] == {"source": ["stockscreen.ingest"], "detail-type": ["prices.updated"]}
    target_arns = [t["Arn"] for t in props["Targets"]]
    alerts_id = _logical_id(synth, synth.stack.alerts.function)
    broadcast_id = _logical_id(synth, synth.stack.websocket.broadcast)
    assert {"Fn::GetAtt": [alerts_id, "Arn"]} in target_arns
    assert {"Fn::GetAtt": [broadcast_id, "Arn"]} in target_arns


# --- APIs ------------------------------------------------------------------------------------------


def test_websocket_api_routes(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
    )
    routes = {r["Properties"]["RouteKey"] for r in synth.resources("AWS::ApiGatewayV2::Route").values()}
    assert routes == {"$connect", "$disconnect", "$default", "subscribe", "unsubscribe"}
    synth.template.has_resource_properties("AWS::ApiGatewayV2::Stage", {"StageName": "ws"})
    handlers = {r["Properties"]["Handler"] for r in synth.resources("AWS::Lambda::Function").values()}
    assert {"handlers.connect", "handlers.disconnect", "handlers.default", "handlers.message"} <= handlers
    assert "handlers.broadcast" in handlers


def test_chalice_rest_api_and_function(synth: Synth) -> None:
    apis = synth.resources("AWS::Serverless::Api")
    assert len(apis) == 1
    api = next(iter(apis.values()))["Properties"]
    assert api["StageName"] == c.REST_API_STAGE == "api"
    assert api["Name"] == c.API_APP_NAME
    assert "/health" in api["DefinitionBody"]["paths"] or api["DefinitionBody"]["paths"]
    fns = synth.resources("AWS::Serverless::Function")
    assert len(fns) == 1
    props = next(iter(fns.values()))["Properties"]
    assert props["Handler"] == "app.app"
    assert props["Runtime"] == "python3.11"
    assert props["Layers"]
    assert props["VpcConfig"]["SubnetIds"]
    env = props["Environment"]["Variables"]
    assert {c.ENV_DATABASE_SECRET_ARN, c.ENV_REDIS_URL, c.ENV_EVENT_BUS_NAME, c.ENV_JWT_SECRET_ARN} <= set(env)
    role_id = _logical_id(synth, synth.stack.api.role)
    assert props["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_chalice_requirements_are_empty_so_synth_stays_offline(synth: Synth) -> None:
    from stockscreen_infra.api import requirements_packages

    assert requirements_packages(synth.api_source_dir) == [], (
        "functions/api/requirements.txt must stay empty: dependencies ship in the shared layer, "
        "and `chalice package` would download them at synth"
    )


# --- alerts ----------------------------------------------------------------------------------------


def test_alerts_queue_redrives_to_encrypted_dlq(synth: Synth) -> None:
    queues = synth.resources("AWS::SQS::Queue")
    dlq_id = _logical_id(synth, synth.stack.alerts.dlq)
    queue = queues[_logical_id(synth, synth.stack.alerts.queue)]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    for q in queues.values():
        assert q["Properties"].get("SqsManagedSseEnabled") is True


def test_ses_send_is_scoped_to_the_sender_identity_and_the_configuration_set(synth: Synth) -> None:
    ses = [st for _, st in _policy_statements(synth) if "ses:SendRawEmail" in _as_list(st["Action"])]
    assert len(ses) == 3  # the delivery function, the release of held messages, and the reports' Send
    for st in ses:
        assert _as_list(st["Action"]) == ["ses:SendRawEmail"]
        identity, config_set = _as_list(st["Resource"])
        assert "identity/noreply@example.com" in json.dumps(identity)
        assert f"configuration-set/{c.SES_CONFIGURATION_SET_NAME}" in json.dumps(config_set)
    assert not [st for _, st in _policy_statements(synth) if "ses:SendEmail" in _as_list(st["Action"])]
    synth.template.has_resource_properties("AWS::SES::EmailIdentity", {"EmailIdentity": c.DEFAULT_SES_SENDER})


def test_ses_configuration_set_suppresses_and_reports_bounces_and_complaints(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::SES::ConfigurationSet",
        {
            "Name": c.SES_CONFIGURATION_SET_NAME,
            "ReputationOptions": {"ReputationMetricsEnabled": True},
            "SendingOptions": {"SendingEnabled": True},
            "SuppressionOptions": {"SuppressedReasons": Match.array_with(["BOUNCE", "COMPLAINT"])},
        },
    )
    topic_id = _logical_id(synth, synth.stack.alerts.ses_events_topic)
    (dest,) = synth.resources("AWS::SES::ConfigurationSetEventDestination").values()
    d = dest["Properties"]["EventDestination"]
    assert d["Enabled"] is True and sorted(d["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert d["SnsDestination"] == {"TopicARN": {"Ref": topic_id}}
    suppression_id = _logical_id(synth, synth.stack.alerts.suppression)
    synth.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "lambda", "TopicArn": {"Ref": topic_id}, "Endpoint": {"Fn::GetAtt": [suppression_id, "Arn"]}},
    )
    fn = synth.resources("AWS::Lambda::Function")[suppression_id]["Properties"]
    assert fn["Handler"] == c.ALERTS_SES_EVENTS_HANDLER
    # the suppression function reads the database secret and nothing of SES, SNS, SQS or the WebSocket
    actions = _role_actions(synth, synth.stack.alerts.suppression.role)
    assert {a.split(":")[0] for a in actions} <= {"secretsmanager", "xray"}
    for fn_construct in synth.stack.alerts.delivery_functions:
        env = synth.resources("AWS::Lambda::Function")[_logical_id(synth, fn_construct)]["Properties"]["Environment"]
        assert env["Variables"][c.ENV_SES_CONFIGURATION_SET] == c.SES_CONFIGURATION_SET_NAME


def test_held_messages_are_released_on_a_schedule(synth: Synth) -> None:
    release_id = _logical_id(synth, synth.stack.alerts.release)
    fn = synth.resources("AWS::Lambda::Function")[release_id]["Properties"]
    assert fn["Handler"] == c.ALERTS_RELEASE_HANDLER and c.ENV_APP_BASE_URL in fn["Environment"]["Variables"]
    rules = [
        r["Properties"]
        for r in synth.resources("AWS::Events::Rule").values()
        if r["Properties"].get("ScheduleExpression") == c.ALERTS_RELEASE_SCHEDULE_EXPRESSION
    ]
    assert len(rules) == 1 and rules[0]["Targets"][0]["Arn"] == {"Fn::GetAtt": [release_id, "Arn"]}
    # the same grants as the delivery function, not more
    assert _role_actions(synth, synth.stack.alerts.release.role) - {
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    } == _role_actions(synth, synth.stack.alerts.delivery.role) - {
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }


def test_sms_publishing_cannot_reach_any_topic(synth: Synth) -> None:
    sms = [st for _, st in _policy_statements(synth) if "NotResource" in st]
    assert len(sms) == 2
    for st in sms:
        assert st["Action"] == "sns:Publish" and st["NotResource"] == "arn:aws:sns:*:*:*" and st["Effect"] == "Allow"


def test_the_admin_api_may_peek_and_redrive_the_delivery_dlq_only(synth: Synth) -> None:
    (fn,) = synth.resources("AWS::Serverless::Function").values()
    env = fn["Properties"]["Environment"]
    assert {c.ENV_ALERTS_DELIVERY_QUEUE_URL, c.ENV_ALERTS_DELIVERY_DLQ_URL} <= set(env["Variables"])
    actions = _role_actions(synth, synth.stack.api.role)
    sqs = {a for a in actions if a.startswith("sqs:")}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"} <= sqs
    assert "sqs:PurgeQueue" not in sqs


def test_delivery_function_consumes_the_delivery_queue_with_partial_batch_responses(synth: Synth) -> None:
    queue_id = _logical_id(synth, synth.stack.alerts.queue)
    delivery_id = _logical_id(synth, synth.stack.alerts.delivery)
    (mapping,) = synth.resources("AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert props["FunctionName"] == {"Ref": delivery_id}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == c.ALERTS_DELIVERY_BATCH_SIZE
    fn = synth.resources("AWS::Lambda::Function")[delivery_id]["Properties"]
    assert fn["Handler"] == c.ALERTS_DELIVERY_HANDLER and fn["Timeout"] == c.ALERTS_DELIVERY_TIMEOUT_SECONDS
    queue = synth.resources("AWS::SQS::Queue")[queue_id]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * fn["Timeout"]
    env = fn["Environment"]["Variables"]
    for name in (
        c.ENV_ALERTS_DELIVERY_QUEUE_URL,
        c.ENV_ALERTS_DELIVERY_DLQ_URL,
        c.ENV_ALERT_NOTIFICATIONS_TOPIC_ARN,
        c.ENV_SES_SENDER,
        c.ENV_IDEMPOTENCY_TABLE,
        c.ENV_ALERTS_UNSUBSCRIBE_SECRET_ARN,
        c.ENV_WS_MANAGEMENT_URL,
        c.ENV_APP_BASE_URL,
    ):
        assert name in env, name
    evaluator = synth.resources("AWS::Lambda::Function")[_logical_id(synth, synth.stack.alerts.function)]
    assert evaluator["Properties"]["Environment"]["Variables"][c.ENV_ALERTS_DELIVERY_QUEUE_URL] == {"Ref": queue_id}


def _role_actions(synth: Synth, role: Any) -> set[str]:
    role_id = _logical_id(synth, role)
    actions: set[str] = set()
    for res in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in res["Properties"]["Roles"]:
            for st in res["Properties"]["PolicyDocument"]["Statement"]:
                actions.update(_as_list(st["Action"]))
    return actions


def test_delivery_may_send_mail_post_to_connections_and_little_else(synth: Synth) -> None:
    actions = _role_actions(synth, synth.stack.alerts.delivery.role)
    services = {a.split(":")[0] for a in actions}
    # mail, connections, its topic, its queue (event source), idempotency records, its secrets, X-Ray
    assert services == {"ses", "execute-api", "sns", "sqs", "dynamodb", "secretsmanager", "xray"}
    assert {"ses:SendRawEmail", "execute-api:ManageConnections", "sns:Publish"} <= actions
    assert not any(a.startswith("sqs:Send") for a in actions)
    evaluator = _role_actions(synth, synth.stack.alerts.function.role)
    assert not any(a.startswith(("ses:", "execute-api:", "sns:")) for a in evaluator)  # it only queues firings
    assert "sqs:SendMessage" in evaluator


# --- IAM -------------------------------------------------------------------------------------------


def test_no_admin_statements(synth: Synth) -> None:
    for logical_id, st in _policy_statements(synth):
        actions = _as_list(st.get("Action", []))
        resources = _as_list(st.get("Resource", []))
        assert not ("*" in actions and "*" in resources), f"{logical_id}: {st}"
        assert not any(a.endswith(":*") and a != "logs:*" for a in actions if isinstance(a, str)) or (
            "*" not in resources
        ), f"{logical_id}: service-wide action on all resources: {st}"


def test_manage_connections_scoped_to_the_websocket_api(synth: Synth) -> None:
    ws_api_id = _logical_id(synth, synth.stack.websocket.api)
    found = [st for _, st in _policy_statements(synth) if "execute-api:ManageConnections" in _as_list(st["Action"])]
    assert found
    for st in found:
        for resource in _as_list(st["Resource"]):
            rendered = json.dumps(resource)
            assert rendered != '"*"'
            assert {"Ref": ws_api_id} in resource["Fn::Join"][1], rendered
            assert "/ws/*/@connections/*" in rendered
    broadcast_role = _logical_id(synth, synth.stack.websocket.broadcast.role)
    policies = synth.resources("AWS::IAM::Policy")
    assert any(
        {"Ref": broadcast_role} in p["Properties"]["Roles"]
        and any(
            "execute-api:ManageConnections" in _as_list(s["Action"])
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        )
        for p in policies.values()
    )


def test_connect_has_a_request_authorizer_that_lets_anonymous_connections_reach_it(synth: Synth) -> None:
    fn_id = _logical_id(synth, synth.stack.websocket.authorizer_function)
    (authorizer_id, authorizer), *more = synth.resources("AWS::ApiGatewayV2::Authorizer").items()
    assert more == []
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "REQUEST"
    # an always-present handshake header: a missing identity source would refuse anonymous connections
    assert props["IdentitySource"] == [c.WS_AUTHORIZER_IDENTITY_SOURCE] == ["route.request.header.Sec-WebSocket-Key"]
    assert fn_id in json.dumps(props["AuthorizerUri"])
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"] for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert routes["$connect"]["AuthorizationType"] == "CUSTOM"
    assert routes["$connect"]["AuthorizerId"] == {"Ref": authorizer_id}
    assert all(p.get("AuthorizationType", "NONE") == "NONE" for k, p in routes.items() if k != "$connect")
    handler = synth.resources("AWS::Lambda::Function")[fn_id]["Properties"]
    assert handler["Handler"] == c.WS_AUTHORIZER_HANDLER == "handlers.authorize"
    assert c.ENV_JWT_SECRET_ARN in handler["Environment"]["Variables"]
    perms = synth.resources("AWS::Lambda::Permission").values()
    assert any(
        p["Properties"]["FunctionName"] == {"Fn::GetAtt": [fn_id, "Arn"]}
        and p["Properties"]["Principal"] == "apigateway.amazonaws.com"
        for p in perms
    )


def test_jwt_secret_readable_only_by_api_and_ws_connect(synth: Synth) -> None:
    jwt_id = _logical_id(synth, synth.stack.secrets.jwt_secret)
    readers = set()
    for logical_id, res in synth.resources("AWS::IAM::Policy").items():
        for st in res["Properties"]["PolicyDocument"]["Statement"]:
            if {"Ref": jwt_id} in _as_list(st.get("Resource")):
                readers.update(r["Ref"] for r in res["Properties"]["Roles"])
    expected = {
        _logical_id(synth, synth.stack.api.role),
        _logical_id(synth, synth.stack.websocket.functions["handlers.connect"].role),
        _logical_id(synth, synth.stack.websocket.authorizer_function.role),
    }
    assert readers == expected


# --- data ------------------------------------------------------------------------------------------


def test_rds_postgres_encrypted_with_secret(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "Engine": "postgres",
            "EngineVersion": Match.string_like_regexp(r"^15"),
            "StorageEncrypted": True,
            "PubliclyAccessible": False,
            "MasterUserPassword": Match.any_value(),
        },
    )
    synth.template.resource_count_is("AWS::SecretsManager::SecretTargetAttachment", 1)


def test_redis_encrypted_in_transit(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {"TransitEncryptionEnabled": True, "AtRestEncryptionEnabled": True, "Engine": "redis"},
    )


def test_data_security_groups_only_allow_the_lambda_sg(synth: Synth) -> None:
    lambda_sg = _logical_id(synth, synth.stack.network.lambda_sg)
    ingress = synth.resources("AWS::EC2::SecurityGroupIngress")
    by_port = {r["Properties"]["FromPort"]: r["Properties"] for r in ingress.values()}
    for port in (c.DB_PORT, c.REDIS_PORT):
        assert by_port[port]["SourceSecurityGroupId"] == {"Fn::GetAtt": [lambda_sg, "GroupId"]}
    for sg in synth.resources("AWS::EC2::SecurityGroup").values():
        for rule in sg["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"


def test_no_plaintext_database_url(synth: Synth) -> None:
    for type_ in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
        for logical_id, res in synth.resources(type_).items():
            env = res["Properties"].get("Environment", {}).get("Variables", {})
            for forbidden in c.FORBIDDEN_ENV_VARS:
                assert forbidden not in env, logical_id
            for value in env.values():
                assert "postgres://" not in json.dumps(value) and "postgresql" not in json.dumps(value)


def test_vpc_two_azs_one_nat(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::EC2::NatGateway", 1)
    subnets = synth.resources("AWS::EC2::Subnet")
    assert len(subnets) == 6  # public, app, data x 2 AZs


# --- frontend --------------------------------------------------------------------------------------


def _distribution(synth: Synth) -> dict[str, Any]:
    (dist,) = synth.resources("AWS::CloudFront::Distribution").values()
    return dist["Properties"]["DistributionConfig"]  # type: ignore[no-any-return]


def test_cloudfront_behaviours(synth: Synth) -> None:
    config = _distribution(synth)
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(behaviours) == {"/api/*", "/ws"}
    api = behaviours["/api/*"]
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert api["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    origins = {o["Id"]: o for o in config["Origins"]}
    api_origin = json.dumps(origins[api["TargetOriginId"]]["DomainName"])
    assert _logical_id_of_chalice_api(synth) in api_origin
    assert "OriginPath" not in origins[api["TargetOriginId"]] or not origins[api["TargetOriginId"]]["OriginPath"]
    ws_origin = json.dumps(origins[behaviours["/ws"]["TargetOriginId"]]["DomainName"])
    assert _logical_id(synth, synth.stack.websocket.api) in ws_origin
    s3_origin = origins[config["DefaultCacheBehavior"]["TargetOriginId"]]
    assert s3_origin["OriginAccessControlId"]
    assert config["DefaultRootObject"] == "index.html"
    synth.template.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)


def _logical_id_of_chalice_api(synth: Synth) -> str:
    return next(iter(synth.resources("AWS::Serverless::Api")))


def test_spa_fallback_only_on_the_s3_behaviour(synth: Synth) -> None:
    config = _distribution(synth)
    # No distribution-wide 403/404 -> /index.html: it would also rewrite the API's 403/404 answers.
    assert not config.get("CustomErrorResponses")
    (assoc,) = config["DefaultCacheBehavior"]["FunctionAssociations"]
    assert assoc["EventType"] == "viewer-request"
    for b in config["CacheBehaviors"]:
        assert not b.get("FunctionAssociations")
    (fn,) = synth.resources("AWS::CloudFront::Function").values()
    assert "/index.html" in fn["Properties"]["FunctionCode"]


def test_security_headers_policy(synth: Synth) -> None:
    (policy,) = synth.resources("AWS::CloudFront::ResponseHeadersPolicy").values()
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = _joined(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    # connect-src: the own origin (its API and, under CSP Level 3, its own wss://host/ws) and the raw
    # bucket's (admins' uploads), never any host
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}
    assert directives["connect-src"] == ["'self'", "https://<ref>"]
    assert not any(src in ("ws:", "wss:", "*", "https:") for srcs in directives.values() for src in srcs)
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    config = _distribution(synth)
    assert config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]


def test_frontend_bucket_is_private(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            }
        },
    )
    policies = synth.resources("AWS::S3::BucketPolicy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in statements
    )


def test_bucket_deployment_when_dist_exists(synth: Synth) -> None:
    (deployment,) = synth.resources("Custom::CDKBucketDeployment").values()
    bucket_id = _logical_id(synth, synth.stack.frontend.bucket)
    assert deployment["Properties"]["DestinationBucketName"] == {"Ref": bucket_id}
    assert deployment["Properties"]["DistributionPaths"] == ["/*"]


def test_no_bucket_deployment_without_dist(tmp_path: Path) -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template
    from stockscreen_infra.frontend import Frontend

    stack = cdk.Stack(cdk.App(outdir=str(tmp_path / "out")), "FrontendOnly")
    Frontend(stack, "Frontend", rest_api_domain="a.example", ws_api_domain="b.example", dist_dir=tmp_path / "nope")
    Template.from_stack(stack).resource_count_is("Custom::CDKBucketDeployment", 0)


# --- observability & outputs -----------------------------------------------------------------------


def _alarms(synth: Synth) -> dict[str, dict[str, Any]]:
    return {**synth.resources("AWS::CloudWatch::Alarm"), **synth.resources("AWS::CloudWatch::CompositeAlarm")}


def _watching(synth: Synth, logical_id: str) -> list[dict[str, Any]]:
    """The alarms whose metrics name the resource (a Ref or GetAtt of its logical id)."""
    return [
        a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
        if f'"{logical_id}"' in json.dumps(a["Properties"])
    ]


def test_every_alarm_notifies_the_admin_topic_on_alarm_and_ok(synth: Synth) -> None:
    alarms = _alarms(synth)
    assert len(alarms) > 40
    topic = {"Ref": _logical_id(synth, synth.stack.alerts.topic)}
    rules = json.dumps(
        [a["Properties"]["AlarmRule"] for a in synth.resources("AWS::CloudWatch::CompositeAlarm").values()]
    )
    for logical_id, alarm in alarms.items():
        if f'"{logical_id}"' in rules:
            # one window of a burn-rate pair: only the composite (both windows) notifies
            assert "AlarmActions" not in alarm["Properties"], logical_id
            continue
        assert topic in alarm["Properties"]["AlarmActions"], logical_id
        assert topic in alarm["Properties"]["OKActions"], logical_id


@pytest.mark.parametrize(
    ("resource_type", "metrics"),
    [
        ("AWS::Lambda::Function", {"Errors", "Throttles", "Duration"}),
        ("AWS::SQS::Queue", None),
        ("AWS::StepFunctions::StateMachine", {"ExecutionsFailed", "ExecutionsTimedOut"}),
        ("AWS::DynamoDB::Table", {"SystemErrors", "ReadThrottleEvents", "WriteThrottleEvents"}),
    ],
)
def test_every_resource_of_each_kind_has_its_alarms(synth: Synth, resource_type: str, metrics: set[str] | None) -> None:
    resources = synth.resources(resource_type)
    assert resources, resource_type
    for logical_id in resources:
        watching = _watching(synth, logical_id)
        assert watching, f"{resource_type} {logical_id} has no alarm"
        if metrics:
            named = json.dumps(watching)
            assert all(f'"{m}"' in named for m in metrics), (logical_id, metrics)


def test_dead_letter_queues_alarm_on_the_first_message(synth: Synth) -> None:
    queues = synth.resources("AWS::SQS::Queue")
    dlqs = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    assert dlqs
    for dlq in dlqs:
        assert any(
            a.get("Threshold") == 0 and "ApproximateNumberOfMessagesVisible" in json.dumps(a)
            for a in _watching(synth, dlq)
        ), dlq


def test_the_parts_cdk_does_not_model_have_alarms(synth: Synth) -> None:
    """The Chalice handler and REST API, the WebSocket API, ElastiCache and RDS."""
    alarms = json.dumps([a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()])
    handler = next(iter(synth.resources("AWS::Serverless::Function")))
    assert any('"Errors"' in json.dumps(a) for a in _watching(synth, handler))
    assert '"5XXError"' in alarms and '"ExecutionError"' in alarms and '"IntegrationError"' in alarms
    redis = synth.stack.get_logical_id(synth.stack.cache.replication_group)
    assert any('"CacheClusterId"' in json.dumps(a) for a in _watching(synth, redis))
    assert synth.stack.database.instance is not None
    rds_id = _logical_id(synth, synth.stack.database.instance)
    assert any('"CPUUtilization"' in json.dumps(a) for a in _watching(synth, rds_id))


def test_alert_delivery_errors_alarm_watches_the_metric_the_delivery_function_emits(synth: Synth) -> None:
    import inspect

    from stockscreen.alerts import delivery
    from stockscreen.core.observability import metrics as emitter

    alarms = synth.resources("AWS::CloudWatch::Alarm").values()
    (errors,) = [a["Properties"] for a in alarms if a["Properties"].get("MetricName") == c.ALERT_DELIVERY_ERRORS_METRIC]
    assert errors["Namespace"] == c.METRICS_NAMESPACE
    assert errors["Dimensions"] == [{"Name": "service", "Value": c.METRICS_SERVICE}]
    assert f'name="{c.ALERT_DELIVERY_ERRORS_METRIC}"' in inspect.getsource(delivery)
    assert emitter.namespace == c.METRICS_NAMESPACE


def test_public_api_slos_have_multi_window_burn_rate_alarms(synth: Synth) -> None:
    composites = synth.resources("AWS::CloudWatch::CompositeAlarm")
    names = {c["Properties"]["AlarmName"] for c in composites.values()}
    assert names == {f"stockscreen-slo-{slo}-{w}" for slo in ("availability", "latency") for w in ("page", "ticket")}
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    for composite in composites.values():
        rule = json.dumps(composite["Properties"]["AlarmRule"])
        legs = [alarms[i]["Properties"] for i in alarms if f'"{i}"' in rule]
        assert len(legs) == 2 and " AND " in rule
        periods = sorted(m["MetricStat"]["Period"] for leg in legs for m in leg["Metrics"] if "MetricStat" in m)
        assert periods[0] < periods[-1]  # a short window and a long one
        thresholds = {leg["Threshold"] for leg in legs}
        assert len(thresholds) == 1
        burn = {"page": 14.4, "ticket": 6.0}[composite["Properties"]["AlarmName"].rsplit("-", 1)[1]]
        budget = 0.001 if "availability" in composite["Properties"]["AlarmName"] else 0.01
        assert thresholds.pop() == pytest.approx(burn * budget)
    assert "PR(:1000)" in json.dumps(alarms)


def test_saved_log_queries_cover_routes_latency_users_and_correlation(synth: Synth) -> None:
    queries = {q["Properties"]["Name"]: q["Properties"] for q in synth.resources("AWS::Logs::QueryDefinition").values()}
    assert set(queries) == {
        "stockscreen/errors-by-route",
        "stockscreen/slowest-requests",
        "stockscreen/one-user",
        "stockscreen/one-correlation-id",
    }
    assert "correlation_id" in queries["stockscreen/one-correlation-id"]["QueryString"]
    for q in queries.values():
        assert len(q["LogGroupNames"]) >= len(synth.resources("AWS::Lambda::Function")) // 2


def test_dashboards(synth: Synth) -> None:
    assert len(synth.resources("AWS::CloudWatch::Dashboard")) >= 1


def test_outputs(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    for key in (
        c.OUTPUT_CLOUDFRONT_URL,
        c.OUTPUT_REST_API_URL,
        c.OUTPUT_WEBSOCKET_URL,
        c.OUTPUT_STATE_MACHINE_ARN,
    ):
        assert key in outputs


def test_layer_is_x86_64_python311(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.11"], "CompatibleArchitectures": ["x86_64"]},
    )


def test_cdk_nag_has_no_unsuppressed_findings(synth: Synth) -> None:
    pytest.importorskip("cdk_nag")
    findings = [
        f"{m.id}: {str(m.entry.data).split(':')[0]}"
        for m in synth.messages
        if "AwsSolutions-" in str(m.entry.data) and m.level.name in ("ERROR", "WARNING")
    ]
    assert findings == [], "\n".join(findings)


def test_synth_has_no_side_effects_on_the_process(synth: Synth) -> None:
    assert synth.env_changes == {}
    assert synth.modules_changed == []


def _joined(value: Any) -> str:
    """A template string (plain or ``Fn::Join``), tokens shown as ``<ref>``."""
    if isinstance(value, str):
        return value
    sep, parts = value["Fn::Join"]
    return sep.join(p if isinstance(p, str) else "<ref>" for p in parts)


def test_drop_folder_rule_starts_the_state_machine_with_the_shared_input(synth: Synth) -> None:
    from stockscreen.pipeline.definition import DROP_INPUT_PATHS, DROP_PREFIX

    raw_id = _logical_id(synth, synth.stack.raw.bucket)
    sm_id = _logical_id(synth, synth.stack.ingest.state_machine)
    bucket = synth.resources("AWS::S3::Bucket")[raw_id]["Properties"]
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert not synth.resources("Custom::S3BucketNotifications")  # no custom resource (and its wide grant)
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (cors,) = bucket["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedMethods"] == ["POST"]
    (drop,) = [
        r["Properties"]
        for r in synth.resources("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.s3"]
    ]
    pattern = drop["EventPattern"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": raw_id}]
    assert pattern["detail"]["object"]["key"] == [{"prefix": DROP_PREFIX}]
    (target,) = drop["Targets"]
    assert target["Arn"] == {"Ref": sm_id} and "RoleArn" in target
    transformer = target["InputTransformer"]
    assert set(transformer["InputPathsMap"].values()) == set(DROP_INPUT_PATHS.values())
    template = json.loads(re.sub(r"<[\w-]+>", '"x"', transformer["InputTemplate"]))
    assert set(template) == {"run_id", "correlation_id", "source"} and set(template["source"]["s3"]) == {
        "bucket",
        "key",
    }
    # the S3 event's id is both the run id and the correlation id (the event is the edge)
    name = next(k for k, v in transformer["InputPathsMap"].items() if v == "$.id")
    compact = transformer["InputTemplate"].replace(" ", "")
    assert f'"run_id":<{name}>' in compact and f'"correlation_id":<{name}>' in compact


def _statements_of(synth: Synth, role: Any) -> list[dict[str, Any]]:
    role_id = _logical_id(synth, role)
    return [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_raw_bucket_grants_are_the_drop_folder_only(synth: Synth) -> None:
    raw_id = _logical_id(synth, synth.stack.raw.bucket)

    def on_raw(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in statements if raw_id in json.dumps(s["Resource"])]

    fetch = on_raw(_statements_of(synth, synth.stack.ingest.functions["Fetch"].role))
    assert fetch and all(
        not any(a.startswith("s3:Put") or a.startswith("s3:Delete") for a in _list(s["Action"])) for s in fetch
    )
    api = on_raw(_statements_of(synth, synth.stack.api.role))
    assert api and {a for s in api for a in _list(s["Action"])} <= {
        "s3:PutObject",
        "s3:PutObjectLegalHold",
        "s3:PutObjectRetention",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        "s3:Abort*",
    }
    for s in fetch + api:
        objects = [r for r in _list(s["Resource"]) if "Fn::Join" in r]
        assert objects and all(_joined(r).endswith("/incoming/*") for r in objects)
    # no other function touches the raw bucket
    others = [fn for state, fn in synth.stack.ingest.functions.items() if state != "Fetch"]
    assert all(not on_raw(_statements_of(synth, fn.role)) for fn in others)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_csp_allows_uploads_to_the_raw_bucket_only(synth: Synth) -> None:
    (policy,) = synth.resources("AWS::CloudFront::ResponseHeadersPolicy").values()
    csp = _joined(
        policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"][
            "ContentSecurityPolicy"
        ]
    )
    directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}
    assert directives["connect-src"] == ["'self'", "https://<ref>"]


def test_the_connection_registry_table_is_keyed_for_per_symbol_queries_with_a_ttl(synth: Synth) -> None:
    table = synth.stack.websocket.connections_table
    table_id = _logical_id(synth, table)
    props = synth.resources("AWS::DynamoDB::Table")[table_id]["Properties"]
    assert props["TableName"] == c.CONNECTIONS_TABLE_NAME
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "GlobalSecondaryIndexes" not in props  # every read is a Query on the table's own key

    # least privilege: who may touch the table, and with what; nobody scans it
    grants: dict[str, set[str]] = {}
    for logical_id, res in synth.resources("AWS::IAM::Policy").items():
        for st in res["Properties"]["PolicyDocument"]["Statement"]:
            resources = json.dumps(_as_list(st.get("Resource")))
            if table_id not in resources:
                continue
            assert all(table_id in json.dumps(r) and "index" not in json.dumps(r) for r in _as_list(st["Resource"]))
            for role in res["Properties"]["Roles"]:
                grants.setdefault(role["Ref"], set()).update(_as_list(st["Action"]))
    ws = synth.stack.websocket
    role = lambda fn: _logical_id(synth, fn.role)  # noqa: E731
    full = set(c.CONNECTIONS_READ_WRITE_ACTIONS)
    assert grants == {
        role(ws.functions["handlers.connect"]): {"dynamodb:BatchWriteItem"},
        role(ws.functions["handlers.disconnect"]): full,
        role(ws.functions["handlers.message"]): full,
        role(ws.functions["handlers.default"]): full,
        role(ws.broadcast): full,
        role(synth.stack.quotes.function): full,
        role(synth.stack.alerts.delivery): full,
    }
    assert not any("Scan" in a for actions in grants.values() for a in actions)
    functions = synth.resources("AWS::Lambda::Function")
    for fn in (
        ws.functions["handlers.connect"],
        ws.broadcast,
        synth.stack.quotes.function,
        synth.stack.alerts.delivery,
    ):
        env = functions[_logical_id(synth, fn)]["Properties"]["Environment"]["Variables"]
        assert env[c.ENV_CONNECTIONS_TABLE] == {"Ref": table_id}
    authorizer = functions[_logical_id(synth, ws.authorizer_function)]["Properties"]
    assert c.ENV_CONNECTIONS_TABLE not in authorizer.get("Environment", {}).get("Variables", {})


def test_the_api_reads_metrics_for_the_operations_page_and_nothing_else_of_cloudwatch(synth: Synth) -> None:
    (fn,) = synth.resources("AWS::Serverless::Function").values()
    env = fn["Properties"]["Environment"]["Variables"]
    assert env["OPERATIONS_METRICS_SOURCE"] == "cloudwatch"
    assert env["OPERATIONS_QUEUE_PREFIX"] == f"{synth.stack.stack_name}-"
    cloudwatch = [
        s
        for s in _statements_of(synth, synth.stack.api.role)
        if any(a.startswith("cloudwatch:") for a in _list(s["Action"]))
    ]
    assert len(cloudwatch) == 1
    assert set(_list(cloudwatch[0]["Action"])) == set(c.OPERATIONS_METRICS_ACTIONS)
    # the role may not write metrics, alarms or dashboards: reads without resource-level permissions only
    assert not {a for s in _statements_of(synth, synth.stack.api.role) for a in _list(s["Action"])} & {
        "cloudwatch:PutMetricData",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:*",
    }
