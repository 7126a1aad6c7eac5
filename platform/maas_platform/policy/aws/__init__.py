"""Rules over AWS resources, one module per area: :mod:`.encryption` (MAAS-SEC), :mod:`.exposure`
(MAAS-NET), :mod:`.edge` (MAAS-NET-010..: load balancers, Lambda URLs and permissions), :mod:`.iam`
(MAAS-IAM), :mod:`.identity` (MAAS-IAM-006..: IAM users, federated trusts, cluster admins),
:mod:`.logs` (MAAS-LOG), :mod:`.recovery` (MAAS-REL) and :mod:`.tags` (MAAS-TAG-0xx), with what
they share in :mod:`.helpers`.

Each rule reads the inputs the engine receives (camelCase, as in the plan JSON). Four
conventions hold for all of them:

* a property that is missing, and that AWS then defaults to the insecure value, is a
  violation (an SQS queue without ``kmsMasterKeyId`` is encrypted with an AWS key, or not
  at all);
* a value known only after apply (``"[unknown]"``: the ARN of a key created in the same
  update, as ``pulumi preview`` sends it) that decides the verdict makes the check not
  evaluable (:class:`~..core.NotEvaluable`, naming the property): reported, advisory, never
  a silent pass. A value that cannot change the verdict is not reported (a key that is
  missing is a violation whether encryption ends up on or off);
* rules over several resources (a bucket and its public access block, a VPC and its flow
  log, a queue and its dead-letter queue) are stack rules; they match resources by the
  names the engine sees (bucket name, queue name, parameter group name), never by
  position;
* type tokens, tag keys and the Pod Identity principal come from :mod:`maas_platform.names`.

Framework ids: ``CIS AWS`` is the CIS Amazon Web Services Foundations Benchmark v3.0.0,
``CIS EKS`` the CIS Amazon EKS Benchmark v1.5.0, ``SOC 2`` the 2017 Trust Services
Criteria, ``NIST 800-53`` revision 5.

The rule modules are listed (and so registered) by :mod:`..catalog`; this package only
names the functions other packages read.
"""

from .iam import SCOPELESS_ACTIONS, is_scopeless
from .tags import is_taggable

__all__ = ["SCOPELESS_ACTIONS", "is_scopeless", "is_taggable"]
