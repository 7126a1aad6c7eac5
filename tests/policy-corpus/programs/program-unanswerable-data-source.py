# expect_exit: 3
"""A program reading a data source the offline plan cannot answer."""
import pulumi
import pulumi_aws as aws

cluster = aws.rds.get_cluster(cluster_identifier="orders")
pulumi.export("endpoint", cluster.endpoint)
