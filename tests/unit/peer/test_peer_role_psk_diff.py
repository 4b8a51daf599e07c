# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The peer role copying a PresharedKey shows what it changes, and no key (issue #11, "changed with no diff").

The role runs in ansible-playbook, as a user runs it, with --diff and -vvv, on a local "host" `near` whose
interface (not wg0, port 47200) is played by a fake `wg` answering from a script; `far` is the other end the key is
copied from. The wg_peer task used to be no_log whenever it copied a key: its result and diff were censored, so
--check --diff said "changed" and nothing else, and a check run could not be compared with the real one.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys
import typing as t

import pytest
import yaml

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
NEAR, FAR = "wg-near4", "wg-far9"
# Banners without their closing bracket: with DISPLAY_ARGS_TO_STDOUT the task's arguments follow the name.
COPY_TASK = "TASK [wgdoctor.wireguard.peer : Correct the [Peer] entry in the config and on the running interface"
READ_TASK = "TASK [wgdoctor.wireguard.peer : Read the preshared keys of far"


def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Ends(t.NamedTuple):
    root: str
    keys: dict[str, str]

    @property
    def config(self) -> str:
        return os.path.join(self.root, "near", NEAR + ".conf")

    def start_the_interface(self) -> None:
        """What the service remedy does before the peer remedy in a real run."""
        open(os.path.join(self.root, "running"), "w").close()

    def secrets(self) -> dict[str, str]:
        return dict((name, value) for name, value in self.keys.items() if name in ("near_private", "psk", "old_psk", "neighbour_psk"))


@pytest.fixture
def ends(tmp_path) -> Ends:
    keys = {"near_private": key(), "near": key(), "far": key(), "neighbour": key(),
            # psk: what far holds for near (the key to copy); old_psk: near's, in its file and live; neighbour_psk:
            # what far holds for another peer, never to be copied.
            "psk": key(), "old_psk": key(), "neighbour_psk": key()}
    ends = Ends(str(tmp_path), keys)
    os.makedirs(os.path.join(ends.root, "near"))
    os.makedirs(os.path.join(ends.root, "bin"))
    with open(ends.config, "w") as handle:
        handle.write("[Interface]\nPrivateKey = %(near_private)s\nAddress = 10.66.0.1/24\nListenPort = 47200\n\n"
                     "[Peer]\n# far, the office\nPublicKey = %(far)s\nPresharedKey = %(old_psk)s\nAllowedIPs = 10.66.0.2/32\n"
                     "Endpoint = 192.0.2.9:47201\nPersistentKeepalive = 25\n\n"
                     "[Peer]\nPublicKey = %(neighbour)s\nAllowedIPs = 10.66.0.3/32\n" % keys)
    os.chmod(ends.config, 0o600)
    running = os.path.join(ends.root, "running")
    with open(os.path.join(ends.root, "bin", "wg"), "w") as handle:
        handle.write(
            '#!/bin/sh\n'
            'echo "$*" >> "%(root)s/wg.log"\n'
            'case "$*" in\n'
            '  "show interfaces") [ -e "%(running)s" ] && echo %(near_if)s; exit 0 ;;\n'
            '  "show %(near_if)s public-key"|"show %(near_if)s dump")\n'
            '    [ -e "%(running)s" ] || { echo "Unable to access interface: No such device" >&2; exit 1; } ;;\n'
            '  "show %(far_if)s preshared-keys") printf "%%s\\t%%s\\n%%s\\t%%s\\n" "%(neighbour)s" "%(neighbour_psk)s" "%(near)s" "%(psk)s";'
            ' exit 0 ;;\n'
            '  pubkey) cat >/dev/null; echo "%(near)s"; exit 0 ;;\n'
            '  "set %(near_if)s peer "*"preshared-key /dev/stdin"*) cat > "%(root)s/psk.received"; exit 0 ;;\n'
            '  "set %(near_if)s "*) exit 0 ;;\n'
            '  *) echo "Unable to access interface: No such device" >&2; exit 1 ;;\n'
            'esac\n'
            'case "$*" in\n'
            '  *public-key) echo "%(near)s" ;;\n'
            # The interface as wg-quick started it from the file: far with the old key, the neighbour without one.
            '  *dump) printf "%%s\\t%%s\\t47200\\toff\\n" "%(near_private)s" "%(near)s"\n'
            '         printf "%%s\\t%%s\\t192.0.2.9:47201\\t10.66.0.2/32\\t0\\t0\\t0\\t25\\n" "%(far)s" "%(old_psk)s"\n'
            '         printf "%%s\\t(none)\\t(none)\\t10.66.0.3/32\\t0\\t0\\t0\\toff\\n" "%(neighbour)s" ;;\n'
            'esac\n' % dict(keys, root=ends.root, running=running, near_if=NEAR, far_if=FAR))
    os.chmod(os.path.join(ends.root, "bin", "wg"), 0o755)
    return ends


