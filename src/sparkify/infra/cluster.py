"""The Redshift cluster: describe, ensure, wait until available, teardown; its endpoint and the
warehouse URL that reaches it."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sparkify.infra.calls import Aws, InfraError, call, translate
from sparkify.infra.plan import DEFAULT_PORT, TAG, Change, Spec, is_sparkifys, not_sparkifys

POLL_SECONDS = 30
"""Seconds between two looks at a cluster that is being created or deleted."""

FAILED_STATES = {
    "hardware-failure",
    "incompatible-hsm",
    "incompatible-network",
    "incompatible-parameters",
    "incompatible-restore",
    "storage-full",
}
"""Cluster states that will not become ``available`` by waiting."""


def describe_cluster(aws: Aws, cluster_id: str) -> dict | None:
    """The cluster's description (as DescribeClusters gives it), or None when there is no such cluster."""
    found = call(
        aws.redshift,
        "describe_clusters",
        f"Redshift cluster {cluster_id}",
        missing=("ClusterNotFound",),
        ClusterIdentifier=cluster_id,
    )
    clusters = (found or {}).get("Clusters", [])
    return clusters[0] if clusters else None


def _iam_role_not_ready(code: str, message: str) -> bool:
    # A role created seconds ago may not be visible to Redshift yet (IAM is eventually consistent).
    return code == "InvalidParameterValue" and "role" in message.lower()


def ensure_cluster(
    aws: Aws,
    spec: Spec,
    *,
    role_arn: str | None,
    group_id: str | None,
    password: Callable[[], str],
    dry_run: bool = False,
) -> Change:
    """Create the encrypted, tagged Redshift cluster (not public unless ``spec.public``), or make sure an
    existing sparkify cluster has the role and security group attached. Does not wait (see
    :func:`wait_for_cluster`) and never resizes an existing cluster. Safe to run twice.

    ``password()`` is called only when the cluster is created. Raises NotSparkifysError when a
    cluster of that name exists without sparkify's tag.
    """
    rs, cid = aws.redshift, spec.cluster_id
    what = f"Redshift cluster {cid}"
    cluster = describe_cluster(aws, cid)
    shape = f"{spec.node_type} x{spec.nodes}"
    if cluster is None:
        detail = (
            f"{shape}, database {spec.db_name}, user {spec.master_user}, port {spec.port}, encrypted, "
            + ("public" if spec.public else "private")
        )
        if not dry_run:
            assert role_arn is not None and group_id is not None
            secret = password()
            params: dict[str, Any] = {
                "ClusterIdentifier": cid,
                "NodeType": spec.node_type,
                "ClusterType": "single-node" if spec.nodes == 1 else "multi-node",
                "DBName": spec.db_name,
                "MasterUsername": spec.master_user,
                "MasterUserPassword": secret,
                "Port": spec.port,
                "IamRoles": [role_arn],
                "VpcSecurityGroupIds": [group_id],
                "PubliclyAccessible": spec.public,
                "Encrypted": True,
                "Tags": [TAG],
            }
            if spec.nodes > 1:
                params["NumberOfNodes"] = spec.nodes
            call(rs, "create_cluster", what, retry_if=_iam_role_not_ready, redact=(secret,), **params)
        return Change("cluster", cid, "create", detail)
    if not is_sparkifys(cluster.get("Tags")):
        raise not_sparkifys(what, "--cluster-id")
    state = cluster.get("ClusterStatus", "?")
    if state in ("deleting", "final-snapshot"):
        raise InfraError(
            f"{what} is being deleted. Wait until `sparkify infra status` no longer shows it, then run "
            "`sparkify infra up` again."
        )
    updated = []
    attached_roles = [r.get("IamRoleArn") for r in cluster.get("IamRoles", [])]
    if role_arn is None or role_arn not in attached_roles:
        updated.append(f"attach role {spec.role_name}")
        if not dry_run:
            call(rs, "modify_cluster_iam_roles", what, ClusterIdentifier=cid, AddIamRoles=[role_arn])
    groups = [g.get("VpcSecurityGroupId") for g in cluster.get("VpcSecurityGroups", [])]
    if group_id is None or group_id not in groups:
        updated.append(f"add security group {spec.group_name}")
        if not dry_run:
            call(rs, "modify_cluster", what, ClusterIdentifier=cid, VpcSecurityGroupIds=[*groups, group_id])
    differs = [
        f"{label} {have} (asked {want})"
        for label, have, want in (
            ("node type", cluster.get("NodeType"), spec.node_type),
            ("nodes", cluster.get("NumberOfNodes"), spec.nodes),
            ("public", cluster.get("PubliclyAccessible"), spec.public),
            ("port", (cluster.get("Endpoint") or {}).get("Port"), spec.port),
        )
        if have is not None and have != want
    ]
    note = "; differs from the options, left as is: " + ", ".join(differs) if differs else ""
    if updated:
        detail = "; ".join(updated) + f" (now {state})" + note
        return Change("cluster", cid, "update", detail, ref=endpoint_of(cluster))
    detail = f"{state}, {cluster.get('NodeType')} x{cluster.get('NumberOfNodes')}" + note
    return Change("cluster", cid, "keep", detail, ref=endpoint_of(cluster))


