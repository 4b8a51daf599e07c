"""moto in server mode on 127.0.0.1 with a bounded lifetime: the AWS API emulator of the cloud firewall tests
(tests/unit/cloud and tests/integration/test_cloud_firewall_lab.py).

moto answers the EC2 API calls the collection makes (DescribeInstances, DescribeSecurityGroups,
DescribeNetworkAcls, AuthorizeSecurityGroupIngress) from its in-memory model. What it does not emulate:
no packet is ever filtered by a security group or network ACL (the lab's upstream filter stands in for
that), IAM permissions are not enforced (any key is accepted), and instances run nothing.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import time
import typing as t
import urllib.request

STARTUP_SECONDS = 30
STOP_SECONDS = 10
# Fake credentials, distinctive so a test can look for them in output: moto accepts any, and no real
# account can be reached with them.
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "AKIAWGDOCTORFAKE0001", "AWS_SECRET_ACCESS_KEY": "wgdoctor-fake-secret-0f3c9e",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
# What would point boto3 at a real account or another endpoint instead of the emulator.
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_URL", "EC2_URL")
_NETWORKS = itertools.count(30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_server() -> t.Iterator[dict[str, str]]:
    """The environment a boto3 client or ansible-playbook needs to talk to a fresh emulator
    (AWS_ENDPOINT_URL and fake credentials); the server is stopped on leaving, killed if it will not stop."""
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
        yield dict(FAKE_AWS, AWS_ENDPOINT_URL=endpoint, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ec2_world(env: t.Mapping[str, str]) -> dict[str, t.Any]:
    """A VPC, a subnet, a security group with SSH and an unrelated UDP rule but not WireGuard's, and an
    instance in it: {"ec2": client, "vpc_id", "subnet_id", "group_id", "instance_id", "private_ip", "acl_id"}."""
    import boto3

    ec2 = boto3.client("ec2", region_name=env["AWS_REGION"], endpoint_url=env["AWS_ENDPOINT_URL"],
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    # A network of its own per world: the emulator outlives a test, and private addresses repeat across VPCs.
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
