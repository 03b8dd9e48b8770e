"""The network path to the cluster: the caller's address, the default VPC, the security group
and its ingress rule (ensure and teardown)."""

from __future__ import annotations

import ipaddress
import urllib.parse
import urllib.request
from collections.abc import Callable

from sparkify.errors import ConfigError
from sparkify.infra.calls import Aws, InfraError, call, one_line
from sparkify.infra.plan import TAG, Change, Spec, is_sparkifys, not_sparkifys

IP_LOOKUP_URL = "https://checkip.amazonaws.com"
"""Answers with the caller's public IPv4 address, one line of text."""

# -- the caller's address -------------------------------------------------------------------------


def normalize_cidr(text: str) -> str:
    """``1.2.3.4`` -> ``1.2.3.4/32``; a range keeps its prefix. Raises ConfigError when not an address."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError as exc:
        raise ConfigError(
            f"Invalid --cidr {text!r}: expected an address or range such as 203.0.113.7/32."
        ) from exc


def is_world(cidr: str) -> bool:
    """True for ``0.0.0.0/0`` and ``::/0``: every address on the internet."""
    return ipaddress.ip_network(cidr, strict=False).prefixlen == 0


def caller_cidr(fetch: Callable[[str, float], str] | None = None, timeout: float = 5.0) -> str:
    """The caller's public address as ``a.b.c.d/32``, asked of :data:`IP_LOOKUP_URL`.

    ``fetch(url, timeout)`` returns the response text (injectable for tests). Any failure is a
    ConfigError telling the user to pass --cidr.
    """

    def _urlopen(url: str, seconds: float) -> str:
        with urllib.request.urlopen(url, timeout=seconds) as response:
            return response.read(64).decode("ascii", "replace")

    try:
        text = (fetch or _urlopen)(IP_LOOKUP_URL, timeout).strip()
        address = ipaddress.ip_address(text)
    except (OSError, ValueError) as exc:
        reason = one_line(str(exc)) or type(exc).__name__
        raise ConfigError(
            f"Could not find your public IP address ({IP_LOOKUP_URL}: {reason}). Pass --cidr with the "
            "address you connect from, e.g. --cidr 203.0.113.7/32."
        ) from exc
    return f"{address}/{address.max_prefixlen}"


def default_vpc(aws: Aws) -> str | None:
    """The id of the region's default VPC, where sparkify launches the cluster; None when there is none."""
    found = call(
        aws.ec2,
        "describe_vpcs",
        f"the default VPC of {aws.region}",
        Filters=[{"Name": "is-default", "Values": ["true"]}],
    )
    vpcs = found.get("Vpcs", [])
    return vpcs[0]["VpcId"] if vpcs else None


def _require_default_vpc(aws: Aws) -> str:
    vpc = default_vpc(aws)
    if vpc is None:
        raise InfraError(
            f"Region {aws.region} has no default VPC, where sparkify launches the cluster. Create one with "
            f"`aws ec2 create-default-vpc --region {aws.region}`, or use another --region."
        )
    return vpc


def find_group(aws: Aws, spec: Spec, vpc: str | None) -> dict | None:
    """The security group ``spec`` names (an ``sg-`` id anywhere, else a name in ``vpc``), or None."""
    what = f"security group {spec.group_name}"
    if spec.group_name.startswith("sg-"):
        found = call(
            aws.ec2,
            "describe_security_groups",
            what,
            missing=("InvalidGroup.NotFound",),
            GroupIds=[spec.group_name],
        )
    elif vpc is None:
        return None
    else:
        found = call(
            aws.ec2,
            "describe_security_groups",
            what,
            Filters=[
                {"Name": "group-name", "Values": [spec.group_name]},
                {"Name": "vpc-id", "Values": [vpc]},
            ],
        )
    groups = (found or {}).get("SecurityGroups", [])
    return groups[0] if groups else None


def ensure_security_group(aws: Aws, spec: Spec, *, dry_run: bool = False) -> Change:
    """Create sparkify's security group in the default VPC, or find the one ``--security-group`` names.

    The change's ``ref`` is the group id (None in a dry run that would create it). Raises
    NotSparkifysError when sparkify's group name is taken by a group without sparkify's tag, and
    InfraError when a named group does not exist. Safe to run twice.
    """
    vpc = _require_default_vpc(aws)
    group = find_group(aws, spec, vpc)
    what = f"security group {spec.group_name}"
    if not spec.owns_group:
        if group is None:
            raise InfraError(
                f"Security group {spec.group_name} not found in {aws.region} (default VPC {vpc}). Check the "
                "name or id, or drop --security-group to let sparkify create its own."
            )
        return Change(
            "security group",
            f"{group['GroupName']} ({group['GroupId']})",
            "keep",
            "yours: sparkify only adds its rule",
            ref=group["GroupId"],
        )
    if group is not None:
        if not is_sparkifys(group.get("Tags")):
            raise not_sparkifys(what, "--security-group")
        return Change(
            "security group",
            f"{group['GroupName']} ({group['GroupId']})",
            "keep",
            f"in default VPC {vpc}",
            ref=group["GroupId"],
        )
    group_id = None
    if not dry_run:
        created = call(
            aws.ec2,
            "create_security_group",
            what,
            GroupName=spec.group_name,
            Description="Who may connect to sparkify's Redshift cluster. Managed by sparkify.",
            VpcId=vpc,
            TagSpecifications=[
                {"ResourceType": "security-group", "Tags": [TAG, {"Key": "Name", "Value": spec.group_name}]}
            ],
        )
        group_id = created["GroupId"]
    return Change("security group", spec.group_name, "create", f"in default VPC {vpc}", ref=group_id)


