"""What a Temporal error means for the caller, read from its type and status code.

Callers retry an update that met the end of a run, wait out one Temporal refused
for now, and tell people when the namespace or the server is not there. Each of
those is decided here from the exception class, the gRPC status code, the
status details or the failure type; the one case where Temporal gives nothing but
a message is ``connect_failed``.
"""

from __future__ import annotations

from google.protobuf.message import Message
from temporalio.api.errordetails.v1 import MultiOperationExecutionFailure, NamespaceNotFoundFailure
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

__all__ = [
    "ACCEPTED_UPDATE_COMPLETED_WORKFLOW",
    "connect_failed",
    "namespace_not_found",
    "run_ended",
    "update_busy",
]

# The server's failure type for an update it had accepted when the run closed
# (completed, or continued as new) before the handler answered.
ACCEPTED_UPDATE_COMPLETED_WORKFLOW = "AcceptedUpdateCompletedWorkflow"


def _detail_is(err: RPCError, detail: type[Message]) -> bool:
    """The status details the server attached say what kind of failure this is."""
    details = err.grpc_status.details
    return bool(details) and details[0].TypeName() == detail.DESCRIPTOR.full_name


def run_ended(err: BaseException) -> bool:
    """The run an update was addressed to closed before it answered (completed, continued
    as new, terminated, or never was): the workflow id may have a newer run to ask.

    NOT_FOUND on both servers, whichever way the run closed; the dev server says
    ``AcceptedUpdateCompletedWorkflow`` instead when it had accepted the update."""
    if isinstance(err, RPCError):
        return err.status == RPCStatusCode.NOT_FOUND
    if isinstance(err, WorkflowUpdateFailedError):
        cause = err.cause
        return (
            isinstance(cause, ApplicationError) and cause.type == ACCEPTED_UPDATE_COMPLETED_WORKFLOW
        )
    return False


def update_busy(err: BaseException) -> bool:
    """Temporal refused an update (or an update-with-start) for now; wait and ask again.

    RESOURCE_EXHAUSTED: the workflow has as many updates in flight as Temporal admits
    (about 10), or its run is closing. The update operation of an update-with-start
    aborted by the server (UNAVAILABLE), or by the run closing under it (NOT_FOUND):
    the server answered the multi-operation, so it is reachable. An unreachable server is
    UNAVAILABLE too, but not inside a multi-operation answer: that must fail fast."""
    if not isinstance(err, RPCError):
        return False
    if err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return True
    aborted = err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.NOT_FOUND)
    return aborted and _detail_is(err, MultiOperationExecutionFailure)


def namespace_not_found(err: BaseException) -> bool:
    """The namespace does not exist (a missing workflow is NOT_FOUND as well)."""
    if not isinstance(err, RPCError) or err.status != RPCStatusCode.NOT_FOUND:
        return False
    return _detail_is(err, NamespaceNotFoundFailure)


def connect_failed(err: BaseException) -> bool:
    """The client's first connection failed.

    By message: the SDK raises a plain ``RuntimeError("Failed client connect: ...")`` for
    it (temporalio 1.35), with no type or code of its own to tell it from other errors."""
    return isinstance(err, RuntimeError) and str(err).lower().startswith("failed client connect")
