"""An AWS API emulator for the cloud firewall tests: moto in server mode on 127.0.0.1, one per module.

moto answers the EC2 API calls the collection makes (DescribeInstances, DescribeSecurityGroups,
DescribeNetworkAcls, AuthorizeSecurityGroupIngress) from its in-memory model. What it does not emulate:
no packet is ever filtered by a security group or network ACL (the lab's upstream filter stands in for
that), IAM permissions are not enforced (any key is accepted), and instances run nothing.
"""
from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import typing as t
import urllib.request

import pytest

_NETWORKS = itertools.count(30)
STARTUP_SECONDS = 30
STOP_SECONDS = 10
# Fake credentials, distinctive so a test can look for them in output: moto accepts any, and no real
# account can be reached with them.
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "AKIAWGDOCTORFAKE0001", "AWS_SECRET_ACCESS_KEY": "wgdoctor-fake-secret-0f3c9e", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server() -> t.Iterator[dict[str, str]]:
    """{"endpoint": URL, and the environment a boto3 client or ansible-playbook needs to talk to it}."""
    pytest.importorskip("moto", reason="moto[server] is in requirements-dev.txt: the AWS emulator")
    pytest.importorskip("boto3", reason="boto3 is in requirements-dev.txt")
    port = _free_port()
    endpoint = "http://127.0.0.1:%d" % port
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("moto server did not start on %s" % endpoint)
                time.sleep(0.2)
        env = dict(FAKE_AWS, AWS_ENDPOINT_URL=endpoint)
        yield dict(env, endpoint=endpoint)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def aws_env(moto_server: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment pointed at the emulator (and away from any real AWS configuration)."""
    env = dict((k, v) for k, v in moto_server.items() if k != "endpoint")
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_URL", "EC2_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def ec2_world(aws_env: dict[str, str]) -> dict[str, t.Any]:
    """A VPC, a subnet, a security group with SSH and an unrelated UDP rule but not WireGuard's, and an
    instance in it: {"ec2": client, "vpc_id", "subnet_id", "group_id", "instance_id", "private_ip", "acl_id"}."""
    import boto3

    ec2 = boto3.client("ec2", region_name=aws_env["AWS_REGION"], endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    # A network of its own per test: the emulator outlives a test, and private addresses repeat across VPCs.
    net = next(_NETWORKS)
    vpc_id = ec2.create_vpc(CidrBlock="10.%d.0.0/16" % net)["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.%d.1.0/24" % net)["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="wg-server-%s" % subnet_id, Description="WireGuard server",
                                         VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "ssh"}]},
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "10.%d.0.0/16" % net}]}])
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet_id,
                                 SecurityGroupIds=[group_id])["Instances"][0]
    acl_id = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])[
        "NetworkAcls"][0]["NetworkAclId"]
    return {"ec2": ec2, "vpc_id": vpc_id, "subnet_id": subnet_id, "group_id": group_id,
            "instance_id": instance["InstanceId"], "private_ip": instance["PrivateIpAddress"], "acl_id": acl_id}
