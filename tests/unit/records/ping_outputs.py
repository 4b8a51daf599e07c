"""What `ping -c 3 -i 0.3 -W 1 -I <interface> <address>` really printed (iputils 20221126, the lab image's
ping, and busybox's), as the command module registers it."""
from __future__ import annotations

ANSWERED = {
    "rc": 0,
    "stdout": "PING 10.99.0.1 (10.99.0.1) from 10.99.0.2 wg0: 56(84) bytes of data.\n"
              "64 bytes from 10.99.0.1: icmp_seq=1 ttl=64 time=0.530 ms\n"
              "64 bytes from 10.99.0.1: icmp_seq=2 ttl=64 time=0.042 ms\n"
              "64 bytes from 10.99.0.1: icmp_seq=3 ttl=64 time=0.043 ms\n"
              "\n"
              "--- 10.99.0.1 ping statistics ---\n"
              "3 packets transmitted, 3 received, 0% packet loss, time 622ms\n"
              "rtt min/avg/max/mdev = 0.042/0.205/0.530/0.229 ms",
    "stderr": "",
}

NO_ANSWER = {
    "rc": 1,
    "stdout": "PING 10.99.0.1 (10.99.0.1) from 10.99.0.2 wg0: 56(84) bytes of data.\n"
              "\n"
              "--- 10.99.0.1 ping statistics ---\n"
              "3 packets transmitted, 0 received, 100% packet loss, time 618ms\n",
    "stderr": "",
}

ONE_OF_THREE = {
    "rc": 0,
    "stdout": "PING 10.99.0.1 (10.99.0.1) from 10.99.0.2 wg0: 56(84) bytes of data.\n"
              "64 bytes from 10.99.0.1: icmp_seq=3 ttl=64 time=0.611 ms\n"
              "\n"
              "--- 10.99.0.1 ping statistics ---\n"
              "3 packets transmitted, 1 received, 66.6667% packet loss, time 620ms\n"
              "rtt min/avg/max/mdev = 0.611/0.611/0.611/0.000 ms",
    "stderr": "",
}

ICMP_ERRORS = {
    "rc": 1,
    "stdout": "PING 10.99.0.1 (10.99.0.1) from 10.99.0.2 wg0: 56(84) bytes of data.\n"
              "From 10.99.0.2 icmp_seq=1 Destination Host Unreachable\n"
              "From 10.99.0.2 icmp_seq=2 Destination Host Unreachable\n"
              "From 10.99.0.2 icmp_seq=3 Destination Host Unreachable\n"
              "\n"
              "--- 10.99.0.1 ping statistics ---\n"
              "3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 621ms\n"
              "pipe 3",
    "stderr": "",
}

NO_SUCH_DEVICE = {
    "rc": 2,
    "stdout": "",
    "stderr": "ping: SO_BINDTODEVICE wg9: No such device",
}

BUSYBOX_ANSWERED = {
    "rc": 0,
    "stdout": "PING 10.99.0.1 (10.99.0.1): 56 data bytes\n"
              "64 bytes from 10.99.0.1: seq=0 ttl=64 time=0.094 ms\n"
              "64 bytes from 10.99.0.1: seq=1 ttl=64 time=0.110 ms\n"
              "64 bytes from 10.99.0.1: seq=2 ttl=64 time=0.101 ms\n"
              "\n"
              "--- 10.99.0.1 ping statistics ---\n"
              "3 packets transmitted, 3 packets received, 0% packet loss\n"
              "round-trip min/avg/max = 0.094/0.101/0.110 ms",
    "stderr": "",
}


def registered(output: dict, source: str = "client", target: str = "server", address: str = "10.99.0.1",
               interface: str = "wg0") -> dict:
    """One loop result of the playbook's ping task."""
    result = dict(output)
    result["stdout_lines"] = result["stdout"].splitlines()
    result["stderr_lines"] = result["stderr"].splitlines()
    result["item"] = {"from": source, "to": target, "address": address, "interface": interface,
                      "handshake_recent": True}
    result["changed"] = False
    return result
