"""Names that several modules must agree on, declared once.

Type tokens, labels, namespaces, in-cluster service addresses, the Pod Identity principal and
the restricted security context. Components use them to create things; the plan, the policy
rules, the cost estimate, the report and ``maas verify`` use them to recognise what was
created. A test (``tests/test_structure.py``) fails when a type token or a label key that
appears in more than one module of the package is written anywhere but here.

This module imports nothing from the package: every other module may import it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

# -- AWS resource types (pulumi-aws) ---------------------------------------------------------
ALB_LOAD_BALANCER = "aws:alb/loadBalancer:LoadBalancer"
BUDGETS_BUDGET = "aws:budgets/budget:Budget"
BUDGETS_BUDGET_ACTION = "aws:budgets/budgetAction:BudgetAction"
CLOUDWATCH_EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
CLOUDWATCH_EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
CLOUDWATCH_EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
CLOUDWATCH_LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CLOUDWATCH_LOG_STREAM = "aws:cloudwatch/logStream:LogStream"
CLOUDWATCH_METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COSTEXPLORER_ANOMALY_MONITOR = "aws:costexplorer/anomalyMonitor:AnomalyMonitor"
COSTEXPLORER_COST_ALLOCATION_TAG = "aws:costexplorer/costAllocationTag:CostAllocationTag"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
EBS_VOLUME = "aws:ebs/volume:Volume"
EC2_DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
EC2_DEFAULT_ROUTE_TABLE = "aws:ec2/defaultRouteTable:DefaultRouteTable"
EC2_DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
EC2_EGRESS_ONLY_INTERNET_GATEWAY = "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway"
EC2_EIP = "aws:ec2/eip:Eip"
EC2_FLOW_LOG = "aws:ec2/flowLog:FlowLog"
EC2_INSTANCE = "aws:ec2/instance:Instance"
EC2_INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
EC2_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
# Where a team stack may write configuration the credential rules read (policy.secrets).
ECS_TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
EC2_MAIN_ROUTE_TABLE_ASSOCIATION = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
EC2_NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EC2_NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
EC2_ROUTE = "aws:ec2/route:Route"
EC2_ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
EC2_ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
EC2_SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
EC2_SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
EC2_SUBNET = "aws:ec2/subnet:Subnet"
EC2_TAG = "aws:ec2/tag:Tag"
EC2_TRANSIT_GATEWAY = "aws:ec2/transitGateway:TransitGateway"
EC2_VPC = "aws:ec2/vpc:Vpc"
EC2_VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
EKS_ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
EKS_ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
EKS_ADDON = "aws:eks/addon:Addon"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_IDENTITY_PROVIDER_CONFIG = "aws:eks/identityProviderConfig:IdentityProviderConfig"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
IAM_INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
IAM_OPEN_ID_CONNECT_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_SERVICE_LINKED_ROLE = "aws:iam/serviceLinkedRole:ServiceLinkedRole"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
KMS_ALIAS = "aws:kms/alias:Alias"
KMS_GRANT = "aws:kms/grant:Grant"
# Bedrock (components/agent/bedrock.py): what the offline plan's fake cloud computes for them.
BEDROCK_INFERENCE_PROFILE = "aws:bedrock/inferenceProfile:InferenceProfile"
BEDROCK_GUARDRAIL = "aws:bedrock/guardrail:Guardrail"
BEDROCK_GUARDRAIL_VERSION = "aws:bedrock/guardrailVersion:GuardrailVersion"
BEDROCK_INVOCATION_LOGGING = "aws:bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration"
KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
LB_LISTENER = "aws:lb/listener:Listener"
LB_LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LB_TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
MQ_BROKER = "aws:mq/broker:Broker"
MSK_SERVERLESS_CLUSTER = "aws:msk/serverlessCluster:ServerlessCluster"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
S3_BUCKET_ACL_V2 = "aws:s3/bucketAclV2:BucketAclV2"
S3_BUCKET_CORS_CONFIGURATION = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration"
S3_BUCKET_LIFECYCLE_CONFIGURATION = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
S3_BUCKET_LIFECYCLE_CONFIGURATION_V2 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
S3_BUCKET_OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
S3_BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_BUCKET_VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
SECRETSMANAGER_SECRET = "aws:secretsmanager/secret:Secret"
SECRETSMANAGER_SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
SECRETSMANAGER_SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SNS_TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SQS_REDRIVE_ALLOW_POLICY = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
SQS_REDRIVE_POLICY = "aws:sqs/redrivePolicy:RedrivePolicy"
VPC_SECURITY_GROUP_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
VPC_SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
# Kinds the platform never creates and its rules still judge (a team stack may): the alb/ and
# elasticloadbalancing(v2)/ tokens are pulumi-aws aliases of lb/ and elb/; IAM users and their credentials.
ALB_LISTENER = "aws:alb/listener:Listener"
ALB_LISTENER_RULE = "aws:alb/listenerRule:ListenerRule"
ELB_LOAD_BALANCER = "aws:elb/loadBalancer:LoadBalancer"
ELB_LOAD_BALANCER_ALIAS = "aws:elasticloadbalancing/loadBalancer:LoadBalancer"
ELBV2_LISTENER = "aws:elasticloadbalancingv2/listener:Listener"
ELBV2_LISTENER_RULE = "aws:elasticloadbalancingv2/listenerRule:ListenerRule"
ELBV2_LOAD_BALANCER = "aws:elasticloadbalancingv2/loadBalancer:LoadBalancer"
LB_LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LAMBDA_FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
IAM_ACCESS_KEY = "aws:iam/accessKey:AccessKey"
IAM_GROUP_MEMBERSHIP = "aws:iam/groupMembership:GroupMembership"
IAM_SERVICE_SPECIFIC_CREDENTIAL = "aws:iam/serviceSpecificCredential:ServiceSpecificCredential"
IAM_SIGNING_CERTIFICATE = "aws:iam/signingCertificate:SigningCertificate"
IAM_SSH_KEY = "aws:iam/sshKey:SshKey"
IAM_USER = "aws:iam/user:User"
IAM_USER_GROUP_MEMBERSHIP = "aws:iam/userGroupMembership:UserGroupMembership"
IAM_USER_LOGIN_PROFILE = "aws:iam/userLoginProfile:UserLoginProfile"
IAM_USER_POLICIES_EXCLUSIVE = "aws:iam/userPoliciesExclusive:UserPoliciesExclusive"
IAM_USER_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive"

# -- Kubernetes resource types (pulumi-kubernetes) ---------------------------------------------
K8S_VALIDATING_ADMISSION_POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
K8S_VALIDATING_ADMISSION_POLICY_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
K8S_CUSTOM_RESOURCE_DEFINITION = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
K8S_DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
K8S_HORIZONTAL_POD_AUTOSCALER = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
K8S_CRON_JOB = "kubernetes:batch/v1:CronJob"
K8S_JOB = "kubernetes:batch/v1:Job"
K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_PERSISTENT_VOLUME_CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
K8S_POD = "kubernetes:core/v1:Pod"
K8S_REPLICATION_CONTROLLER = "kubernetes:core/v1:ReplicationController"
K8S_RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
K8S_SECRET = "kubernetes:core/v1:Secret"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
K8S_CLUSTER_SECRET_STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
K8S_EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
K8S_SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_CLUSTER_TRIGGER_AUTHENTICATION = "kubernetes:keda.sh/v1alpha1:ClusterTriggerAuthentication"
K8S_SCALED_JOB = "kubernetes:keda.sh/v1alpha1:ScaledJob"
K8S_SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
K8S_TRIGGER_AUTHENTICATION = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
K8S_POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
K8S_PROBE = "kubernetes:monitoring.coreos.com/v1:Probe"
K8S_PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
K8S_SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
K8S_INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
K8S_INGRESS_CLASS = "kubernetes:networking.k8s.io/v1:IngressClass"
K8S_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
K8S_POD_DISRUPTION_BUDGET = "kubernetes:policy/v1:PodDisruptionBudget"
K8S_CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
# Karpenter v1 (karpenter.sh: NodePool, NodeClaim; karpenter.k8s.aws: EC2NodeClass).
K8S_NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
K8S_EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
K8S_CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
K8S_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
K8S_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
K8S_PRIORITY_CLASS = "kubernetes:scheduling.k8s.io/v1:PriorityClass"
K8S_STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
# Argo Rollouts' and Kyverno's objects (components/agent/rollout.py, components/signatures.py).
K8S_ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
K8S_ANALYSIS_TEMPLATE = "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate"
K8S_IMAGE_VALIDATING_POLICY = "kubernetes:policies.kyverno.io/v1:ImageValidatingPolicy"

# -- the platform's own components -----------------------------------------------------------
MAAS_ADMISSION_POLICIES = "maas:admission:AdmissionPolicies"
MAAS_CLUSTER_ADDONS = "maas:addons:ClusterAddons"
MAAS_KARPENTER = "maas:karpenter:Karpenter"
MAAS_ARGO_ROLLOUTS = "maas:rollouts:ArgoRollouts"
MAAS_AGENT_SERVICE = "maas:agent:AgentService"
# The parts an AgentService is composed of.
MAAS_AGENT_IDENTITY = "maas:agent:AgentIdentity"
# One datastore part per storage kind the platform creates (an existing store, or none, has no part).
MAAS_AGENT_DYNAMODB_DATASTORE = "maas:agent:DynamoDBDatastore"
MAAS_AGENT_POSTGRES_DATASTORE = "maas:agent:PostgresDatastore"
MAAS_AGENT_S3_DATASTORE = "maas:agent:S3Datastore"
MAAS_AGENT_INBOX = "maas:agent:AgentInbox"
MAAS_AGENT_WORKLOAD = "maas:agent:AgentWorkload"
MAAS_AGENT_BEDROCK = "maas:agent:AgentBedrock"
# Bedrock's model invocation logging of the account and region (one per platform stack).
MAAS_BEDROCK_LOGGING = "maas:bedrock:BedrockLogging"

# -- an agent's lifecycle (``lifecycle`` of each agent in the ``agents`` output) ---------------
# active: deployed. retired (``retired: true``): workload, identity and queues gone; datastore,
# key, secrets and logs kept, protected. deletable (``delete_data: true`` on a retired agent):
# the kept resources unprotected, so that removing the agent from config deletes them.
AGENT_LIFECYCLE_ACTIVE = "active"
AGENT_LIFECYCLE_RETIRED = "retired"
AGENT_LIFECYCLE_DELETABLE = "deletable"
MAAS_BROKER = "maas:broker:Broker"
MAAS_BUDGETS = "maas:budgets:Budgets"
MAAS_CLUSTER = "maas:cluster:Cluster"
MAAS_PLATFORM_KEYS = "maas:encryption:PlatformKeys"
MAAS_PLATFORM = "maas:index:Platform"
MAAS_NETWORK = "maas:network:Network"
MAAS_NODE_POOLS = "maas:nodepools:NodePools"
MAAS_LLM_GATEWAY = "maas:llmgateway:LlmGateway"
MAAS_OBSERVABILITY_STACK = "maas:observability:ObservabilityStack"
# A team's deploy identity (maas:teams): its IAM role, EKS access and RBAC.
MAAS_TEAM_ACCESS = "maas:teams:TeamAccess"
# One flow of maas:flows: its SLO rules and dashboard (components/flows.py).
MAAS_FLOW_SLOS = "maas:flows:FlowSLOs"
# Kyverno and the image-signature verification it runs (components/signatures.py).
MAAS_SIGNATURE_VERIFIER = "maas:signatures:SignatureVerifier"

# -- the engine's own types ------------------------------------------------------------------
AWS_PROVIDER = "pulumi:providers:aws"
STACK = "pulumi:pulumi:Stack"
STACK_REFERENCE = "pulumi:pulumi:StackReference"

# -- other providers' types ------------------------------------------------------------------
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
TLS_PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
TLS_SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"

# -- labels and tags ---------------------------------------------------------------------------

AGENT_LABEL = "maas.dev/agent"
TEAM_LABEL = "maas.dev/team"
ENVIRONMENT_LABEL = "maas.dev/environment"
COST_CENTER_LABEL = "maas.dev/cost-center"
NODE_GROUP_LABEL = "maas.dev/node-group"
# Well-known node labels the scheduler and Karpenter use (kubernetes.io/arch; karpenter.sh/*).
ARCH_LABEL = "kubernetes.io/arch"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
NODE_POOL_LABEL = "karpenter.sh/nodepool"
# Nodes of the system node group carry this taint: only pods that tolerate it (Karpenter, CoreDNS,
# DaemonSets) run there, so the node group never fills with workloads.
SYSTEM_TAINT_KEY = "CriticalAddonsOnly"
# Node pools dedicated to agents carry this taint (value "agents", NoSchedule); agents' pods tolerate it.
DEDICATED_TAINT_KEY = "maas.dev/dedicated"
DEDICATED_TO_AGENTS = "agents"
# Subnets and security groups Karpenter's EC2NodeClass selects, tagged with the cluster's name.
KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
PART_OF = "maas"
MANAGED_BY = "pulumi"
# Grafana's dashboard sidecar loads ConfigMaps carrying this label.
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"

# The tag an agent's AWS resources carry with its name (cost allocation, budgets, verify).
AGENT_TAG = "agent"
TEAM_TAG = "team"
COST_CENTER_TAG = "cost-center"
ENVIRONMENT_TAG = "environment"
# The environment's prefix, and who manages the resource: set by the platform, never by a user.
PLATFORM_TAG = "platform"
MANAGED_BY_TAG = "managed-by"
# The tag keys activated for cost allocation (budgets filter on them; docs/cost.md activates them
# once per payer account, in this order).
COST_ALLOCATION_TAGS = (PLATFORM_TAG, ENVIRONMENT_TAG, TEAM_TAG, AGENT_TAG, COST_CENTER_TAG, MANAGED_BY_TAG)

# Pod Security Standards.
PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
PSS_AUDIT = "pod-security.kubernetes.io/audit"
PSS_WARN = "pod-security.kubernetes.io/warn"
RESTRICTED_NAMESPACE_LABELS: Mapping[str, str] = MappingProxyType({
    PSS_ENFORCE: "restricted",
    PSS_AUDIT: "restricted",
    PSS_WARN: "restricted",
})

# -- namespaces -------------------------------------------------------------------------------

SYSTEM_NAMESPACE = "maas-system"
MONITORING_NAMESPACE = "monitoring"
# prometheus-node-exporter and Fluent Bit: the only pods that need the host.
HOST_AGENTS_NAMESPACE = "monitoring-host"
EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
KEDA_NAMESPACE = "keda"
KARPENTER_NAMESPACE = "karpenter"
KUBE_SYSTEM_NAMESPACE = "kube-system"
CLOUDWATCH_NAMESPACE = "amazon-cloudwatch"
CERT_MANAGER_NAMESPACE = "cert-manager"
# The LLM gateway (components/llmgateway.py): the only pods that hold LLM providers' API keys.
LLM_GATEWAY_NAMESPACE = "llm-gateway"
# Argo Rollouts' controller (components/rollouts.py): agents' Rollouts and AnalysisTemplates need it.
ARGO_ROLLOUTS_NAMESPACE = "argo-rollouts"
# Kyverno, where maas:delivery.require_signatures verifies agents' images (components/signatures.py).
KYVERNO_NAMESPACE = "kyverno"
# Names no agent may take: its namespace would collide with the platform's.
RESERVED_NAMESPACES: frozenset[str] = frozenset({
    "default", SYSTEM_NAMESPACE, EXTERNAL_SECRETS_NAMESPACE, MONITORING_NAMESPACE, KEDA_NAMESPACE, CLOUDWATCH_NAMESPACE,
    KARPENTER_NAMESPACE, LLM_GATEWAY_NAMESPACE, ARGO_ROLLOUTS_NAMESPACE, KYVERNO_NAMESPACE,
})

# The SecretStore each namespace that reads Secrets Manager names (External Secrets).
SECRET_STORE = "aws-secrets-manager"
# External Secrets' controller: the only subject a team may bind to its namespace's token Role.
EXTERNAL_SECRETS_SERVICE_ACCOUNT = "external-secrets"
# The service account whose token External Secrets exchanges for the namespace's own role
# (AssumeRoleWithWebIdentity): a SecretStore can only ever act as its own namespace.
SECRET_SYNC_SERVICE_ACCOUNT = "secret-sync"
# The Kubernetes group a team's deploy role is mapped to (EKS access entry), "<prefix><team>".
TEAM_GROUP_PREFIX = "maas:team:"
# An agent's egress proxy: its pods' name label, its Service and its service account. An admission
# policy allows a 0.0.0.0/0 egress ipBlock only in a NetworkPolicy selecting pods with this name.
EGRESS_PROXY_NAME = "egress-proxy"
# The ClusterTriggerAuthentication agents' ScaledObjects reference (KEDA's own Pod Identity role).
KEDA_AWS_AUTHENTICATION = "keda-aws"
INGRESS_CLASS = "alb"

# -- in-cluster service addresses -------------------------------------------------------------

# Release names are the chart names, and the charts name their Services after the release.
KUBE_PROMETHEUS_STACK = "kube-prometheus-stack"
BLACKBOX_EXPORTER = "prometheus-blackbox-exporter"
OTEL_COLLECTOR_NAME = "otel-collector"  # the collector's fullnameOverride: the Service agents send to
OTEL_GRPC_PORT = 4317
OTEL_HTTP_PORT = 4318
OTEL_ENDPOINT = f"http://{OTEL_COLLECTOR_NAME}.{MONITORING_NAMESPACE}.svc:{OTEL_GRPC_PORT}"
OTEL_HTTP_ENDPOINT = f"http://{OTEL_COLLECTOR_NAME}.{MONITORING_NAMESPACE}.svc:{OTEL_HTTP_PORT}"
PROMETHEUS_URL = f"http://{KUBE_PROMETHEUS_STACK}-prometheus.{MONITORING_NAMESPACE}.svc:9090"
ALERTMANAGER_URL = f"http://{KUBE_PROMETHEUS_STACK}-alertmanager.{MONITORING_NAMESPACE}.svc:9093"
BLACKBOX_EXPORTER_ADDRESS = f"{BLACKBOX_EXPORTER}.{MONITORING_NAMESPACE}.svc:9115"
BLACKBOX_HTTP_MODULE = "http_2xx"
# The LLM gateway (LiteLLM's proxy, components/llmgateway.py): its namespace, its Service (the chart
# names it after the release, litellm-helm), and the per-agent metrics it exports on /metrics. The
# Prometheus counters litellm_spend_metric (USD) and litellm_total_tokens_metric carry the calling
# key's alias, which the platform sets to the agent's name (LiteLLM
# litellm/types/integrations/prometheus.py UserAPIKeyLabelNames.API_KEY_ALIAS and
# docs/proxy/prometheus.md "Virtual Keys, Teams, Internal Users"; checked 2026-12-03).
LLM_GATEWAY_SERVICE = "litellm-helm"
LLM_GATEWAY_POD_NAME = "litellm"  # app.kubernetes.io/name of the proxy's pods (the chart's nameOverride)
LLM_GATEWAY_PORT = 4000
LLM_GATEWAY_URL = f"http://{LLM_GATEWAY_SERVICE}.{LLM_GATEWAY_NAMESPACE}.svc:{LLM_GATEWAY_PORT}"
LLM_GATEWAY_SPEND_METRIC = "litellm_spend_metric_total"
LLM_GATEWAY_TOKENS_METRIC = "litellm_total_tokens_metric_total"
LLM_GATEWAY_AGENT_LABEL = "api_key_alias"
# An agent's gateway credential: one of its Secrets Manager secrets (<prefix>/agents/<agent>/llm-gateway-key),
# reaching its container as LLM_GATEWAY_KEY beside MAAS_LLM_GATEWAY_URL.
LLM_GATEWAY_KEY_SECRET = "llm-gateway-key"

# -- identity ---------------------------------------------------------------------------------

# EKS Pod Identity: the service principal roles trust, and the agent's link-local address.
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"
INSTANCE_METADATA_CIDR = "169.254.169.254/32"

# -- pods -------------------------------------------------------------------------------------

# The user and group every platform-built container runs as.
RUN_AS = 10001


def restricted_container_security_context() -> dict[str, object]:
    """Pod Security ``restricted`` for one container, as every platform-built container sets
    it: a fresh dict each call, to put in a manifest."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


