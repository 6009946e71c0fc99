"""``devstack.motofast``: moto's DynamoDB Query reading one partition answers as moto's own does.

Random tables (partitions of many sizes, sort keys that share prefixes, items with and without the
filtered attribute) and every shape of Query the code sends and then some: the key alone, a sort-key
condition, a filter, a projection, descending order, and pages (``Limit`` and ``ExclusiveStartKey``)
followed to the end. Each answer is taken with the patch and without it, on the same table.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack import motofast


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        rng = random.Random(7)
        for p in range(40):
            for i in range(rng.choice([0, 1, 2, 5, 30, 120])):
                item = {"pk": {"S": f"CONN#{p}"}, "sk": {"S": rng.choice(["SYM#", "META", "SYM#A"]) + str(i)}}
                if rng.random() < 0.6:
                    item["expires_at"] = {"N": str(rng.randrange(100))}
                client.put_item(TableName="t", Item=item)
        yield client
    motofast.uninstall()


def _pages(client: Any, **kw: Any) -> list[list[dict[str, Any]]]:
    pages = []
    while True:
        page = client.query(TableName="t", **kw)
        pages.append([page["Items"], page.get("LastEvaluatedKey"), page["Count"], page["ScannedCount"]])
        if "LastEvaluatedKey" not in page:
            return pages
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


QUERIES: list[dict[str, Any]] = [
    {},
    {"Limit": 7},
    {"Limit": 1, "ScanIndexForward": False},
    {"ScanIndexForward": False},
    {"ProjectionExpression": "sk, expires_at"},
    {"FilterExpression": "expires_at > :t", "values": {":t": {"N": "50"}}, "Limit": 9},
    {"KeyCondition": "begins_with(sk, :s)", "values": {":s": {"S": "SYM#A"}}},
    {"KeyCondition": "sk BETWEEN :a AND :b", "values": {":a": {"S": "META"}, ":b": {"S": "SYM#5"}}, "Limit": 4},
]


@pytest.mark.parametrize("query", QUERIES)
def test_a_partitions_query_answers_as_motos_own(ddb: Any, query: dict[str, Any]) -> None:
    answers: dict[bool, list[Any]] = {}
    for patched in (False, True):
        motofast.install() if patched else motofast.uninstall()
        got = []
        for p in (0, 3, 11, 39, 99):  # 99: a partition with no item
            q = {k: v for k, v in query.items() if k not in ("KeyCondition", "values")}
            cond = "pk = :pk" + (f" AND {query['KeyCondition']}" if "KeyCondition" in query else "")
            values = {":pk": {"S": f"CONN#{p}"}, **query.get("values", {})}
            got.append(_pages(ddb, KeyConditionExpression=cond, ExpressionAttributeValues=values, **q))
        answers[patched] = got
    assert answers[True] == answers[False]
    assert any(page[0] for pages in answers[True] for page in pages)  # (the queries find items)


def test_the_table_gains_no_partition_and_scans_are_untouched(ddb: Any) -> None:
    motofast.install()
    before = ddb.scan(TableName="t")["Items"]
    ddb.query(TableName="t", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "NOPE"}})
    after = ddb.scan(TableName="t")["Items"]
    assert after == before and len(before) > 100


def test_a_query_compares_the_partitions_items_not_the_tables(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the patch is for: the attribute comparisons of one Query grow with its partition, not the table."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    calls = [0]
    for name in ("__eq__", "__lt__"):
        original = getattr(DynamoType, name)

        def counted(self: Any, other: Any, original: Any = original) -> Any:
            calls[0] += 1
            return original(self, other)

        monkeypatch.setattr(DynamoType, name, counted)
    items = ddb.scan(TableName="t")["Items"]
    total, pk = len(items), min(i["pk"]["S"] for i in items)  # a partition that has items
    key = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": pk}}}
    counts = {}
    for patched in (False, True):
        motofast.install() if patched else motofast.uninstall()
        calls[0] = 0
        found = ddb.query(TableName="t", **key)["Count"]
        counts[patched] = calls[0]
    assert found > 0
    assert counts[False] > total > 20 * found  # moto's own: the whole table sorted and compared
    assert counts[True] < 10 * found + 10  # the partition's items sorted
