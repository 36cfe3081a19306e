#!/usr/bin/env python3
"""Live scenarios of the testbed: real traffic made by the Pods' own kernels (TCP and UDP sockets,
no tag, no probe), with servers that log what really arrived.

testbed.sh drives a live scenario in phases (each one process; see docs/testbed.md):
  live.py servers RUN_DIR OUT SCENARIO   start the scenario's servers inside the destination Pods'
                                         namespaces and wait until each one listens
  live.py traffic RUN_DIR OUT SCENARIO   run the scenario's steps: clients inside the source Pods'
                                         namespaces (fixed source ports), conntrack flushes, late
                                         captures; wait for every client
  live.py collect RUN_DIR OUT SCENARIO   after the servers stopped: OUT/live/summary.json (what
                                         every server and client logged, per connection), and a
                                         check of the hand-written expectations against it

and, inside a Pod's namespace (started by the phases above):
  live.py serve LOG PROTO PORT [OPTIONS_JSON]   a TCP or UDP server that logs, as JSON lines, every
                                                accepted peer, datagram and byte count
  live.py client LOG CLIENT_JSON                one client connection, running its script

The logs are the ground truth the hand-written expectations are checked against: a server logs
the peer address as its socket saw it (after any DNAT, so the endpoint a Service connection really
reached is the server that logged it).
"""

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# Bounds: a live scenario is short. Every process exits on its own.
SERVER_LIFETIME = 40.0
CLIENT_TIMEOUT = 20.0


class Log:
    """JSON lines, flushed per line, with a wall-clock timestamp (time.time())."""

    def __init__(self, path):
        self.fh = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def __call__(self, event, **fields):
        rec = {"t": round(time.time(), 6), "event": event}
        rec.update(fields)
        with self.lock:
            self.fh.write(json.dumps(rec, sort_keys=True) + "\n")


def addr(a):
    return "%s:%d" % (a[0], a[1])


# --- servers ---------------------------------------------------------------------------------------


def quiet_tcp():
    """No tail loss probes in this Pod (net.ipv4.tcp_early_retrans=0, per network namespace): on
    this loaded machine a peer's ACK delayed by 10 ms would otherwise draw a probe (a resent FIN
    or last segment), and the hand-written packet counts would depend on scheduling."""
    path = "/proc/sys/net/ipv4/tcp_early_retrans"
    if os.path.exists(path):
        with open(path, "w") as fh:
            fh.write("0\n")


def serve(log_path, proto, port, options="{}"):
    opts = json.loads(options)
    quiet_tcp()
    log = Log(log_path)
    port = int(port)
    deadline = time.time() + float(opts.get("lifetime", SERVER_LIFETIME))
    if proto == "TCP":
        serve_tcp(log, port, opts, deadline)
    else:
        serve_udp(log, port, opts, deadline)


def serve_tcp(log, port, opts, deadline):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(64)
    log("listening", protocol="TCP", local="0.0.0.0:%d" % port)
    push_flag = os.path.join(opts["flags"], opts["pushOnFlag"]) if opts.get("pushOnFlag") else None

    def handle(conn, peer):
        local = addr(conn.getsockname())
        log("accept", peer=addr(peer), local=local)
        if opts.get("userTimeout"):
            # Give up on unacknowledged data after this many ms (bounds the retransmissions).
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(opts["userTimeout"]))
        total, pushed = 0, False
        conn.settimeout(0.1)
        while time.time() < deadline:
            if push_flag and not pushed and os.path.exists(push_flag):
                pushed = True
                data = b"p" * int(opts.get("pushBytes", 100))
                try:
                    conn.sendall(data)
                    log("push", peer=addr(peer), bytes=len(data))
                except OSError as e:
                    log("error", peer=addr(peer), op="push", error=str(e))
                    break
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                log("error", peer=addr(peer), op="recv", error=str(e), total=total)
                break
            if not data:
                # A connection the kernel aborted (TCP_USER_TIMEOUT) also reads as end of file.
                err = conn.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                log("eof", peer=addr(peer), total=total, error=os.strerror(err) if err else None)
                break
            total += len(data)
            log("recv", peer=addr(peer), bytes=len(data), total=total)
            if opts.get("echo", True):
                try:
                    conn.sendall(data)
                except OSError as e:
                    log("error", peer=addr(peer), op="send", error=str(e))
                    break
        conn.close()
        log("close", peer=addr(peer), total=total)

    ls.settimeout(0.2)
    while time.time() < deadline:
        try:
            conn, peer = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn, peer), daemon=True).start()