RESTRICTED_CONTAINER_SECURITY_CONTEXT: Mapping[str, object] = MappingProxyType(restricted_container_security_context())

# -- golden-set probe -------------------------------------------------------------------------

# What maas_platform.probe publishes, per agent, to the Pushgateway (job PROBE_JOB, grouping key
# agent=<name>), and the accuracy SLO's recording rules read. Gauges of the last run: see the
# probe package's docstring for why gauges, not counters.
PROBE_JOB = "maas-probe"
PROBE_AGENT_LABEL = "agent"
PROBE_OUTCOME_LABEL = "outcome"
PROBE_CASE_LABEL = "case"
PROBE_OUTCOMES = ("pass", "fail", "error")  # right answer, wrong answer, no answer
PROBE_CASES_METRIC = "maas_probe_cases"  # {agent, outcome}: cases of the last run with that outcome
PROBE_CASE_DURATION_METRIC = "maas_probe_case_duration_seconds"  # {agent, case}: last run's latency
PROBE_RUN_DURATION_METRIC = "maas_probe_run_duration_seconds"
PROBE_LAST_RUN_METRIC = "maas_probe_last_run_timestamp_seconds"
PROBE_UP_METRIC = "maas_probe_up"  # 1: the run reached the agent; 0: it could not run
PROBE_MODEL_JUDGED_METRIC = "maas_probe_model_judged_cases"  # {agent, outcome}: of those, judged by a model
# The probe's pods carry app.kubernetes.io/name=PROBE_APP: the Pushgateway admits pushes from them
# alone, and the agent's network policy lets them reach its REST entry.
PROBE_APP = "maas-probe"
PUSHGATEWAY = "prometheus-pushgateway"
PUSHGATEWAY_PORT = 9091
PUSHGATEWAY_URL = f"http://{PUSHGATEWAY}.{MONITORING_NAMESPACE}.svc:{PUSHGATEWAY_PORT}"

