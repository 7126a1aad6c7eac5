# secure: true
"""A role policy written with the aws.iam.get_policy_document data source: explicit actions on
the table the program creates."""
import json

import kit
import pulumi
import pulumi_aws as aws

key = kit.key("orders-key")
table = aws.dynamodb.Table("orders", billing_mode="PAY_PER_REQUEST", hash_key="id", attributes=[{"name": "id", "type": "S"}],
                           point_in_time_recovery={"enabled": True},
                           server_side_encryption={"enabled": True, "kms_key_arn": key.arn}, tags=kit.TAGS)
trust = aws.iam.get_policy_document(statements=[{
    "effect": "Allow", "actions": ["sts:AssumeRole", "sts:TagSession"],
    "principals": [{"type": "Service", "identifiers": ["pods.eks.amazonaws.com"]}],
    "conditions": [
        {"test": "StringEquals", "variable": "aws:RequestTag/kubernetes-namespace", "values": [kit.AGENT]},
        {"test": "StringEquals", "variable": "aws:RequestTag/kubernetes-service-account", "values": [kit.AGENT]},
        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["123456789012"]},
    ]}])
role = aws.iam.Role("worker", assume_role_policy=trust.json, tags=kit.TAGS)
access = aws.iam.get_policy_document_output(statements=[{
    "effect": "Allow", "actions": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], "resources": [table.arn]}])
aws.iam.RolePolicy("worker-table", role=role.id, policy=access.json)
pulumi.export("role", role.arn)