def serve_udp(log, port, opts, deadline):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    log("listening", protocol="UDP", local="0.0.0.0:%d" % port)
    delay = float(opts.get("replyDelay", 0))
    pending = []  # (due, peer, data)
    while time.time() < deadline:
        timeout = 0.1
        if pending:
            timeout = max(0.0, min(timeout, pending[0][0] - time.time()))
        r, _, _ = select.select([s], [], [], timeout)
        if r:
            data, peer = s.recvfrom(65536)
            log("datagram", peer=addr(peer), bytes=len(data))
            if opts.get("echo", True):
                pending.append((time.time() + delay, peer, data))
                pending.sort()
        while pending and pending[0][0] <= time.time():
            _, peer, data = pending.pop(0)
            s.sendto(data, peer)
            log("reply", peer=addr(peer), bytes=len(data))


# --- clients ---------------------------------------------------------------------------------------


def client(log_path, spec_json):
    spec = json.loads(spec_json)
    quiet_tcp()
    log = Log(log_path)
    host, port = spec["dst"].rsplit(":", 1)
    dst = (host, int(port))
    udp = spec["protocol"] == "UDP"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(spec["sport"])))
    s.settimeout(float(spec.get("timeout", 5)))
    sent = received = 0
    log("start", id=spec["id"], local=addr(s.getsockname()), dst=spec["dst"], protocol=spec["protocol"])
    try:
        for op in spec["script"]:
            name, arg = op[0], (op[1] if len(op) > 1 else None)
            if name == "connect":
                if spec.get("synRetries") is not None:
                    # Classic exponential SYN backoff (1 s, 2 s, 4 s ...): kernels from 6.5 on
                    # retransmit the first SYNs linearly every second (tcp_syn_linear_timeouts), and
                    # fit more SYNs into TCP_SYNCNT's time budget. Per network namespace: this Pod's.
                    linear = "/proc/sys/net/ipv4/tcp_syn_linear_timeouts"
                    if os.path.exists(linear):
                        with open(linear, "w") as fh:
                            fh.write("0\n")
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, int(spec["synRetries"]))
                s.connect(dst)
                if spec.get("userTimeout"):
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(spec["userTimeout"]))
                log("connected", id=spec["id"], local=addr(s.getsockname()))
            elif name == "send":
                data = b"x" * int(arg)
                if udp:
                    s.sendto(data, dst)
                else:
                    s.sendall(data)
                sent += len(data)
                log("sent", id=spec["id"], bytes=len(data), total=sent)
            elif name == "recv":
                # Read until `arg` more bytes arrived (TCP) or one datagram (UDP).
                want = int(arg)
                got = 0
                while got < want:
                    data = s.recv(65536)
                    if not data:
                        break
                    got += len(data)
                received += got
                log("received", id=spec["id"], bytes=got, total=received)
            elif name == "try-recv":
                # As recv, but a timeout is an outcome to log, not the end of the script.
                try:
                    data = s.recv(65536)
                    received += len(data)
                    log("received", id=spec["id"], bytes=len(data), total=received)
                except socket.timeout:
                    log("timeout", id=spec["id"], waited=s.gettimeout(), received=received)
            elif name == "hold":
                # Keep the connection open, silent, until testbed.sh stops this process after the
                # captures: closing it would send a FIN the scenario is not about.
                log("held", id=spec["id"], sent=sent, received=received)
                time.sleep(CLIENT_TIMEOUT * 2)
                return
            elif name == "recv_eof":
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    received += len(data)
                log("eof", id=spec["id"], total=received)
            elif name == "shutdown":
                s.shutdown(socket.SHUT_WR)
            elif name == "sleep":
                time.sleep(float(arg))
            elif name == "signal":
                open(os.path.join(spec["flags"], arg), "w").close()
            elif name == "wait":
                end = time.time() + CLIENT_TIMEOUT
                while not os.path.exists(os.path.join(spec["flags"], arg)):
                    if time.time() > end:
                        raise TimeoutError("flag %s never came" % arg)
                    time.sleep(0.02)
            else:
                raise ValueError("unknown client op %r" % name)
        log("done", id=spec["id"], sent=sent, received=received)
    except (OSError, TimeoutError) as e:
        log("failed", id=spec["id"], error=type(e).__name__ + ": " + str(e), sent=sent, received=received)
    finally:
        s.close()