# -- flows ------------------------------------------------------------------------------------

# A flow crosses agents (maas:flows). The entry agent stamps the envelope's ``flow`` and
# ``flow_started`` and counts FLOW_STARTED_METRIC{flow}; the flow's last agent counts
# FLOW_COMPLETED_METRIC{flow, outcome} and observes FLOW_DURATION_METRIC{flow} (seconds since
# flow_started). docs/metric-contract.md and docs/message-contract.md are the contract.
FLOW_LABEL = "flow"
FLOW_STARTED_METRIC = "maas_flow_started_total"
FLOW_COMPLETED_METRIC = "maas_flow_completed_total"
FLOW_DURATION_METRIC = "maas_flow_duration_seconds"
FLOW_OUTCOMES = ("success", "failure")

# The SLOs' error budget left over the whole window (Sloth's name), per slo and agent or flow: what
# dashboards show and the delivery pipeline's error-budget gate reads (maas error-budget).
SLO_BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"

# -- delivery: the agents' registries, signing keys and CI roles --------------------------------

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_REGISTRY_SCANNING_CONFIGURATION = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
INSPECTOR2_ENABLER = "aws:inspector2/enabler:Enabler"
MAAS_AGENT_REGISTRY = "maas:agent:AgentRegistry"
MAAS_DELIVERY = "maas:delivery:Delivery"
# The tag every agent's image-signing key carries: what a verifier's role (Kyverno) is scoped by.
IMAGE_SIGNING_TAG = "maas:purpose"
IMAGE_SIGNING_TAG_VALUE = "image-signing"
# GitHub Actions' OIDC issuer and the audience its tokens carry for AWS (aws-actions/configure-aws-credentials).
GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"


def repository_name(prefix: str, agent: str) -> str:
    """``<prefix>/<agent>``: the agent's ECR repository (its URL ``<account>.dkr.ecr.<region>.amazonaws.com/<name>``)."""
    return f"{prefix}/{agent}"


def ci_role_name(prefix: str, agent: str) -> str:
    """``<prefix>-<agent>-ci``: the role the agent's release workflow assumes to push and sign."""
    return f"{prefix}-{agent}-ci"


def image_signing_alias(prefix: str, agent: str) -> str:
    """``alias/<prefix>/<agent>/image-signing``: the alias cosign signs with (``awskms:///<alias>``)."""
    return f"alias/{prefix}/{agent}/image-signing"


def critical_finding_rule_name(prefix: str) -> str:
    """``<prefix>-critical-image-findings``: the EventBridge rule that sends critical findings to the alert topic."""
    return f"{prefix}-critical-image-findings"