def ingress_rules(aws: Aws, group_id: str, port: int) -> list[dict]:
    found = call(
        aws.ec2,
        "describe_security_group_rules",
        f"the rules of security group {group_id}",
        Filters=[{"Name": "group-id", "Values": [group_id]}],
    )
    return [
        r
        for r in found.get("SecurityGroupRules", [])
        if not r.get("IsEgress")
        and r.get("IpProtocol") == "tcp"
        and r.get("FromPort") == port
        and r.get("ToPort") == port
    ]


def rule_cidr(rule: dict) -> str:
    return (
        rule.get("CidrIpv4")
        or rule.get("CidrIpv6")
        or rule.get("ReferencedGroupInfo", {}).get("GroupId", "?")
    )


def ensure_ingress(aws: Aws, spec: Spec, group_id: str | None, *, dry_run: bool = False) -> Change:
    """Open the cluster port to ``spec.cidr`` in the group, with a rule tagged as sparkify's.

    A rule for the same port and range that already exists (sparkify's or not) is kept. Safe to run twice.
    """
    if not spec.cidr:
        raise ConfigError("No --cidr: say who may connect to the cluster, e.g. --cidr 203.0.113.7/32.")
    if group_id is not None:
        for rule in ingress_rules(aws, group_id, spec.port):
            if rule_cidr(rule) == spec.cidr:
                owner = "" if is_sparkifys(rule.get("Tags")) else "; not sparkify's, down leaves it"
                return Change(
                    "ingress rule",
                    spec.rule_name,
                    "keep",
                    f"on {group_id}{owner}",
                    ref=rule["SecurityGroupRuleId"],
                )
    detail = f"on {group_id or spec.group_name}" + ("; the whole internet" if is_world(spec.cidr) else "")
    rule_id = None
    if not dry_run:
        assert group_id is not None
        family = "Ipv6Ranges" if ":" in spec.cidr else "IpRanges"
        key = "CidrIpv6" if ":" in spec.cidr else "CidrIp"
        added = call(
            aws.ec2,
            "authorize_security_group_ingress",
            f"security group {group_id}",
            GroupId=group_id,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": spec.port,
                    "ToPort": spec.port,
                    family: [{key: spec.cidr, "Description": "Redshift access, managed by sparkify"}],
                }
            ],
            TagSpecifications=[{"ResourceType": "security-group-rule", "Tags": [TAG]}],
        )
        rules = added.get("SecurityGroupRules") or [{}]
        rule_id = rules[0].get("SecurityGroupRuleId")
    return Change("ingress rule", spec.rule_name, "create", detail, ref=rule_id)


def teardown_ingress(aws: Aws, spec: Spec, *, dry_run: bool = False) -> list[Change]:
    """Revoke sparkify's rules (those tagged as sparkify's) on the cluster port, then delete the
    security group if it is sparkify's own. Rules and groups without the tag are left alone. Run it
    after the cluster is gone: a group in use cannot be deleted. Safe to run twice.
    """
    vpc = default_vpc(aws) if not spec.group_name.startswith("sg-") else None
    group = find_group(aws, spec, vpc)
    if group is None:
        return [Change("security group", spec.group_name, "absent")]
    gid = group["GroupId"]
    label = f"{group['GroupName']} ({gid})"
    changes = []
    ours = []
    for rule in ingress_rules(aws, gid, spec.port):
        name = f"tcp {spec.port} from {rule_cidr(rule)}"
        if is_sparkifys(rule.get("Tags")):
            ours.append(rule["SecurityGroupRuleId"])
            changes.append(Change("ingress rule", name, "delete", f"on {gid}"))
        else:
            changes.append(Change("ingress rule", name, "skip", f"on {gid}; not sparkify's: left alone"))
    if ours and not dry_run:
        call(
            aws.ec2,
            "revoke_security_group_ingress",
            f"security group {label}",
            GroupId=gid,
            SecurityGroupRuleIds=ours,
        )
    if not spec.owns_group:
        changes.append(Change("security group", label, "skip", "yours: only sparkify's rules are removed"))
    elif not is_sparkifys(group.get("Tags")):
        changes.append(
            Change(
                "security group",
                label,
                "skip",
                f"not sparkify's (no tag {TAG['Key']}={TAG['Value']}): left alone",
            )
        )
    else:
        if not dry_run:
            # The cluster's network interfaces can outlive it by a minute or two.
            call(
                aws.ec2,
                "delete_security_group",
                f"security group {label}",
                GroupId=gid,
                retry_if=lambda code, _: code == "DependencyViolation",
            )
        changes.append(Change("security group", label, "delete"))
    return changes