# --- the phases, run by testbed.sh in the host's namespace ----------------------------------------


class Run:
    def __init__(self, run_dir, out, name):
        import tb

        self.tb = tb
        self.topo = tb.topo()
        self.sc = tb.scenario(name)
        self.run_dir, self.out = run_dir, out
        with open(os.path.join(run_dir, "prefix")) as fh:
            self.pfx = fh.read().strip()
        self.live = os.path.join(out, "live")
        self.flags = os.path.join(run_dir, "flags")
        os.makedirs(self.live, exist_ok=True)
        os.makedirs(self.flags, exist_ok=True)
        self.py = os.path.join(run_dir, "bin", self.pfx + "-py")
        if not os.path.exists(self.py):
            os.symlink(os.path.realpath(sys.executable), self.py)

    def pod(self, ref):
        p = self.tb.pod_named(self.topo, ref)
        if p is None:
            raise SystemExit("%s: unknown Pod %s" % (self.sc["name"], ref))
        return p

    def pod_ns(self, p):
        return "%s-%s-%s" % (self.pfx, p["namespace"], p["name"])

    def node_ns(self, node):
        return "%s-%d-%s" % (self.pfx, self.topo.node(node)["index"], node)

    def spawn(self, ns, args):
        # stderr (a traceback, if any) goes to the private run directory, kept with TB_KEEP_RUN_DIR=1.
        err = open(os.path.join(self.run_dir, "%s-%s.stderr" % (args[0], os.path.basename(args[1]))), "w")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, self.py, os.path.abspath(__file__)] + args,
                                stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        with open(os.path.join(self.run_dir, "pids"), "a") as fh:
            fh.write("%d\n" % proc.pid)
        return proc

    def appctl(self, node, *args):
        ctl = os.path.join(self.run_dir, node, "ovs-vswitchd.ctl")
        return subprocess.run(["ovs-appctl", "--timeout=10", "-t", ctl] + list(args), check=True,
                              capture_output=True, text=True).stdout


def server_log_name(srv):
    ns, name = srv["pod"].split("/", 1)
    return "server-%s-%s-%s-%d.jsonl" % (ns, name, srv["protocol"].lower(), srv["port"])


def cmd_servers(run_dir, out, name):
    r = Run(run_dir, out, name)
    logs = []
    for srv in r.sc.get("servers", []):
        path = os.path.join(r.live, server_log_name(srv))
        open(path, "w").close()
        opts = dict(srv.get("options", {}), flags=r.flags)
        r.spawn(r.pod_ns(r.pod(srv["pod"])), ["serve", path, srv["protocol"], str(srv["port"]), json.dumps(opts)])
        logs.append(path)
    end = time.time() + 10
    for path in logs:
        while True:
            with open(path) as fh:
                if '"listening"' in fh.read():
                    break
            if time.time() > end:
                raise SystemExit("server %s did not start" % path)
            time.sleep(0.02)


