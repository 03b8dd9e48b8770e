"""The IAM role Redshift reads S3 through: its trust and read policies, ensure and teardown."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from sparkify.infra.calls import Aws, call
from sparkify.infra.plan import POLICY_NAME, TAG, Change, Spec, is_sparkifys, not_sparkifys

# -- policies -------------------------------------------------------------------------------------


def trust_policy() -> dict:
    """The role's trust policy: only Amazon Redshift may assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "redshift.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def s3_read_policy(buckets: tuple[str, ...], *, all_buckets: bool = False, partition: str = "aws") -> dict:
    """Read-only access for COPY: list and locate the bucket(s), get their objects. Nothing else.

    See https://docs.aws.amazon.com/redshift/latest/mgmt/authorizing-redshift-service.html
    """
    if all_buckets:
        bucket_arns: list[str] = ["*"]
        object_arns: list[str] = ["*"]
    else:
        bucket_arns = [f"arn:{partition}:s3:::{b}" for b in buckets]
        object_arns = [f"{arn}/*" for arn in bucket_arns]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListSourceBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": bucket_arns,
            },
            {
                "Sid": "ReadSourceObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": object_arns,
            },
        ],
    }


def _document(doc: Any) -> Any:
    """A policy document as a dict, whether boto3 decoded it or left it URL-encoded JSON."""
    if isinstance(doc, str):
        return json.loads(urllib.parse.unquote(doc))
    return doc


def _same_policy(a: Any, b: Any) -> bool:
    return json.dumps(_document(a), sort_keys=True) == json.dumps(_document(b), sort_keys=True)


def ensure_role(aws: Aws, spec: Spec, *, dry_run: bool = False) -> Change:
    """Create the IAM role Redshift assumes to read the source bucket(s), or bring an existing
    sparkify role's trust and S3 policies in line with ``spec``. Safe to run twice.

    Raises NotSparkifysError when a role of that name exists without sparkify's tag.
    """
    iam, name = aws.iam, spec.role_name
    what = f"IAM role {name}"
    trust = trust_policy()
    access = s3_read_policy(spec.buckets, all_buckets=spec.all_buckets, partition=aws.partition)
    detail = f"assumable by redshift.amazonaws.com; reads {spec.reads}"
    found = call(iam, "get_role", what, missing=("NoSuchEntity",), RoleName=name)
    if found is None:
        arn = None
        if not dry_run:
            created = call(
                iam,
                "create_role",
                what,
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description="Lets Amazon Redshift read sparkify's source data from S3. Managed by sparkify.",
                Tags=[TAG],
            )
            arn = created["Role"]["Arn"]
            _put_read_policy(iam, what, name, access)
        return Change("IAM role", name, "create", detail, ref=arn)
    role = found["Role"]
    tags = call(iam, "list_role_tags", what, RoleName=name)["Tags"]
    if not is_sparkifys(tags):
        raise not_sparkifys(what, "--role-name")
    updated = []
    if not _same_policy(role["AssumeRolePolicyDocument"], trust):
        updated.append("trust policy")
        if not dry_run:
            call(iam, "update_assume_role_policy", what, RoleName=name, PolicyDocument=json.dumps(trust))
    current = call(
        iam, "get_role_policy", what, missing=("NoSuchEntity",), RoleName=name, PolicyName=POLICY_NAME
    )
    if current is None or not _same_policy(current["PolicyDocument"], access):
        updated.append(f"S3 policy ({spec.reads})")
        if not dry_run:
            _put_read_policy(iam, what, name, access)
    if updated:
        return Change("IAM role", name, "update", "set " + " and ".join(updated), ref=role["Arn"])
    return Change("IAM role", name, "keep", detail, ref=role["Arn"])


def _put_read_policy(iam: Any, what: str, name: str, access: dict) -> None:
    """Set the role's inline S3 read policy (:data:`POLICY_NAME`) to ``access``."""
    call(
        iam, "put_role_policy", what, RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(access)
    )


def teardown_role(aws: Aws, spec: Spec, *, dry_run: bool = False) -> Change:
    """Delete sparkify's IAM role with its inline and attached policies. A role without sparkify's
    tag is left alone (action ``skip``). Safe to run twice."""
    iam, name = aws.iam, spec.role_name
    what = f"IAM role {name}"
    found = call(iam, "get_role", what, missing=("NoSuchEntity",), RoleName=name)
    if found is None:
        return Change("IAM role", name, "absent")
    tags = call(iam, "list_role_tags", what, RoleName=name)["Tags"]
    if not is_sparkifys(tags):
        return Change(
            "IAM role", name, "skip", f"not sparkify's (no tag {TAG['Key']}={TAG['Value']}): left alone"
        )
    if not dry_run:
        for policy in call(iam, "list_role_policies", what, RoleName=name)["PolicyNames"]:
            call(iam, "delete_role_policy", what, RoleName=name, PolicyName=policy)
        for policy in call(iam, "list_attached_role_policies", what, RoleName=name)["AttachedPolicies"]:
            call(iam, "detach_role_policy", what, RoleName=name, PolicyArn=policy["PolicyArn"])
        for profile in call(iam, "list_instance_profiles_for_role", what, RoleName=name)["InstanceProfiles"]:
            call(
                iam,
                "remove_role_from_instance_profile",
                what,
                RoleName=name,
                InstanceProfileName=profile["InstanceProfileName"],
            )
        call(iam, "delete_role", what, RoleName=name)
    return Change("IAM role", name, "delete", found["Role"]["Arn"], ref=found["Role"]["Arn"])


def policy_reads(document: Any) -> str:
    resources: list[str] = []
    for statement in _document(document).get("Statement", []):
        if "s3:GetObject" in statement.get("Action", []):
            value = statement.get("Resource", [])
            resources += [value] if isinstance(value, str) else value
    if "*" in resources:
        return "every S3 bucket"
    buckets = [r.split(":::", 1)[-1].removesuffix("/*") for r in resources]
    return ", ".join(f"s3://{b}" for b in buckets) or "nothing"