def endpoint_of(cluster: dict) -> str | None:
    """``host:port`` of a described cluster, or None before it has an address."""
    endpoint = cluster.get("Endpoint") or {}
    if not endpoint.get("Address"):
        return None
    return f"{endpoint['Address']}:{endpoint.get('Port', DEFAULT_PORT)}"


# -- waiting --------------------------------------------------------------------------------------


def wait_for_cluster(
    aws: Aws,
    cluster_id: str,
    *,
    deleted: bool = False,
    timeout: float = 30 * 60,
    delay: float | None = None,
    on_poll: Callable[[str, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict | None:
    """Wait until the cluster is available (or, with ``deleted``, gone); return its description
    (None when deleted).

    Uses boto3's ``cluster_available`` / ``cluster_deleted`` waiters one attempt at a time, so
    ``on_poll(state, seconds_elapsed)`` can report progress between attempts. Raises InfraError when
    the waiter reaches a failure state, the cluster enters a state waiting cannot fix, or ``timeout``
    seconds pass; the cluster itself is left as it is. Ctrl-C (KeyboardInterrupt) propagates: stopping
    the wait changes nothing in AWS.
    """
    from botocore.exceptions import WaiterError

    delay = POLL_SECONDS if delay is None else delay
    waiter = aws.redshift.get_waiter("cluster_deleted" if deleted else "cluster_available")
    goal = "deleted" if deleted else "available"
    what = f"Redshift cluster {cluster_id}"
    started = clock()
    while True:
        try:
            waiter.wait(ClusterIdentifier=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
            return None if deleted else describe_cluster(aws, cluster_id)
        except WaiterError as exc:
            response = exc.last_response or {}
            error = response.get("Error") or {}
            clusters = response.get("Clusters") or [{}]
            state = clusters[0].get(
                "ClusterStatus", "not there yet" if error.get("Code") == "ClusterNotFound" else "?"
            )
            if error and error.get("Code") != "ClusterNotFound":
                from botocore.exceptions import ClientError

                raise translate(
                    ClientError(response, "DescribeClusters"),
                    action="redshift:DescribeClusters",
                    resource=what,
                    region=aws.region,
                ) from exc
            if state == "paused" and not deleted:
                raise InfraError(
                    f"{what} is paused. Resume it (aws redshift resume-cluster --cluster-identifier {cluster_id} "
                    f"--region {aws.region}) and run `sparkify infra up` again."
                ) from exc
            if "terminal failure" in str(exc) or state in FAILED_STATES:
                raise InfraError(
                    f"{what} is {state!r} and will not become {goal} by waiting. See it in the Redshift "
                    f"console for {aws.region}; `sparkify infra down` removes it."
                ) from exc
        elapsed = clock() - started
        if on_poll is not None:
            on_poll(state, elapsed)
        if elapsed + delay > timeout:
            again = "sparkify infra down" if deleted else "sparkify infra up"
            raise InfraError(
                f"{what} is still {state!r} after {elapsed / 60:.0f} min (--timeout). AWS carries on: run "
                f"`{again}` again to keep waiting, or `sparkify infra status` to look."
            )
        sleep(delay)


# -- teardown_*: remove what sparkify made --------------------------------------------------------


def teardown_cluster(
    aws: Aws, spec: Spec, *, final_snapshot: bool = True, dry_run: bool = False, now: datetime | None = None
) -> Change:
    """Delete sparkify's cluster, after a final snapshot unless ``final_snapshot`` is False. Does not
    wait (see :func:`wait_for_cluster` with ``deleted=True``). A cluster without sparkify's tag is
    left alone (action ``skip``). Safe to run twice.
    """
    cid = spec.cluster_id
    cluster = describe_cluster(aws, cid)
    if cluster is None:
        return Change("cluster", cid, "absent")
    if not is_sparkifys(cluster.get("Tags")):
        return Change(
            "cluster", cid, "skip", f"not sparkify's (no tag {TAG['Key']}={TAG['Value']}): left alone"
        )
    if cluster.get("ClusterStatus") in ("deleting", "final-snapshot"):
        return Change("cluster", cid, "delete", "already being deleted")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    snapshot = f"{cid}-final-{stamp}"
    detail = f"final snapshot {snapshot}" if final_snapshot else "no final snapshot: its data is lost"
    if not dry_run:
        params: dict[str, Any] = {"ClusterIdentifier": cid, "SkipFinalClusterSnapshot": not final_snapshot}
        if final_snapshot:
            params["FinalClusterSnapshotIdentifier"] = snapshot
        call(aws.redshift, "delete_cluster", f"Redshift cluster {cid}", **params)
    return Change("cluster", cid, "delete", detail, ref=snapshot if final_snapshot else None)


def warehouse_url(cluster: dict) -> str:
    """``redshift://USER@HOST:PORT/DB`` for a described cluster. Never holds a password."""
    endpoint = cluster.get("Endpoint") or {}
    if not endpoint.get("Address"):
        raise InfraError(f"Redshift cluster {cluster.get('ClusterIdentifier')} has no endpoint yet.")
    user = urllib.parse.quote(cluster["MasterUsername"], safe="")
    db = urllib.parse.quote(cluster.get("DBName") or "dev", safe="")
    return f"redshift://{user}@{endpoint['Address']}:{endpoint.get('Port', DEFAULT_PORT)}/{db}"
