"""The task state machines' shared wiring (ingest, reports): the ASL from its one shared source with CDK only
filling the ``${XxxFunctionArn}`` placeholders, a log group of its own, X-Ray tracing, each task's function
invocable by the machine."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


def task_state_machine(
    scope: Construct,
    *,
    name: str,
    definition: str,
    functions: Mapping[str, lambda_.IFunction],
    tasks: Mapping[str, str],
    timeout: Duration,
    include_execution_data: bool,
) -> tuple[logs.LogGroup, sfn.StateMachine]:
    """The machine ``name`` (construct ids ``StateMachineLogs`` and ``StateMachine`` in ``scope``): ``tasks`` maps
    a state to its ARN placeholder in ``definition``, ``functions`` a state to the function that runs it."""
    log_group = logs.LogGroup(
        scope,
        "StateMachineLogs",
        log_group_name=f"/aws/vendedlogs/states/{name}",
        retention=logs.RetentionDays.THREE_MONTHS,
        removal_policy=RemovalPolicy.DESTROY,
    )
    machine = sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=name,
        definition_body=sfn.DefinitionBody.from_string(definition),
        definition_substitutions={placeholder: functions[state].function_arn for state, placeholder in tasks.items()},
        state_machine_type=sfn.StateMachineType.STANDARD,
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=include_execution_data
        ),
    )
    for fn in functions.values():
        fn.grant_invoke(machine)
    return log_group, machine
