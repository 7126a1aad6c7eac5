"""One agent as a bounded context: :class:`AgentService` and the parts it is built from."""

from .datastore import Datastore, DatastoreArgs, ExistingDatastore, NoDatastore
from .identity import AgentIdentity, AgentIdentityArgs
from .inbox import AgentInbox, AgentInboxArgs
from .service import AgentService, AgentServiceArgs, check_agent
from .stores import DATASTORES, create_datastore
from .workload import AgentWorkload, AgentWorkloadArgs, image_pull_policy

__all__ = [
    "AgentIdentity", "AgentIdentityArgs", "AgentInbox", "AgentInboxArgs", "AgentService", "AgentServiceArgs",
    "AgentWorkload", "AgentWorkloadArgs", "DATASTORES", "Datastore", "DatastoreArgs", "ExistingDatastore",
    "NoDatastore", "check_agent", "create_datastore", "image_pull_policy",
]
