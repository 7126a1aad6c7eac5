"""Rules over Kubernetes objects: pods under Pod Security ``restricted``, images and service
accounts (:mod:`.pods`); namespaces, Helm releases and the labels that mirror the AWS tags
(:mod:`.objects`); what they share, and what the stack rules read too, in :mod:`.helpers`.

A rule sees an object's manifest as the engine receives it (``apiVersion``, ``kind``,
``metadata``, ``spec``). Where the pod template sits depends on the kind
(:data:`~.helpers.POD_SPEC_PATHS`): ``spec`` of a Pod, ``spec.template.spec`` of a Deployment,
StatefulSet, DaemonSet, ReplicaSet, ReplicationController or Job,
``spec.jobTemplate.spec.template.spec`` of a CronJob, ``template.spec`` of a PodTemplate,
``spec.jobTargetRef.template.spec`` of a KEDA ScaledJob, ``spec.template.spec`` of an Argo
Rollout; any other kind is searched for a pod spec by its shape. ``*Patch`` types are judged as
the object they produce, merged onto their target (:mod:`.patches`); bindings by the role they
name (:mod:`.rbac`); Ingresses and Services by what they expose (:mod:`.ingress`); Karpenter's
NodePools and EC2NodeClasses, and whether every pod has a node it may run on (:mod:`.capacity`).

A field that Kubernetes defaults to the insecure behaviour is a violation when it is
missing (``allowPrivilegeEscalation`` defaults to true, the seccomp profile to
``Unconfined``, the root filesystem to writable, the service-account token to mounted).
A field that defaults to the secure behaviour (``privileged``, ``hostNetwork``, a volume
without a source, which is an ``emptyDir``) is not. A value not known until the engine
creates something (``"[unknown]"``: an image URI from a repository created in the same
update, a pod template computed from outputs) makes the check not evaluable
(:class:`~..core.NotEvaluable`, with the property path): reported, never a silent pass.

Pods that genuinely need the host (the observability stack's node-exporter and Fluent Bit)
are rendered by their Helm charts into ``monitoring-host``, a namespace that enforces
``privileged`` while auditing and warning at ``restricted`` (MAAS-K8S-016 accepts exactly
that); they are not manifests of the plan. A manifest pod that needs the host is exempted
by name in ``maas:policy.exemptions`` with its reason, never by a weaker rule.

An agent's objects carry the labels :class:`~maas_platform.components.agent.AgentService`
sets (:data:`~.helpers.AGENT_LABELS`), which mirror the AWS tags of its resources:
``maas.dev/agent`` (tag ``agent``), ``maas.dev/team`` (``team``), ``maas.dev/cost-center``
(``cost-center``), ``maas.dev/environment`` (``environment``) and
``app.kubernetes.io/managed-by`` (``managed-by``). Fluent Bit ships the logs of pods labelled
``maas.dev/agent`` only, and the cost estimate (docs/cost.md) names an agent's and a team's
spend by these labels and tags, so a missing label loses logs and misattributes cost. Label
keys, Pod Security labels and type tokens come from :mod:`maas_platform.names`.

Framework ids: ``CIS EKS`` are those of the CIS Amazon EKS Benchmark v1.5.0 (4.1 RBAC and
service accounts, 4.2 Pod Security Standards, 4.5 general policies).

The rule modules are listed (and so registered) by :mod:`..catalog`.
"""
