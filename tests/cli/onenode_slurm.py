"""A one-node SLURM cluster on this machine for tests: munged, slurmctld and slurmd, loopback only.

Started without systemd: munged runs as the munge user with its own key, socket, pid and log under a
private folder; slurmctld and slurmd run as root with SLURM_CONF pointing at a slurm.conf whose state,
spool, pid and log files all live under a temporary folder. Every daemon listens on 127.0.0.1 only
(SlurmctldHost=localhost, NodeAddr=127.0.0.1, CommunicationParameters=NoCtldInAddrAny,NoInAddrAny) on
ports picked free at start. ``start_slurm`` returns the cluster or the reason it cannot start here
(not root, packages missing); ``stop`` ends every daemon it started and kills their process groups.
"""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo")
START_TIMEOUT = 30.0  # seconds each daemon has to become ready
ACTIVE = "PD,CF,R,S,CG"  # squeue states of a job not yet ended: pending, configuring, running, suspended, completing

SLURM_CONF = """\
ClusterName=henderson-test
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=30
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cannot_start() -> str | None:
    """Why a one-node SLURM cluster cannot be started here (None when it can)."""
    if os.geteuid() != 0:
        return "starting munged, slurmctld and slurmd needs root"
    missing = [d for d in DAEMONS if shutil.which(d) is None and not Path("/usr/sbin", d).exists()]
    if missing:
        return f"{', '.join(missing)} not found: apt-get install -y slurm-wlm munge"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no 'munge' user (it comes with the munge package)"
    return None


class OneNodeSlurm:
    """The daemons of a one-node cluster under ``root``; ``env`` holds SLURM_CONF for the client commands."""

    def __init__(self, root: Path, cpus: int = 4, memory_mb: int = 8000):
        self.root = root
        self.cpus, self.memory_mb = cpus, memory_mb
        self.procs: list[subprocess.Popen] = []
        self.munge_dir = Path(tempfile.mkdtemp(prefix="henderson-munge-"))  # munge must reach it (pytest tmp is 0700)
        self.conf = root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    # -- munge ---------------------------------------------------------------------------------------
    def _start_munge(self) -> None:
        user = pwd.getpwnam("munge")
        os.chown(self.munge_dir, user.pw_uid, user.pw_gid)
        os.chmod(self.munge_dir, 0o755)
        key = self.munge_dir / "munge.key"
        subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, user=user.pw_uid,
                       group=user.pw_gid, capture_output=True, timeout=20)
        self.munge_socket = self.munge_dir / "munge.socket.2"
        self._spawn(["munged", "--foreground", f"--socket={self.munge_socket}", f"--key-file={key}",
                     f"--pid-file={self.munge_dir / 'munged.pid'}", f"--log-file={self.munge_dir / 'munged.log'}",
                     f"--seed-file={self.munge_dir / 'munged.seed'}", "--origin=127.0.0.1", "--num-threads=2"],
                    self.munge_dir / "munged.out", user=user.pw_uid, group=grp.getgrgid(user.pw_gid).gr_gid)
        self._wait(lambda: self._ok(["munge", "-n", "-S", str(self.munge_socket)]), "munged",
                   self.munge_dir / "munged.log")

    # -- slurm ---------------------------------------------------------------------------------------
    def _write_conf(self) -> None:
        for sub in ("state", "spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(SLURM_CONF.format(root=self.root, ctld_port=free_port(), slurmd_port=free_port(),
                                               munge_socket=self.munge_socket, cpus=self.cpus,
                                               memory=self.memory_mb))

    def _node_state(self) -> str:
        out = subprocess.run(["sinfo", "-h", "-N", "-n", "localhost", "-o", "%T"], env=self.env,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip().lower()

    def start(self) -> OneNodeSlurm:
        """Start munged, slurmctld and slurmd; return once the node accepts jobs (RuntimeError with the
        daemon's log when one does not come up within START_TIMEOUT seconds)."""
        try:
            self._start_munge()
            self._write_conf()
            self._spawn(["slurmctld", "-D", "-i", "-f", str(self.conf)], self.root / "slurmctld.out")
            self._wait(lambda: self._ok(["scontrol", "ping"]) and "UP" in self._run(["scontrol", "ping"]),
                       "slurmctld", self.root / "slurmctld.log")
            self._spawn(["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)], self.root / "slurmd.out")
            self._wait(lambda: self._node_state().rstrip("*") in ("idle", "mixed", "allocated"), "slurmd",
                       self.root / "slurmd.log")
        except BaseException:
            self.stop()
            raise
        return self

    def scontrol(self, *args: str) -> None:
        """Run ``scontrol ARGS`` on this cluster (CalledProcessError when it fails)."""
        subprocess.run(["scontrol", *args], env=self.env, check=True, capture_output=True, timeout=10)

    def scancel(self, job: str) -> None:
        """Cancel ``job`` as the queue would end it at its walltime."""
        subprocess.run(["scancel", job], env=self.env, check=True, capture_output=True, timeout=10)

    def queue(self, states: str = "all") -> list[str]:
        """Ids of the jobs in the queue in ``states`` (squeue -t: "all", or e.g. "PD,R" for pending or
        running; a cancelled job stays listed as completing (CG) for a moment)."""
        return self._run(["squeue", "-h", "-t", states, "-o", "%i"]).split()

    def stop(self) -> None:
        """Cancel every job still queued (waiting up to 20 s for them to end), end every daemon started
        here (SIGTERM to its process group, SIGKILL after 10 s) and remove the munge folder."""
        if len(self.procs) == 3:
            self._ok(["scancel", "--full", "--user", "root"])
            deadline = time.monotonic() + 20
            while self.queue(ACTIVE) and time.monotonic() < deadline:
                time.sleep(0.3)
        for p in reversed(self.procs):
            _kill_group(p)
        self.procs.clear()
        shutil.rmtree(self.munge_dir, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------------------
    def _spawn(self, argv: list[str], out: Path, **kw) -> None:
        with open(out, "wb") as fh:
            self.procs.append(subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=self.env,
                                               start_new_session=True, **kw))

    def _run(self, argv: list[str]) -> str:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=10).stdout

    def _ok(self, argv: list[str]) -> bool:
        try:
            return subprocess.run(argv, env=self.env, capture_output=True, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def _wait(self, ready, name: str, log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.procs[-1].poll() is not None:
                break
            if ready():
                return
            time.sleep(0.3)
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
        raise RuntimeError(f"{name} did not become ready within {START_TIMEOUT:.0f} s "
                           f"(exit code {self.procs[-1].poll()}); its log:\n{tail}")


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group of ``proc``, SIGKILL when it has not ended after 10 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)
