"""sparkify infra: the AWS side against moto. Nothing here reaches AWS or the internet.

Unit tests use ``mock_aws``; one end-to-end test drives the CLI against moto's standalone server on
127.0.0.1 through AWS_ENDPOINT_URL, as a user's shell would.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import sys
import tomllib
import urllib.request
from datetime import UTC, datetime

import pytest

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from botocore.stub import Stubber  # noqa: E402
from moto import mock_aws  # noqa: E402

from sparkify.cli import cli  # noqa: E402
from sparkify.errors import ConfigError, SparkifyError  # noqa: E402
from sparkify.infra import aws as lib  # noqa: E402
from sparkify.infra import calls as infra_calls  # noqa: E402
from sparkify.infra import cluster as infra_cluster  # noqa: E402
from tests.conftest import sparkify  # noqa: E402

REGION = "us-west-2"
CIDR = "203.0.113.7/32"
ACCOUNT = "123456789012"  # moto's


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def parse_aws_models_once():
    """Speed only: every boto3 session shares one botocore loader, so each service model (EC2's is
    megabytes of JSON) is parsed once per module instead of once per session."""
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")

    def register_shared_loader(self):
        self._components.register_component("data_loader", loader)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session.Session, "_register_data_loader", register_shared_loader)
        yield


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Fake credentials only, no AWS config files, no internet, fast waits; cwd is a temp dir."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "SPARKIFY_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(infra_cluster, "POLL_SECONDS", 0)
    monkeypatch.setattr(infra_calls, "RETRY_SECONDS", 0)

    def no_internet(*args, **kwargs):
        raise OSError("tests do not use the internet")

    monkeypatch.setattr(urllib.request, "urlopen", no_internet)


@pytest.fixture
def aws():
    with mock_aws():
        yield lib.connect(region=REGION)


@pytest.fixture
def spec():
    return lib.Spec(cidr=CIDR)


def password_of(tmp_path) -> str:
    return (tmp_path / "xdg" / "sparkify" / "sparkify.redshift-password").read_text().strip()


def fixed_password(value: str = "Sup3rSecretPassw0rd"):
    return lambda: value


def untagged_role(aws, name: str) -> None:
    trust = json.dumps(lib.trust_policy())
    aws.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)


def untagged_cluster(aws, name: str) -> None:
    aws.redshift.create_cluster(
        ClusterIdentifier=name,
        NodeType="ra3.large",
        ClusterType="single-node",
        MasterUsername="admin",
        MasterUserPassword="Abcdefgh1",
    )


def snapshot(aws) -> dict:
    """Everything sparkify could have touched, to compare before and after."""
    roles = {r["RoleName"]: r["AssumeRolePolicyDocument"] for r in aws.iam.list_roles()["Roles"]}
    policies = {
        name: aws.iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
        for name in roles
        for p in aws.iam.list_role_policies(RoleName=name)["PolicyNames"]
    }
    groups = aws.ec2.describe_security_groups()["SecurityGroups"]
    rules = aws.ec2.describe_security_group_rules()["SecurityGroupRules"]
    clusters = aws.redshift.describe_clusters()["Clusters"]
    return {
        "roles": roles,
        "policies": policies,
        "groups": sorted(g["GroupId"] for g in groups),
        "rules": sorted((r["SecurityGroupRuleId"], r.get("CidrIpv4")) for r in rules),
        "clusters": {c["ClusterIdentifier"]: (c["IamRoles"], c["VpcSecurityGroups"]) for c in clusters},
    }


# -- up -------------------------------------------------------------------------------------------


def test_up_creates_exactly_the_role_group_rule_and_cluster(aws, spec):
    before = snapshot(aws)
    changes = lib.up(aws, spec, password=fixed_password())
    assert [(c.resource, c.action) for c in changes] == [
        ("IAM role", "create"),
        ("security group", "create"),
        ("ingress rule", "create"),
        ("cluster", "create"),
    ]
    after = snapshot(aws)
    assert set(after["roles"]) - set(before["roles"]) == {lib.DEFAULT_ROLE}
    assert len(after["groups"]) == len(before["groups"]) + 1
    assert set(after["clusters"]) == {"sparkify"}

    # the role: only Redshift may assume it; it reads only the source bucket
    role = aws.iam.get_role(RoleName=lib.DEFAULT_ROLE)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert aws.iam.list_role_tags(RoleName=lib.DEFAULT_ROLE)["Tags"] == [lib.TAG]
    assert aws.iam.list_role_policies(RoleName=lib.DEFAULT_ROLE)["PolicyNames"] == [lib.POLICY_NAME]
    assert aws.iam.list_attached_role_policies(RoleName=lib.DEFAULT_ROLE)["AttachedPolicies"] == []
    doc = aws.iam.get_role_policy(RoleName=lib.DEFAULT_ROLE, PolicyName=lib.POLICY_NAME)["PolicyDocument"]
    grants = {(a, r) for s in doc["Statement"] for a in s["Action"] for r in s["Resource"]}
    assert all(s["Effect"] == "Allow" for s in doc["Statement"])
    assert grants == {
        ("s3:ListBucket", "arn:aws:s3:::udacity-dend"),
        ("s3:GetBucketLocation", "arn:aws:s3:::udacity-dend"),
        ("s3:GetObject", "arn:aws:s3:::udacity-dend/*"),
    }

    # the group and its one ingress rule: the cluster port, from one address
    group_id = changes[1].ref
    group = aws.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert group["GroupName"] == lib.DEFAULT_GROUP and lib.TAG in group["Tags"]
    assert group["VpcId"] == lib.default_vpc(aws)
    ingress = [
        r
        for r in aws.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
            "SecurityGroupRules"
        ]
        if not r["IsEgress"]
    ]
    assert len(ingress) == 1
    rule = ingress[0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], rule["CidrIpv4"]) == (
        "tcp",
        5439,
        5439,
        CIDR,
    )
    assert rule["Tags"] == [lib.TAG]

    # the cluster: tagged, encrypted, private, with the role and the group
    cluster = lib.describe_cluster(aws, "sparkify")
    assert cluster["Tags"] == [lib.TAG]
    assert cluster["Encrypted"] is True and cluster["PubliclyAccessible"] is False
    assert [r["IamRoleArn"] for r in cluster["IamRoles"]] == [role["Arn"]]
    assert [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]] == [group_id]
    assert (cluster["NodeType"], cluster["NumberOfNodes"], cluster["DBName"], cluster["MasterUsername"]) == (
        "ra3.large",
        1,
        "sparkify",
        "sparkify",
    )
    assert changes[0].ref == role["Arn"]


def test_up_twice_changes_nothing_the_second_time(aws, spec):
    lib.up(aws, spec, password=fixed_password())
    before = snapshot(aws)
    second = lib.up(aws, spec, password=lambda: pytest.fail("no password is needed for an existing cluster"))
    assert [c.action for c in second] == ["keep"] * 4
    assert not any(c.changes for c in second)
    assert snapshot(aws) == before


def test_dry_run_changes_nothing_and_says_what_it_would_do(aws, spec):
    before = snapshot(aws)
    plan = lib.up(aws, spec, password=lambda: pytest.fail("a dry run needs no password"), dry_run=True)
    assert [c.action for c in plan] == ["create"] * 4
    assert snapshot(aws) == before


def test_multi_node_cluster_and_public_flag(aws):
    lib.up(aws, lib.Spec(cidr=CIDR, nodes=2, node_type="ra3.xlplus", public=True), password=fixed_password())
    cluster = lib.describe_cluster(aws, "sparkify")
    assert (cluster["NumberOfNodes"], cluster["NodeType"], cluster["PubliclyAccessible"]) == (
        2,
        "ra3.xlplus",
        True,
    )


def test_other_buckets_and_all_buckets(aws):
    lib.ensure_role(aws, lib.Spec(buckets=("raw-a", "raw-b")))
    doc = aws.iam.get_role_policy(RoleName=lib.DEFAULT_ROLE, PolicyName=lib.POLICY_NAME)["PolicyDocument"]
    objects = [s["Resource"] for s in doc["Statement"] if "s3:GetObject" in s["Action"]]
    assert objects == [["arn:aws:s3:::raw-a/*", "arn:aws:s3:::raw-b/*"]]

    change = lib.ensure_role(aws, lib.Spec(all_buckets=True))
    assert change.action == "update" and "every S3 bucket" in change.detail
    doc = aws.iam.get_role_policy(RoleName=lib.DEFAULT_ROLE, PolicyName=lib.POLICY_NAME)["PolicyDocument"]
    assert {r for s in doc["Statement"] for r in s["Resource"]} == {"*"}
    assert {a for s in doc["Statement"] for a in s["Action"]} == {
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObject",
    }


def test_existing_resources_with_sparkifys_names_but_not_its_tag_are_refused(aws, spec):
    untagged_role(aws, lib.DEFAULT_ROLE)
    before = snapshot(aws)
    with pytest.raises(
        lib.NotSparkifysError,
        match=f"IAM role {lib.DEFAULT_ROLE} exists but was not created by sparkify.*--role-name",
    ):
        lib.up(aws, spec, password=fixed_password())
    assert snapshot(aws) == before

    untagged_cluster(aws, "mine")
    with pytest.raises(lib.NotSparkifysError, match="Redshift cluster mine .*--cluster-id"):
        lib.up(aws, lib.Spec(cidr=CIDR, role_name="other", cluster_id="mine"), password=fixed_password())


def test_rule_on_a_named_existing_group(aws):
    vpc = lib.default_vpc(aws)
    gid = aws.ec2.create_security_group(GroupName="team-db", Description="theirs", VpcId=vpc)["GroupId"]
    aws.ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5439,
                "ToPort": 5439,
                "IpRanges": [{"CidrIp": "198.51.100.0/24"}],
            }
        ],
    )
    spec = lib.Spec(cidr=CIDR, security_group="team-db")
    changes = lib.up(aws, spec, password=fixed_password())
    assert [c.action for c in changes] == ["create", "keep", "create", "create"]
    assert changes[1].ref == gid

    down = lib.teardown_ingress(aws, spec)
    assert {(c.name, c.action) for c in down} == {
        (f"tcp 5439 from {CIDR}", "delete"),
        ("tcp 5439 from 198.51.100.0/24", "skip"),
        (f"team-db ({gid})", "skip"),
    }
    left = aws.ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]["IpPermissions"]
    assert [r["CidrIp"] for p in left for r in p["IpRanges"]] == ["198.51.100.0/24"]


def test_a_missing_named_group_is_a_clear_error(aws):
    with pytest.raises(lib.InfraError, match="Security group nope not found .*drop --security-group"):
        lib.ensure_security_group(aws, lib.Spec(cidr=CIDR, security_group="nope"))


# -- wait -----------------------------------------------------------------------------------------


def _moto_cluster(name: str = "sparkify"):
    from moto.redshift.models import redshift_backends

    return redshift_backends[ACCOUNT][REGION].clusters[name]


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_reports_each_poll_until_available(aws, spec):
    lib.up(aws, spec, password=fixed_password())
    _moto_cluster().status = "creating"
    clock, seen = FakeClock(), []

    def on_poll(state, elapsed):
        seen.append((state, elapsed))
        if len(seen) == 3:
            _moto_cluster().status = "available"

    cluster = lib.wait_for_cluster(aws, "sparkify", delay=30, on_poll=on_poll, sleep=clock.sleep, clock=clock)
    assert seen == [("creating", 0), ("creating", 30), ("creating", 60)]
    assert cluster["ClusterStatus"] == "available" and cluster["Endpoint"]["Port"] == 5439


def test_wait_gives_up_after_the_time_limit_and_says_what_next(aws, spec):
    lib.up(aws, spec, password=fixed_password())
    _moto_cluster().status = "creating"
    clock = FakeClock()
    with pytest.raises(lib.InfraError, match=r"still 'creating' after 10 min.*sparkify infra up"):
        lib.wait_for_cluster(aws, "sparkify", timeout=600, delay=60, sleep=clock.sleep, clock=clock)
    assert clock.now <= 600


@pytest.mark.parametrize("state", ["incompatible-network", "deleting"])
def test_wait_stops_at_a_state_that_will_not_become_available(aws, spec, state):
    lib.up(aws, spec, password=fixed_password())
    _moto_cluster().status = state
    with pytest.raises(lib.InfraError, match=f"is '{state}' and will not become available"):
        lib.wait_for_cluster(aws, "sparkify", sleep=lambda s: pytest.fail("must not wait"))


def test_wait_on_a_paused_cluster_says_resume_it(aws, spec):
    lib.up(aws, spec, password=fixed_password())
    _moto_cluster().status = "paused"
    with pytest.raises(
        lib.InfraError, match="is paused. Resume it .*resume-cluster --cluster-identifier sparkify"
    ):
        lib.wait_for_cluster(aws, "sparkify", sleep=lambda s: pytest.fail("must not wait"))


def test_wait_for_deletion(aws, spec):
    lib.up(aws, spec, password=fixed_password())
    lib.teardown_cluster(aws, spec, final_snapshot=False)
    assert lib.wait_for_cluster(aws, "sparkify", deleted=True) is None


# -- down -----------------------------------------------------------------------------------------


def test_down_removes_sparkifys_resources_and_leaves_the_rest(aws, spec):
    untagged_role(aws, "analytics-role")
    untagged_cluster(aws, "prod")
    lib.up(aws, spec, password=fixed_password())

    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    cluster = lib.teardown_cluster(aws, spec, now=when)
    assert (cluster.action, cluster.ref) == ("delete", "sparkify-final-20240506-070809")
    lib.wait_for_cluster(aws, "sparkify", deleted=True)
    ingress = lib.teardown_ingress(aws, spec)
    role = lib.teardown_role(aws, spec)
    assert [c.action for c in ingress] == ["delete", "delete"] and role.action == "delete"

    after = snapshot(aws)
    assert set(after["roles"]) == {"analytics-role"}
    assert set(after["clusters"]) == {"prod"}
    assert not aws.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [lib.DEFAULT_GROUP]}]
    )["SecurityGroups"]
    snaps = aws.redshift.describe_cluster_snapshots(SnapshotIdentifier="sparkify-final-20240506-070809")[
        "Snapshots"
    ]
    assert [s["ClusterIdentifier"] for s in snaps] == ["sparkify"]

    # and again: nothing left to do
    assert lib.teardown_cluster(aws, spec).action == "absent"
    assert [c.action for c in lib.teardown_ingress(aws, spec)] == ["absent"]
    assert lib.teardown_role(aws, spec).action == "absent"


def test_down_leaves_untagged_resources_that_carry_sparkifys_names(aws, spec):
    untagged_role(aws, lib.DEFAULT_ROLE)
    untagged_cluster(aws, "sparkify")
    vpc = lib.default_vpc(aws)
    aws.ec2.create_security_group(GroupName=lib.DEFAULT_GROUP, Description="not ours", VpcId=vpc)
    before = snapshot(aws)
    assert lib.teardown_cluster(aws, spec).action == "skip"
    assert [c.action for c in lib.teardown_ingress(aws, spec)] == ["skip"]
    assert lib.teardown_role(aws, spec).action == "skip"
    assert snapshot(aws) == before


def test_down_without_final_snapshot(aws, spec):
    lib.up(aws, spec, password=fixed_password())
    change = lib.teardown_cluster(aws, spec, final_snapshot=False)
    assert change.action == "delete" and "no final snapshot" in change.detail
    assert lib.describe_cluster(aws, "sparkify") is None
    from moto.redshift.models import redshift_backends

    assert [s.cluster.cluster_identifier for s in redshift_backends[ACCOUNT][REGION].snapshots.values()] == []


def test_down_dry_run_changes_nothing(aws, spec):
    lib.up(aws, spec, password=fixed_password())
    before = snapshot(aws)
    assert lib.teardown_cluster(aws, spec, dry_run=True).action == "delete"
    assert [c.action for c in lib.teardown_ingress(aws, spec, dry_run=True)] == ["delete", "delete"]
    assert lib.teardown_role(aws, spec, dry_run=True).action == "delete"
    assert snapshot(aws) == before


# -- status ---------------------------------------------------------------------------------------


def test_status_reports_each_resource(aws, spec):
    assert [(r.resource, r.state) for r in lib.status(aws, spec)] == [
        ("IAM role", "absent"),
        ("security group", "absent"),
        ("cluster", "absent"),
    ]
    lib.up(aws, spec, password=fixed_password())
    rows = {r.resource: r for r in lib.status(aws, spec)}
    assert rows["IAM role"].state == "present" and "reads s3://udacity-dend" in rows["IAM role"].detail
    assert rows["ingress rule"].name == f"tcp 5439 from {CIDR}" and rows["ingress rule"].owner == "sparkify"
    assert rows["cluster"].state == "available" and rows["cluster"].owner == "sparkify"
    endpoint = lib.describe_cluster(aws, "sparkify")["Endpoint"]["Address"]
    assert rows["cluster"].ref == f"{endpoint}:5439"
    assert rows["IAM role"].ref == f"arn:aws:iam::{ACCOUNT}:role/{lib.DEFAULT_ROLE}"
    assert "encrypted" in rows["cluster"].detail and "private" in rows["cluster"].detail


# -- the password ---------------------------------------------------------------------------------


def test_generated_password_is_stored_with_mode_0600_and_reused(tmp_path):
    path = tmp_path / "dir" / "pw"
    password = lib.Password(path, env={})
    assert password.source == f"generated into {path} (mode 0600)"
    value = password.get()
    assert lib.password_problem(value) is None and len(value) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert lib.Password(path, env={}).get() == value  # the next run reads it back


def test_password_from_the_environment_wins_and_writes_no_file(tmp_path):
    path = tmp_path / "pw"
    password = lib.Password(path, env={lib.PASSWORD_ENV: "FromEnv123"})
    assert password.source == f"from ${lib.PASSWORD_ENV}"
    assert password.get() == "FromEnv123" and not path.exists()


def test_an_invalid_password_is_refused_without_showing_it(tmp_path):
    with pytest.raises(ConfigError) as exc:
        lib.Password(tmp_path / "pw", env={lib.PASSWORD_ENV: "weakpassword"}).get()
    assert "weakpassword" not in str(exc.value) and lib.PASSWORD_ENV in str(exc.value)


def test_invalid_options_are_refused_before_any_aws_call(capsys, monkeypatch):
    monkeypatch.setattr(lib, "connect", lambda **kw: pytest.fail("options are checked first"))
    code, out, err = sparkify(capsys, "infra", "up", "--cluster-id", "Bad_Name", "--cidr", CIDR)
    assert (code, out) == (2, "")
    assert err.startswith("Error: Invalid --cluster-id 'Bad_Name': expected 1-63 lowercase letters")


def test_an_existing_cluster_that_differs_is_reported_not_changed(aws, spec):
    role, group, _, _ = lib.up(aws, spec, password=fixed_password())
    asked = lib.Spec(cidr=CIDR, nodes=2, port=5440)
    change = lib.ensure_cluster(aws, asked, role_arn=role.ref, group_id=group.ref, password=fixed_password())
    assert change.action == "keep"
    assert "differs from the options, left as is: nodes 1 (asked 2), port 5439 (asked 5440)" in change.detail


def test_a_loosened_password_file_is_tightened(tmp_path):
    path = tmp_path / "pw"
    path.write_text("Abcdefgh12\n")
    path.chmod(0o644)
    assert lib.Password(path, env={}).get() == "Abcdefgh12"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- errors ---------------------------------------------------------------------------------------


def test_missing_credentials(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    handle = lib.connect(region=REGION)
    with pytest.raises(lib.CredentialsError, match="No usable AWS credentials.*aws configure"):
        handle.identity()


@pytest.mark.parametrize("region,hint", [("us-wset-2", "did you mean 'us-west-2'"), ("mars-north-1", "")])
def test_unknown_region(region, hint):
    with pytest.raises(lib.UnknownRegionError, match=f"Unknown AWS region '{region}'.*{hint}.*--region"):
        lib.connect(region=region)


def test_no_region_at_all(monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(lib.UnknownRegionError, match="No AWS region set. Pass --region"):
        lib.connect()


def test_unknown_profile_names_it(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    with pytest.raises(ConfigError, match="AWS profile 'nosuch' not found.*--profile"):
        lib.connect(region=REGION)


def test_missing_boto3_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigError, match=r"pip install 'sparkify\[aws\]'"):
        lib.connect(region=REGION)


def _stubbed(aws, service: str) -> Stubber:
    client = aws.client(service)
    aws.__dict__[service] = client  # replace the cached client
    stubber = Stubber(client)
    stubber.activate()
    return stubber


@pytest.mark.parametrize(
    "service,method,code,error,expected",
    [
        (
            "iam",
            "get_role",
            "AccessDenied",
            lib.AccessDeniedError,
            r"^Not allowed to iam:GetRole on IAM role sparkify-redshift-s3-read \(AccessDenied\): .*grant iam:GetRole",
        ),
        (
            "ec2",
            "describe_vpcs",
            "UnauthorizedOperation",
            lib.AccessDeniedError,
            r"^Not allowed to ec2:DescribeVpcs on the default VPC of us-west-2 .*grant ec2:DescribeVpcs",
        ),
        (
            "iam",
            "get_role",
            "ExpiredToken",
            lib.CredentialsError,
            r"^AWS rejected your credentials \(ExpiredToken\)",
        ),
        (
            "iam",
            "get_role",
            "Throttling",
            lib.TransientInfraError,
            r"^AWS is throttling iam:GetRole on IAM role .*Retry later\.$",
        ),
    ],
)
def test_botocore_errors_become_one_line_errors_naming_resource_and_fix(
    aws, spec, service, method, code, error, expected
):
    stubber = _stubbed(aws, service)
    stubber.add_client_error(
        method,
        service_error_code=code,
        service_message="User: arn:x is not\nauthorized",
        http_status_code=403,
    )
    with pytest.raises(error, match=expected) as exc:
        lib.up(aws, spec, password=fixed_password(), dry_run=True)
    assert "\n" not in str(exc.value)
    assert isinstance(exc.value, SparkifyError)
    assert exc.value.__cause__ is not None  # --debug still shows botocore's original


def test_quota_and_capacity_errors_and_the_password_never_shows(aws, spec):
    secret = "Quota5ecretPassw0rd"
    lib.ensure_role(aws, spec)
    group = lib.ensure_security_group(aws, spec).ref
    role_arn = lib.ensure_role(aws, spec).ref
    stubber = _stubbed(aws, "redshift")
    for code in ("ClusterQuotaExceeded", "InsufficientClusterCapacity"):
        stubber.add_client_error(
            "describe_clusters", service_error_code="ClusterNotFound", http_status_code=404
        )
        # AWS does not echo passwords, but if a message ever did, it must not reach the terminal.
        stubber.add_client_error(
            "create_cluster",
            service_error_code=code,
            service_message=f"Limit reached for request with {secret}",
            http_status_code=400,
        )
    with pytest.raises(
        lib.QuotaError,
        match=r"AWS quota reached for Redshift cluster sparkify \(ClusterQuotaExceeded\).*Service Quotas",
    ) as exc:
        lib.ensure_cluster(aws, spec, role_arn=role_arn, group_id=group, password=fixed_password(secret))
    assert secret not in str(exc.value) and "***" in str(exc.value)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__  # --debug shows no original
    with pytest.raises(lib.InfraError, match="no capacity .*--node-type") as exc:
        lib.ensure_cluster(aws, spec, role_arn=role_arn, group_id=group, password=fixed_password(secret))
    assert secret not in str(exc.value)


def test_a_new_role_not_yet_visible_to_redshift_is_retried(aws, spec):
    lib.ensure_role(aws, spec)
    group = lib.ensure_security_group(aws, spec).ref
    role_arn = lib.ensure_role(aws, spec).ref
    stubber = _stubbed(aws, "redshift")
    stubber.add_client_error("describe_clusters", service_error_code="ClusterNotFound", http_status_code=404)
    stubber.add_client_error(
        "create_cluster",
        service_error_code="InvalidParameterValue",
        service_message="The IAM role is not valid",
        http_status_code=400,
    )
    stubber.add_response("create_cluster", {"Cluster": {"ClusterIdentifier": "sparkify"}})
    change = lib.ensure_cluster(aws, spec, role_arn=role_arn, group_id=group, password=fixed_password())
    assert change.action == "create"
    stubber.assert_no_pending_responses()


def test_invalid_options_name_the_option():
    with pytest.raises(ConfigError, match=r"Invalid --cluster-id 'Bad_Name'"):
        lib.Spec(cluster_id="Bad_Name")
    with pytest.raises(ConfigError, match=r"Invalid --cidr 'nope'"):
        lib.normalize_cidr("nope")


# -- the caller's address -------------------------------------------------------------------------


def test_caller_cidr_from_the_lookup():
    asked = []

    def fetch(url, timeout):
        asked.append((url, timeout))
        return "203.0.113.9\n"

    assert lib.caller_cidr(fetch) == "203.0.113.9/32"
    assert asked == [(lib.IP_LOOKUP_URL, 5.0)]
    assert lib.caller_cidr(lambda u, t: "2001:db8::1") == "2001:db8::1/128"


@pytest.mark.parametrize("answer", [TimeoutError("timed out"), "<html>captive portal</html>"])
def test_caller_cidr_failure_says_pass_cidr(answer):
    def fetch(url, timeout):
        if isinstance(answer, Exception):
            raise answer
        return answer

    with pytest.raises(ConfigError, match="Could not find your public IP address.*Pass --cidr"):
        lib.caller_cidr(fetch)


def test_normalize_cidr():
    assert lib.normalize_cidr("203.0.113.7") == "203.0.113.7/32"
    assert lib.normalize_cidr(" 10.1.2.3/16 ") == "10.1.0.0/16"
    assert lib.is_world("0.0.0.0/0") and lib.is_world("::/0") and not lib.is_world(CIDR)


# -- sparkify.toml --------------------------------------------------------------------------------


def test_update_settings_file_keeps_other_keys_and_comments(tmp_path):
    from sparkify.config import load_settings

    path = tmp_path / "sparkify.toml"
    path.write_text('# my settings\nsource = "/data"\nregion = "eu-west-1"  # old\nmax_errors = 3')
    values = {
        "warehouse": "redshift://u@h:5439/db",
        "iam_role": "arn:aws:iam::1:role/r",
        "region": "us-west-2",
    }
    assert lib.update_settings_file(path, values, dry_run=True) == ["warehouse", "iam_role", "region"]
    assert "us-west-2" not in path.read_text()
    assert lib.update_settings_file(path, values) == ["warehouse", "iam_role", "region"]
    text = path.read_text()
    assert text.startswith('# my settings\nsource = "/data"\nregion = "us-west-2"  # old\nmax_errors = 3\n')
    settings = load_settings({}, env={}, config_file=path)
    assert (settings.source, settings.max_errors, settings.warehouse, settings.iam_role, settings.region) == (
        "/data",
        3,
        values["warehouse"],
        values["iam_role"],
        "us-west-2",
    )
    assert lib.update_settings_file(path, values) == []
    assert path.read_text() == text


def test_update_settings_file_edits_any_valid_layout(tmp_path):
    # a multi-line string, a quoted key, a table after the top-level keys: the regular expressions
    # this replaced could not edit these; the file must read back as the old settings plus the new
    path = tmp_path / "sparkify.toml"
    path.write_text('"region" = """\neu-west-1"""\nsource = "/data"\n\n[extra]\nkey = 1\n')
    assert lib.update_settings_file(path, {"region": "us-west-2", "iam_role": 'arn:"x"'}) == [
        "region",
        "iam_role",
    ]
    assert tomllib.loads(path.read_text()) == {
        "region": "us-west-2",
        "source": "/data",
        "iam_role": 'arn:"x"',
        "extra": {"key": 1},
    }


def test_update_settings_file_names_a_broken_file(tmp_path):
    path = tmp_path / "sparkify.toml"
    path.write_text("region = \n")
    with pytest.raises(ConfigError, match=f"{re.escape(str(path))} is not valid TOML"):
        lib.update_settings_file(path, {"region": "us-west-2"})
    assert path.read_text() == "region = \n"


# -- the CLI --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [("infra",), ("infra", "up"), ("infra", "status"), ("infra", "down")])
def test_every_infra_command_has_help_with_an_example(capsys, path):
    code, out, _ = sparkify(capsys, *path, "--help")
    assert code == 0
    assert "Example:" in out and "sparkify infra " in out.split("Example:", 1)[1]
    assert "infra" in cli.commands


def test_cli_up_asks_first_and_no_changes_nothing(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    with mock_aws():
        code, out, err = sparkify(capsys, "infra", "up", "--cidr", CIDR)
        # no is no: exit 2 and how to go ahead, not 130 "Aborted." as for SIGINT (tester finding)
        assert code == 2 and "Apply this plan? [y/N]" in out
        assert err == "Error: Not confirmed: nothing was changed. Pass --yes to go ahead without asking.\n"
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO(""))  # < /dev/null: no answer at all
        code, out, err = sparkify(capsys, "infra", "up", "--cidr", CIDR)
        assert code == 2 and err.startswith("Error: No answer to 'Apply this plan?' (standard input ended)")
        assert "--yes" in err
        assert boto3.client("iam").list_roles()["Roles"] == []
        assert boto3.client("redshift").describe_clusters()["Clusters"] == []


def test_cli_up_without_cidr_and_without_internet_says_pass_cidr(capsys):
    with mock_aws():
        code, out, err = sparkify(capsys, "infra", "up", "--yes")
    assert code == 2 and out == ""
    assert err.startswith("Error: Could not find your public IP address") and "--cidr" in err
    assert err.count("\n") == 1


def test_cli_world_cidr_warns(capsys):
    with mock_aws():
        code, out, err = sparkify(capsys, "infra", "up", "--cidr", "0.0.0.0/0", "--yes")
    assert code == 0, err
    assert "Warning: --cidr 0.0.0.0/0 opens port 5439 to the whole internet" in out


def test_cli_unknown_region_is_one_line_exit_2(capsys):
    code, out, err = sparkify(capsys, "infra", "status", "--region", "us-wset-2")
    assert code == 2 and out == ""
    assert err == (
        "Error: Unknown AWS region 'us-wset-2' (did you mean 'us-west-2'?): Redshift does not run there "
        "as far as this botocore knows. Pass --region with a region such as us-west-2, or upgrade boto3 "
        "if the region is new.\n"
    )


def test_cli_missing_credentials_is_one_line_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err = sparkify(capsys, "infra", "status")
    assert code == 2 and out == ""
    assert err.startswith("Error: No usable AWS credentials") and err.count("\n") == 1


def test_cli_ctrl_c_while_waiting_says_what_aws_keeps_doing(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lib, "wait_for_cluster", interrupted)
    with mock_aws():
        code, out, err = sparkify(capsys, "infra", "up", "--cidr", CIDR, "--yes")
    assert code == 130 and "created cluster sparkify" in out
    assert "Stopped waiting. AWS keeps going with cluster sparkify: run `sparkify infra up` again" in err
    assert not os.path.exists("sparkify.toml")


def test_cli_region_comes_from_sparkify_toml(capsys, tmp_path):
    (tmp_path / "sparkify.toml").write_text('region = "eu-west-1"\n')
    with mock_aws():
        code, out, err = sparkify(capsys, "infra", "status")
    assert code == 0, err
    assert "region eu-west-1" in out


# -- end to end: the CLI against moto's server ----------------------------------------------------


@pytest.fixture
def moto_server(monkeypatch):
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    yield f"http://{host}:{port}"
    server.stop()


def test_end_to_end_up_up_status_down(capsys, tmp_path, moto_server):
    config = tmp_path / "sparkify.toml"
    config.write_text("# team settings\nmax_errors = 5\n")
    outputs = []

    def run(*args):
        code, out, err = sparkify(capsys, *args)
        outputs.append(out + err)
        return code, out, err

    # up: the plan, then the four resources, then sparkify.toml
    code, out, err = run("infra", "up", "--cidr", "203.0.113.7", "--yes")
    assert code == 0, err
    plan = out.split("Password:")[0]
    for resource in ("IAM role", "security group", "ingress rule", "cluster", "settings file"):
        assert re.search(rf"│ {resource} +│ .* │ (create|update) +│", plan), resource
    assert (
        "created IAM role sparkify-redshift-s3-read (arn:aws:iam::123456789012:role/sparkify-redshift-s3-read)"
        in out
    )
    assert f"created ingress rule tcp 5439 from {CIDR}" in out
    assert re.search(
        r"Cluster sparkify is available at sparkify\.\w+\.us-west-2\.redshift\.amazonaws\.com:5439\.", out
    )

    password_file = tmp_path / "xdg" / "sparkify" / "sparkify.redshift-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_of(tmp_path)
    assert lib.password_problem(password) is None

    import tomllib

    settings = tomllib.loads(config.read_text())
    host = re.search(r"available at (\S+):5439\.", out).group(1)
    assert settings == {
        "max_errors": 5,
        "warehouse": f"redshift://sparkify@{host}:5439/sparkify",
        "iam_role": "arn:aws:iam::123456789012:role/sparkify-redshift-s3-read",
        "region": REGION,
    }
    assert config.read_text().startswith("# team settings\n")

    # up again: nothing to do, and it says so
    code, out, err = run("infra", "up", "--cidr", CIDR, "--yes")
    assert code == 0, err
    assert (
        "Nothing to change: the IAM role, security group, ingress rule and cluster exist, and sparkify.toml "
        "is up to date." in out
    )
    assert " create " not in out and " update " not in out

    # status
    code, out, err = run("infra", "status")
    assert code == 0, err
    assert re.search(r"│ IAM role +│ sparkify-redshift-s3-read +│ present +│ sparkify", out)
    assert re.search(r"│ ingress rule +│ tcp 5439 from +│ open +│ sparkify", out) and CIDR in out
    assert re.search(r"│ cluster +│ sparkify +│ available +│ sparkify +│ database sparkify", out)
    assert f"Endpoint of cluster sparkify: {host}:5439\n" in out
    assert (
        f"ARN of IAM role sparkify-redshift-s3-read: arn:aws:iam::{ACCOUNT}:role/sparkify-redshift-s3-read\n"
        in out
    )

    # someone else's role and cluster in the same account
    client = boto3.client("iam", region_name=REGION)
    client.create_role(RoleName="analytics-role", AssumeRolePolicyDocument=json.dumps(lib.trust_policy()))
    boto3.client("redshift", region_name=REGION).create_cluster(
        ClusterIdentifier="prod",
        NodeType="ra3.large",
        ClusterType="single-node",
        MasterUsername="admin",
        MasterUserPassword="Abcdefgh1",
    )

    # down, twice
    code, out, err = run("infra", "down", "--yes")
    assert code == 0, err
    assert "deleted cluster sparkify: final snapshot sparkify-final-" in out
    assert "Removed 4 resources." in out
    code, out, err = run("infra", "down", "--yes")
    assert code == 0 and "Nothing to remove" in out

    iam = boto3.client("iam", region_name=REGION)
    redshift = boto3.client("redshift", region_name=REGION)
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["analytics-role"]
    assert [c["ClusterIdentifier"] for c in redshift.describe_clusters()["Clusters"]] == ["prod"]

    # the password never reached the terminal or sparkify.toml
    assert all(password not in text for text in outputs)
    assert password not in config.read_text()


def test_up_checks_the_password_first_and_lets_the_role_read_the_staging_bucket(
    capsys, tmp_path, moto_server, monkeypatch
):
    """Tester findings: a password the cluster refuses stopped `up` only after the role, group and
    rule were made; and the role could read the source bucket but not the manifest_prefix bucket
    every COPY reads from (the README's own setup)."""
    import boto3

    iam = boto3.client("iam", endpoint_url=moto_server)
    monkeypatch.setenv(lib.PASSWORD_ENV, 'weak"pw')
    code, out, err = sparkify(capsys, "infra", "up", "--cidr", CIDR, "--yes")
    assert code == 2 and "is not valid" in err and 'weak"pw' not in out + err
    assert f"unset {lib.PASSWORD_ENV}" in err  # the variable's name as it is spelled
    assert lib.DEFAULT_ROLE not in [r["RoleName"] for r in iam.list_roles()["Roles"]]  # nothing was created
    monkeypatch.delenv(lib.PASSWORD_ENV)

    monkeypatch.setenv("SPARKIFY_MANIFEST_PREFIX", "s3://my-staging/sparkify")
    code, out, err = sparkify(capsys, "infra", "up", "--cidr", CIDR, "--yes")
    assert code == 0, err
    (name,) = iam.list_role_policies(RoleName=lib.DEFAULT_ROLE)["PolicyNames"]
    policy = iam.get_role_policy(RoleName=lib.DEFAULT_ROLE, PolicyName=name)["PolicyDocument"]
    readable = {r for s in policy["Statement"] if "s3:GetObject" in s["Action"] for r in s["Resource"]}
    assert readable == {"arn:aws:s3:::udacity-dend/*", "arn:aws:s3:::my-staging/*"}