def copy_far_key(ends: Ends, **more: t.Any) -> dict[str, t.Any]:
    """The role's variables that copy far's key for near (the remedy of preshared_key_mismatch)."""
    return dict(peer_interface=NEAR, peer_config_dir=os.path.dirname(ends.config), peer_public_key=ends.keys["far"],
                peer_preshared_key_from_host="far", peer_preshared_key_from_interface=FAR, **more)


def widen_neighbour(ends: Ends, **more: t.Any) -> dict[str, t.Any]:
    """The role's variables that give the neighbour a second address: a peer remedy that copies no key."""
    return dict(peer_interface=NEAR, peer_config_dir=os.path.dirname(ends.config), peer_public_key=ends.keys["neighbour"],
                peer_allowed_ips=["10.66.0.3/32", "10.66.0.33/32"], **more)


def run_role(ends: Ends, *options: str, runs: t.Sequence[dict[str, t.Any]] = (), refusable: t.Container[int] = ()) -> str:
    """The peer role on near, once per variables in `runs` (by default: copy far's key), in one play with --diff
    -vvv and these options; the whole output. A run whose index is in `refusable` may fail: its message is printed."""
    inventory = os.path.join(ends.root, "inventory.ini")
    with open(inventory, "w") as handle:
        handle.write("[ends]\nnear\nfar\n\n[ends:vars]\nansible_connection=local\nansible_python_interpreter=%s\n" % sys.executable)
    tasks = []
    for number, variables in enumerate(runs or [copy_far_key(ends)]):
        task = {"name": "Peer remedy %d" % number,
                "ansible.builtin.include_role": {"name": "wgdoctor.wireguard.peer"}, "vars": dict(variables)}
        if number in refusable:
            task = {"name": "Peer remedy %d, refused or not" % number, "block": [task], "rescue": [
                {"name": "Say why remedy %d was refused" % number, "ansible.builtin.debug": {"msg": "REFUSED: {{ ansible_failed_result.msg }}"}}]}
        tasks.append(task)
    play = os.path.join(ends.root, "play.yml")
    with open(play, "w") as handle:
        yaml.safe_dump([{"name": "Correct near's peers", "hosts": "near", "gather_facts": False, "tasks": tasks}], handle)
    env = dict(os.environ, PATH=os.path.join(ends.root, "bin") + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCAL_TEMP=os.path.join(ends.root, "tmp"),
               ANSIBLE_REMOTE_TEMP=os.path.join(ends.root, "tmp"),
               # The module's arguments in its result and each task's arguments in its banner, as a user may ask for
               # them: the key must not be in either.
               ANSIBLE_INJECT_INVOCATION="1", ANSIBLE_DISPLAY_ARGS_TO_STDOUT="1")
    completed = subprocess.run([ANSIBLE_PLAYBOOK, "-i", inventory, play, "--diff", "-vvv", *options],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    return output


def assert_no_key(ends: Ends, output: str) -> None:
    """No key, no recognisable part of one, and none of the fingerprints a reader could match it by."""
    for name, secret in ends.secrets().items():
        traces = [secret, secret[:12], secret[-16:], hashlib.sha256(secret.encode()).hexdigest()[:16],
                  hashlib.sha256((secret + "\n").encode()).hexdigest()[:16],
                  hashlib.sha256(base64.b64decode(secret)).hexdigest()[:16]]
        if name.endswith("psk"):
            traces.append(wg_keys.preshared_key_digest(secret))
        assert not [trace for trace in traces if trace in output], "a trace of %s is in the output" % name


def task_output(output: str, header: str) -> str:
    start = output.find(header)
    assert start >= 0, "the task %s did not run:\n%s" % (header, output[-3000:])
    end = output.find("\nTASK [", start + len(header))
    return output[start:end if end > 0 else len(output)]


def shown_diff(output: str, run: int = 0) -> str:
    """The diff the wg_peer task of the run-th role run prints before its result (-vvv's lines, holding temp paths,
    left out)."""
    start = -1
    for _attempt in range(run + 1):
        start = output.find(COPY_TASK, start + 1)
        assert start >= 0, "the wg_peer task of run %d did not run:\n%s" % (run, output[-3000:])
    printed = task_output(output[start:], COPY_TASK).split("\n", 1)[1]
    diff = re.split(r"^(?:changed|ok): \[near\]", printed, maxsplit=1, flags=re.M)[0]
    return "".join(line for line in diff.splitlines(True) if not line.startswith(("task path: ", "Using module file ", "<near> ")))


def test_the_key_copy_shows_its_diff_and_result_and_no_key(ends):
    ends.start_the_interface()
    output = run_role(ends)
    copy = task_output(output, COPY_TASK)
    assert "the output has been hidden" not in copy and "censored" not in copy, copy
    assert re.search(r"^changed: \[near\]", copy, re.M), copy
    # The config file: the entry, named by its PublicKey, whose PresharedKey line changes.
    assert "PublicKey = %s" % ends.keys["far"] in copy
    assert "-PresharedKey = (hidden)\n+PresharedKey = (hidden), another key" in copy, copy
    # The running peer: named, and its preshared key said to change.
    assert "%s (running): peer %s" % (NEAR, ends.keys["far"]) in copy
    assert "-  preshared key: (hidden)\n+  preshared key: (hidden), another key" in copy, copy
    # The result is shown at -vvv, the key's value masked in the invocation.
    assert "applied_live: true" in copy and "live_drift:\n    - preshared_key" in copy, copy
    assert "preshared_key: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in copy, copy
    # The tasks that hold keys still hide them.
    assert "the output has been hidden" in task_output(output, READ_TASK)
    assert_no_key(ends, output)
    # The key went where it belongs: far's key for near, into near's file and to wg on its standard input.
    with open(os.path.join(ends.root, "psk.received")) as handle:
        assert handle.read().strip() == ends.keys["psk"]
    with open(ends.config) as handle:
        text = handle.read()
    assert "PresharedKey = %s\n" % ends.keys["psk"] in text and ends.keys["neighbour_psk"] not in text


def test_check_mode_shows_what_the_real_run_does_also_when_the_service_starts_the_interface_first(ends):
    """In a remediation run the service remedy starts a stopped interface before the peer remedies: wg_remedies gives
    each peer remedy after it peer_assume_interface_up, and --check (where nothing started it) shows the same file and
    live changes as the real run then makes, for a copied key and for a remedy that copies none (issue #11).

    Without a remedy that starts it first (the variable false), the real run on a stopped interface changes no running
    peer (there is none) and cannot copy a key (it is matched by this end's running public key): --check says the same,
    not what a started interface would get. Those two runs of the role end the same check run (one ansible-playbook
    run less); the check run changes nothing, so each is planned from the same file."""
    # (--check on a running interface against the real run: the module's tests, and the fleet lab's hub.)
    runs = [copy_far_key(ends, peer_assume_interface_up=True), widen_neighbour(ends, peer_assume_interface_up=True)]
    stopped_check = run_role(ends, "--check", runs=runs + [widen_neighbour(ends), copy_far_key(ends)], refusable=(3,))
    ends.start_the_interface()
    real = run_role(ends, runs=runs)
    made_key, made_neighbour = shown_diff(real, 0), shown_diff(real, 1)
    assert "+  preshared key: (hidden), another key" in made_key and "+PresharedKey = (hidden), another key" in made_key, made_key
    assert "%s (running): peer %s" % (NEAR, ends.keys["neighbour"]) in made_neighbour, made_neighbour
    assert "+  allowed ips: 10.66.0.3/32, 10.66.0.33/32" in made_neighbour, made_neighbour
    for run, made in enumerate((made_key, made_neighbour)):
        shown = shown_diff(stopped_check, run)
        assert shown == made, "run %d, shown by --check (interface stopped):\n%s\nmade:\n%s" % (run, shown, made)

    # Nothing starts it: the file change only, and the key copy stops before wg_peer, as the real run does.
    widened = shown_diff(stopped_check, 2)
    assert "+AllowedIPs = 10.66.0.3/32, 10.66.0.33/32" in widened, widened
    assert "(running)" not in widened, widened
    # The message as one line: the result printer folds it.
    refusal = " ".join(task_output(stopped_check, "TASK [Say why remedy 3 was refused").split())
    assert "REFUSED: %s is not running on near" % NEAR in refusal and "start it first (wgdoctor.wireguard.service)" in refusal, refusal
    last_run = stopped_check.find("TASK [Peer remedy 3")
    assert last_run > 0 and COPY_TASK not in stopped_check[last_run:], "the key copy was planned on a stopped interface"
    for output in (stopped_check, real):
        assert_no_key(ends, output)
