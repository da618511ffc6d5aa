"""Temporal errors are told apart by type, status code and status details, not by text.

The errors are built as the SDK builds them from what the servers answered (checked on
the time-skipping and the dev server): their messages are left meaningless on purpose.
"""

from __future__ import annotations

from google.protobuf.message import Message
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.errordetails.v1 import (
    MultiOperationExecutionFailure,
    NamespaceNotFoundFailure,
    NotFoundFailure,
)
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from escalator.temporal_errors import (
    ACCEPTED_UPDATE_COMPLETED_WORKFLOW,
    connect_failed,
    namespace_not_found,
    run_ended,
    update_busy,
)
from escalator.temporal_outage import unreachable_reason


def rpc(status: RPCStatusCode, detail: Message | None = None) -> RPCError:
    grpc = GrpcStatus(code=status.value, message="?")
    if detail is not None:
        grpc.details.add().Pack(detail)
    return RPCError("?", status, grpc.SerializeToString())


def update_failed(failure_type: str) -> WorkflowUpdateFailedError:
    return WorkflowUpdateFailedError(ApplicationError("?", type=failure_type))


def test_an_update_met_the_end_of_its_run() -> None:
    assert run_ended(rpc(RPCStatusCode.NOT_FOUND))
    assert run_ended(update_failed(ACCEPTED_UPDATE_COMPLETED_WORKFLOW))
    assert not run_ended(update_failed("Refused"))  # the workflow said no
    assert not run_ended(rpc(RPCStatusCode.UNAVAILABLE))
    assert not run_ended(RuntimeError("workflow execution already completed"))


def test_an_update_refused_for_now_is_waited_out_an_unreachable_server_is_not() -> None:
    multi_op = MultiOperationExecutionFailure()
    assert update_busy(rpc(RPCStatusCode.RESOURCE_EXHAUSTED))
    # An update-with-start whose update the server aborted: it answered, so it is there.
    assert update_busy(rpc(RPCStatusCode.UNAVAILABLE, multi_op))
    assert update_busy(rpc(RPCStatusCode.NOT_FOUND, multi_op))
    assert not update_busy(rpc(RPCStatusCode.UNAVAILABLE))  # no answer at all: fail fast
    assert not update_busy(rpc(RPCStatusCode.NOT_FOUND))
    assert not update_busy(rpc(RPCStatusCode.INVALID_ARGUMENT, multi_op))
    assert not update_busy(update_failed(ACCEPTED_UPDATE_COMPLETED_WORKFLOW))


def test_a_missing_namespace_is_not_a_missing_workflow() -> None:
    missing_namespace = rpc(RPCStatusCode.NOT_FOUND, NamespaceNotFoundFailure(namespace="x"))
    assert namespace_not_found(missing_namespace)
    assert unreachable_reason(missing_namespace) is not None
    missing_workflow = rpc(RPCStatusCode.NOT_FOUND, NotFoundFailure())
    assert not namespace_not_found(missing_workflow)
    assert unreachable_reason(missing_workflow) is None


def test_a_failed_first_connection_is_only_known_by_its_message() -> None:
    refused = RuntimeError("Failed client connect: tcp connect error: Connection refused")
    assert connect_failed(refused) and unreachable_reason(refused) == "connection refused"
    assert not connect_failed(RuntimeError("something else"))
