"""Prints, as JSON, every resource of the kinds the stacks create that a moto_server holds.

Usage: python3 moto-inventory.py http://127.0.0.1:PORT

It asks through the AWS APIs moto serves (boto3 comes with moto). The deploy suite takes
one inventory before the apply and one after the destroy: anything in the second and not
in the first was left behind. moto's own /moto-api/data.json cannot serve here: it fails
once a Lambda function was created without Docker.
"""

import json
import sys

import boto3

URL = sys.argv[1]
AWS_MANAGED_POLICY = "arn:aws:iam::aws:policy/"


def client(service):
    return boto3.client(
        service,
        endpoint_url=URL,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def pages(service, operation, key, **kwargs):
    paginator = client(service).get_paginator(operation)
    return [item for page in paginator.paginate(**kwargs) for item in page.get(key, [])]


def ec2():
    c = client("ec2")
    return {
        "vpcs": [v["VpcId"] for v in c.describe_vpcs()["Vpcs"]],
        "subnets": [s["SubnetId"] for s in c.describe_subnets()["Subnets"]],
        "security_groups": [g["GroupId"] for g in c.describe_security_groups()["SecurityGroups"]],
        "route_tables": [r["RouteTableId"] for r in c.describe_route_tables()["RouteTables"]],
        "vpc_endpoints": [e["VpcEndpointId"] for e in c.describe_vpc_endpoints()["VpcEndpoints"] if e["State"] != "deleted"],
        "flow_logs": [f["FlowLogId"] for f in c.describe_flow_logs()["FlowLogs"]],
    }


def iam():
    return {
        "roles": [r["RoleName"] for r in pages("iam", "list_roles", "Roles")],
        "policies": [p["Arn"] for p in pages("iam", "list_policies", "Policies", Scope="Local")],
    }


def kms():
    c = client("kms")
    aliases = pages("kms", "list_aliases", "Aliases")
    # A key behind an `alias/aws/...` name is AWS-managed: the account's, not a stack's (moto
    # makes one on first use of the alias, e.g. by the RDS-managed master secret, and labels it
    # a customer key). A destroyed stack's own key waits out its deletion window.
    aws_managed = {a.get("TargetKeyId") for a in aliases if a["AliasName"].startswith("alias/aws/")}
    keys = [c.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in pages("kms", "list_keys", "Keys")]
    live = [
        k["KeyId"]
        for k in keys
        if k["KeyId"] not in aws_managed and k.get("KeyManager") != "AWS" and k["KeyState"] != "PendingDeletion"
    ]
    return {"keys": live, "aliases": [a["AliasName"] for a in aliases if not a["AliasName"].startswith("alias/aws/")]}


def apigateway():
    c = client("apigateway")
    return {
        "rest_apis": [a["id"] for a in c.get_rest_apis()["items"]],
        "api_keys": [k["id"] for k in c.get_api_keys()["items"]],
        "usage_plans": [p["id"] for p in c.get_usage_plans()["items"]],
    }


def inventory():
    return {
        "ec2": ec2(),
        "iam": iam(),
        "kms": kms(),
        "s3": {"buckets": [b["Name"] for b in client("s3").list_buckets()["Buckets"]]},
        "secretsmanager": {"secrets": [s["Name"] for s in pages("secretsmanager", "list_secrets", "SecretList")]},
        "rds": {
            "clusters": [c["DBClusterIdentifier"] for c in client("rds").describe_db_clusters()["DBClusters"]],
            "instances": [i["DBInstanceIdentifier"] for i in client("rds").describe_db_instances()["DBInstances"]],
            "subnet_groups": [g["DBSubnetGroupName"] for g in client("rds").describe_db_subnet_groups()["DBSubnetGroups"]],
            "cluster_parameter_groups": [
                g["DBClusterParameterGroupName"]
                for g in client("rds").describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
                if not g["DBClusterParameterGroupName"].startswith("default.")
            ],
        },
        "elasticache": {
            "replication_groups": [g["ReplicationGroupId"] for g in client("elasticache").describe_replication_groups()["ReplicationGroups"]],
            "subnet_groups": [
                g["CacheSubnetGroupName"]
                for g in client("elasticache").describe_cache_subnet_groups()["CacheSubnetGroups"]
                if g["CacheSubnetGroupName"] != "default"
            ],
        },
        "kinesis": {"streams": client("kinesis").list_streams()["StreamNames"]},
        "sns": {"topics": [t["TopicArn"] for t in pages("sns", "list_topics", "Topics")]},
        "sqs": {"queues": client("sqs").list_queues().get("QueueUrls", [])},
        "lambda": {
            "functions": [f["FunctionName"] for f in pages("lambda", "list_functions", "Functions")],
            "event_source_mappings": [m["UUID"] for m in pages("lambda", "list_event_source_mappings", "EventSourceMappings")],
        },
        "pipes": {"pipes": [p["Name"] for p in client("pipes").list_pipes()["Pipes"]]},
        "apigateway": apigateway(),
        "logs": {"log_groups": [g["logGroupName"] for g in pages("logs", "describe_log_groups", "logGroups")]},
        "cloudwatch": {"alarms": [a["AlarmName"] for a in pages("cloudwatch", "describe_alarms", "MetricAlarms")]},
        "dms": {
            "replication_tasks": [t["ReplicationTaskIdentifier"] for t in client("dms").describe_replication_tasks()["ReplicationTasks"]],
            "replication_instances": [
                i["ReplicationInstanceIdentifier"] for i in client("dms").describe_replication_instances()["ReplicationInstances"]
            ],
            "endpoints": [e["EndpointIdentifier"] for e in client("dms").describe_endpoints()["Endpoints"]],
            "subnet_groups": [
                g["ReplicationSubnetGroupIdentifier"]
                for g in client("dms").describe_replication_subnet_groups()["ReplicationSubnetGroups"]
            ],
        },
    }


if __name__ == "__main__":
    print(json.dumps(inventory(), sort_keys=True))