def start_captures(r):
    """The captures testbed.sh listed but left to us (the scenario starts them mid-connection)."""
    listed = os.path.join(r.run_dir, "capture-list")
    errs = []
    with open(listed) as fh:
        lines = [l.split() for l in fh if l.strip()]
    for node, iface, path in lines:
        ns = r.node_ns(node)
        err = path + ".err"
        if iface == "any":
            cmd = [os.path.join(r.run_dir, "bin", r.pfx + "-dumpcap"), "-i", "any", "-y", "LINUX_SLL2", "-q", "-w", path]
        else:
            cmd = [os.path.join(r.run_dir, "bin", r.pfx + "-tcpdump"), "-i", iface, "-nn", "-U", "--immediate-mode",
                   "-s", "0", "-Z", "root", "-w", path]
        with open(err, "w") as efh:
            proc = subprocess.Popen(["ip", "netns", "exec", ns] + cmd, stdout=subprocess.DEVNULL, stderr=efh)
        for pids in ("pids", "capture-pids"):
            with open(os.path.join(r.run_dir, pids), "a") as fh:
                fh.write("%d\n" % proc.pid)
        errs.append(err)
    end = time.time() + 10
    while True:
        started = 0
        for e in errs:
            with open(e) as fh:
                text = fh.read()
            started += ("listening on" in text or "Capturing on" in text)
        if started == len(errs):
            return
        if time.time() > end:
            raise SystemExit("late captures did not start")
        time.sleep(0.02)


def cmd_traffic(run_dir, out, name):
    r = Run(run_dir, out, name)
    clients = {c["id"]: c for c in r.sc["clients"]}
    procs = {}

    def start(cid):
        c = dict(clients[cid], flags=r.flags)
        path = os.path.join(r.live, "client-%s.jsonl" % cid)
        open(path, "w").close()
        procs[cid] = r.spawn(r.pod_ns(r.pod(c["pod"])), ["client", path, json.dumps(c)])

    def wait(cids):
        for cid in cids:
            try:
                procs[cid].wait(timeout=CLIENT_TIMEOUT)
            except subprocess.TimeoutExpired:
                procs[cid].kill()
                raise SystemExit("client %s did not finish in %ds" % (cid, CLIENT_TIMEOUT))

    steps = r.sc.get("steps") or [["start"] + list(clients), ["wait"] + list(clients)]
    for step in steps:
        op, args = step[0], step[1:]
        if op == "start":
            for cid in args:
                start(cid)
        elif op == "wait":
            wait(args)
        elif op == "wait-flag":
            end = time.time() + CLIENT_TIMEOUT
            while not os.path.exists(os.path.join(r.flags, args[0])):
                if time.time() > end:
                    raise SystemExit("flag %s never came" % args[0])
                time.sleep(0.02)
        elif op == "signal":
            open(os.path.join(r.flags, args[0]), "w").close()
        elif op == "sleep":
            time.sleep(float(args[0]))
        elif op == "flush-conntrack":
            node = args[0]
            with open(os.path.join(r.live, "%s-conntrack-before-flush" % node), "w") as fh:
                fh.write(r.appctl(node, "dpctl/dump-conntrack", "-m"))
            r.appctl(node, "dpctl/flush-conntrack")
            with open(os.path.join(r.live, "events.jsonl"), "a") as fh:
                fh.write(json.dumps({"t": round(time.time(), 6), "event": "flush-conntrack", "node": node}) + "\n")
        elif op == "start-captures":
            start_captures(r)
            with open(os.path.join(r.live, "events.jsonl"), "a") as fh:
                fh.write(json.dumps({"t": round(time.time(), 6), "event": "captures-started"}) + "\n")
        elif op == "txcsum-on":
            ns, iface = r.pod_ns(r.pod(args[0])), "eth0"
            subprocess.run([r.py, os.path.join(HERE, "tb.py"), "txcsum-on", ns, iface], check=True)
            with open(os.path.join(r.live, "events.jsonl"), "a") as fh:
                fh.write(json.dumps({"t": round(time.time(), 6), "event": "tx-checksum-offload-on",
                                     "pod": args[0]}) + "\n")
        else:
            raise SystemExit("%s: unknown step %r" % (name, op))


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [json.loads(l) for l in fh if l.strip()]


