"""The whole of sparkify's AWS side at once: :func:`up` ensures role, security group, ingress
rule and cluster in order; :func:`status` says what exists; :func:`settings_for` gives the
sparkify.toml keys that use it."""

from __future__ import annotations

from collections.abc import Callable

from sparkify.infra.calls import Aws, call
from sparkify.infra.cluster import (
    describe_cluster,
    endpoint_of,
    ensure_cluster,
    warehouse_url,
)
from sparkify.infra.iam import ensure_role, policy_reads
from sparkify.infra.network import (
    default_vpc,
    ensure_ingress,
    ensure_security_group,
    find_group,
    ingress_rules,
    rule_cidr,
)
from sparkify.infra.plan import POLICY_NAME, Change, Spec, Status, is_sparkifys


def up(aws: Aws, spec: Spec, *, password: Callable[[], str], dry_run: bool = False) -> list[Change]:
    """Ensure the role, security group, ingress rule and cluster, in that order; return the four changes.

    With ``dry_run`` nothing is changed and the changes say what would be done. Does not wait for the
    cluster: see :func:`wait_for_cluster`.
    """
    role = ensure_role(aws, spec, dry_run=dry_run)
    group = ensure_security_group(aws, spec, dry_run=dry_run)
    rule = ensure_ingress(aws, spec, group.ref, dry_run=dry_run)
    cluster = ensure_cluster(
        aws, spec, role_arn=role.ref, group_id=group.ref, password=password, dry_run=dry_run
    )
    return [role, group, rule, cluster]


# -- status ---------------------------------------------------------------------------------------


def _owner(tags: list[dict] | None) -> str:
    return "sparkify" if is_sparkifys(tags) else "not sparkify"


def status(aws: Aws, spec: Spec) -> list[Status]:
    """What exists of the role, security group, ingress rules and cluster ``spec`` names. Changes nothing."""
    rows = []
    found = call(
        aws.iam, "get_role", f"IAM role {spec.role_name}", missing=("NoSuchEntity",), RoleName=spec.role_name
    )
    if found is None:
        rows.append(Status("IAM role", spec.role_name, "absent", ""))
    else:
        tags = call(aws.iam, "list_role_tags", f"IAM role {spec.role_name}", RoleName=spec.role_name)["Tags"]
        policy = call(
            aws.iam,
            "get_role_policy",
            f"IAM role {spec.role_name}",
            missing=("NoSuchEntity",),
            RoleName=spec.role_name,
            PolicyName=POLICY_NAME,
        )
        reads = policy_reads(policy["PolicyDocument"]) if policy else "no sparkify S3 policy"
        rows.append(
            Status(
                "IAM role",
                spec.role_name,
                "present",
                _owner(tags),
                f"reads {reads}",
                ref=found["Role"]["Arn"],
            )
        )
    vpc = default_vpc(aws) if not spec.group_name.startswith("sg-") else None
    group = find_group(aws, spec, vpc)
    if group is None:
        rows.append(Status("security group", spec.group_name, "absent", ""))
    else:
        gid = group["GroupId"]
        rows.append(
            Status(
                "security group",
                f"{group['GroupName']} ({gid})",
                "present",
                _owner(group.get("Tags")),
                f"VPC {group.get('VpcId', '?')}",
            )
        )
        rules = ingress_rules(aws, gid, spec.port)
        for rule in rules:
            rows.append(
                Status(
                    "ingress rule",
                    f"tcp {spec.port} from {rule_cidr(rule)}",
                    "open",
                    _owner(rule.get("Tags")),
                    f"on {gid}",
                )
            )
        if not rules:
            rows.append(Status("ingress rule", f"tcp {spec.port}", "absent", "", f"nothing open on {gid}"))
    cluster = describe_cluster(aws, spec.cluster_id)
    if cluster is None:
        rows.append(Status("cluster", spec.cluster_id, "absent", ""))
    else:
        parts = [
            f"database {cluster.get('DBName')}, user {cluster.get('MasterUsername')}",
            f"{cluster.get('NodeType')} x{cluster.get('NumberOfNodes')}",
            "encrypted" if cluster.get("Encrypted") else "NOT encrypted",
            "public" if cluster.get("PubliclyAccessible") else "private",
        ]
        rows.append(
            Status(
                "cluster",
                spec.cluster_id,
                cluster.get("ClusterStatus", "?"),
                _owner(cluster.get("Tags")),
                "; ".join(parts),
                ref=endpoint_of(cluster),
            )
        )
    return rows


def settings_for(aws: Aws, cluster: dict, role_arn: str) -> dict[str, str]:
    """The sparkify.toml keys that let ``sparkify run`` use the cluster with nothing more."""
    return {"warehouse": warehouse_url(cluster), "iam_role": role_arn, "region": aws.region}