def cmd_collect(run_dir, out, name):
    """Summarize the logs per connection and hold them against the hand-written expectations:
    a delivered connection must have been accepted (TCP) or received (UDP) by exactly the expected
    endpoint's server and by no other; a dropped one by none."""
    r = Run(run_dir, out, name)
    servers = {}
    for srv in r.sc.get("servers", []):
        p = r.pod(srv["pod"])
        servers["%s %s:%d" % (srv["pod"], p["ip"], srv["port"])] = read_jsonl(os.path.join(r.live, server_log_name(srv)))
    summary, bad = [], []
    for c in r.sc["clients"]:
        # The peer the endpoint's server sees: the client's address, or after a source NAT (hairpin)
        # the address the scenario states in serverSees.
        src = c.get("serverSees") or "%s:%d" % (r.pod(c["pod"])["ip"], c["sport"])
        clog = read_jsonl(os.path.join(r.live, "client-%s.jsonl" % c["id"]))
        reached = {}
        for ep, events in servers.items():
            mine = [e for e in events if e.get("peer") == src]
            if any(e["event"] in ("accept", "datagram") for e in mine):
                reached[ep] = {
                    "accepted": sum(e["event"] == "accept" for e in mine),
                    "datagrams": sum(e["event"] == "datagram" for e in mine),
                    "bytes": max([e.get("total", 0) for e in mine] + [sum(e["bytes"] for e in mine if e["event"] == "datagram")]),
                    "replies": sum(e["event"] in ("reply", "push") for e in mine),
                }
        last = clog[-1] if clog else {}
        entry = {"id": c["id"], "client": "%s:%d" % (r.pod(c["pod"])["ip"], c["sport"]), "serverSaw": src, "server": c["dst"], "reached": reached,
                 "clientResult": last.get("event"), "clientError": last.get("error"),
                 "clientSent": last.get("sent"), "clientReceived": last.get("received")}
        summary.append(entry)
        want = c["expect"]
        got_eps = sorted(reached)
        if want["fate"] == "delivered" and got_eps != [want["endpoint"]]:
            bad.append("%s: expected delivered to %s, the servers logged %s" % (c["id"], want["endpoint"], got_eps or "nothing"))
        if want["fate"] == "dropped" and got_eps != ([want["endpoint"]] if want.get("endpoint") else []):
            # A connection broken after it was established reached its endpoint first.
            bad.append("%s: expected dropped (endpoint %s), but the servers logged %s" % (c["id"], want.get("endpoint"), got_eps))
        if want.get("clientResult") and last.get("event") != want["clientResult"]:
            bad.append("%s: the client ended with %r (%s), expected %r" % (c["id"], last.get("event"), last.get("error"), want["clientResult"]))
    with open(os.path.join(r.live, "summary.json"), "w") as fh:
        json.dump({"scenario": name, "connections": summary}, fh, indent=2, sort_keys=True)
        fh.write("\n")
    for b in bad:
        print("FAIL %s: %s" % (name, b), file=sys.stderr)
    return 1 if bad else 0


def main(argv):
    cmds = {"serve": (serve, (3, 4)), "client": (client, (2,)), "servers": (cmd_servers, (3,)),
            "traffic": (cmd_traffic, (3,)), "collect": (cmd_collect, (3,))}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 not in cmds[argv[1]][1]:
        sys.stderr.write(__doc__)
        return 2
    return cmds[argv[1]][0](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
