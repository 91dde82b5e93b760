#!/usr/bin/python3
"""sluice benchmark driver: one deterministic Hive metastore log, each scenario run by sluice
and by its peers (rsyslog, syslog-ng, a grep|kcat baseline), a table of throughput, CPU seconds,
peak RSS and correctness, the ratios the targets are stated in, and the Kafka latency at a
steady rate. Run through bench/run.sh (which finds the build and installs the peers).

Scenarios: a tail->regex_filter->memory->kafka, b taildir->regex_filter->file channel->kafka,
c tail->regex_filter->redis (hincrby), d tail->regex_filter->null (the agent's own overhead).
"""
import argparse
import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
CLK = os.sysconf('SC_CLK_TCK')
PAGE_KB = os.sysconf('SC_PAGE_SIZE') // 1024
TOPIC = 'mytopic'
RKEY = 'hsip'
SCENARIOS = 'abcd'
SHIPPERS = ['sluice', 'sluice-defaults', 'rsyslog', 'syslog-ng', 'kcat']
# sluice-defaults: scenario (a) with Flume's memory channel defaults (capacity 100, batches of
# 100), beside sluice tuned for throughput as the peers are; only scenario (a) has it.
DEFAULTS_ONLY = 'a'


def is_sluice(shipper):
    return shipper in ('sluice', 'sluice-defaults')
AUDIT_RE = re.compile(rb'ip=/(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})')


# How often completion is checked (ms): the end of a run is known to within about this, which
# matters for sluice's runs of 1-2 s (kcat's time is its exit, exact).
POLL_MS = 10


class RedisConn:
    """One connection to redis-server for the completion check (no process per check)."""

    def __init__(self, port):
        self.port, self.sock, self.buf = port, None, b''

    def _line(self):
        while b'\r\n' not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise OSError('redis closed the connection')
            self.buf += d
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def sum(self):
        args = [b'EVAL', Env.SUM_LUA.encode(), b'0', RKEY.encode()]
        req = b'*%d\r\n' % len(args) + b''.join(b'$%d\r\n%s\r\n' % (len(x), x) for x in args)
        try:
            if not self.sock:
                self.sock = socket.create_connection(('127.0.0.1', self.port), timeout=5)
            self.sock.sendall(req)
            line = self._line()
        except OSError:
            self.sock, self.buf = None, b''
            return -1
        return int(line[1:]) if line[:1] == b':' else -1


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- process tree accounting ---------------------------------------------------------------

def _stat(pid):
    """(ppid, utime+stime ticks, cutime+cstime ticks) of a live pid, or None."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rfind(b')') + 2:].split()
    # fields after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])


def _hwm_kb(pid):
    try:
        with open('/proc/%d/status' % pid, 'rb') as f:
            for line in f:
                if line.startswith(b'VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMonitor:
    """Samples a process and its descendants: CPU seconds (threads included, reaped children
    through cutime) and the peak resident set (sum of each process's VmHWM)."""

    def __init__(self, root):
        self.root = root
        self.cpu_ticks = {}
        self.hwm = {}
        self.root_children_ticks = 0

    def pids(self):
        parent = {}
        for d in os.listdir('/proc'):
            if d.isdigit():
                st = _stat(int(d))
                if st:
                    parent[int(d)] = st[0]
        tree, grew = {self.root}, True
        while grew:
            grew = False
            for p, pp in parent.items():
                if pp in tree and p not in tree:
                    tree.add(p)
                    grew = True
        return tree

    def sample(self):
        for p in self.pids():
            st = _stat(p)
            if not st:
                continue
            self.cpu_ticks[p] = st[1]
            if p == self.root:
                self.root_children_ticks = st[2]
            h = _hwm_kb(p)
            if h:
                self.hwm[p] = max(self.hwm.get(p, 0), h)

    def cpu_s(self):
        return (sum(self.cpu_ticks.values()) + self.root_children_ticks) / CLK

    def rss_mb(self):
        return sum(self.hwm.values()) / 1024.0


def stop_proc(p, timeout=30):
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except OSError:
        p.terminate()
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            p.kill()
        p.wait()


def spawn(cmd, out, env=None):
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def wait_for(cond, secs, step=0.05):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def count_newlines(path):
    n = 0
    try:
        with open(path, 'rb') as f:
            while True:
                b = f.read(1 << 22)
                if not b:
                    return n
                n += b.count(b'\n')
    except OSError:
        return 0


# ---- the world the shippers run in ---------------------------------------------------------

class Env:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.sluice = os.path.join(self.build, 'sluice')
        self.gen = os.path.join(self.build, 'test/tools/gen_hive_log')
        self.broker_exe = os.path.join(self.build, 'test/kafka/kafka_broker')
        self.count_exe = os.path.join(self.build, 'test/kafka/kafka_count')
        self.peers = os.path.join(HERE, '.peers', 'root')
        self.work = tempfile.mkdtemp(prefix='sluice-bench.', dir=args.tmpdir)
        self.redis = None
        self.redis_port = None

    def path(self, *p):
        return os.path.join(self.work, *p)

    def generate(self):
        a = self.args
        self.log_src = self.path('hive.log')
        self.expected = self.path('expected.txt')
        out = subprocess.run([self.gen, '--lines', str(a.lines), '--seed', str(a.seed),
                              '--ips', str(a.ips), '--audit-ratio', a.audit_ratio, '--expected', self.expected, self.log_src],
                             check=True, capture_output=True, text=True).stdout
        m = re.search(r'lines=(\d+) audit=(\d+)', out)
        self.n_lines, self.n_audit = int(m.group(1)), int(m.group(2))
        self.audit_bytes = os.path.getsize(self.expected)
        ips = collections.Counter()
        with open(self.expected, 'rb') as f:
            for line in f:
                ips[AUDIT_RE.search(line).group(1).decode()] += 1
        self.ip_totals = ips
        log('log: %d lines, %d audit lines (%.0f%%), %d client IPs, %.0f MB' %
            (self.n_lines, self.n_audit, 100.0 * self.n_audit / max(1, self.n_lines), len(ips),
             os.path.getsize(self.log_src) / 1e6))

    # -- kafka --
    def start_broker(self, tag):
        pf = self.path(tag + '.bootstrap')
        if os.path.exists(pf):
            os.unlink(pf)
        p = spawn([self.broker_exe, '--topic', '%s:4' % TOPIC, '--port-file', pf],
                  open(self.path(tag + '.broker.out'), 'w'))
        if not wait_for(lambda: os.path.exists(pf) and os.path.getsize(pf) > 0, 15):
            raise RuntimeError('kafka test broker did not start')
        with open(pf) as f:
            return p, f.read().strip()

    def watermark_total(self, bootstrap):
        r = subprocess.run([self.count_exe, '--bootstrap', bootstrap, '--topic', TOPIC,
                            'watermarks', '--timeout-ms', '10000'], capture_output=True, text=True)
        m = re.search(r'total=(\d+)', r.stdout)
        return int(m.group(1)) if m else -1

    # -- redis --
    def start_redis(self):
        if self.redis:
            return
        self.redis_port = free_port()
        self.redis = spawn(['redis-server', '--port', str(self.redis_port), '--bind', '127.0.0.1',
                            '--save', '', '--appendonly', 'no', '--dir', self.work],
                           open(self.path('redis.out'), 'w'))
        if not wait_for(lambda: self.rcli('PING') == 'PONG', 15):
            raise RuntimeError('redis-server did not start')

    def rcli(self, *args):
        r = subprocess.run(['redis-cli', '-p', str(self.redis_port), '--raw'] + list(args),
                           capture_output=True, text=True)
        return r.stdout.strip()

    SUM_LUA = ("local s=0 for _,k in ipairs(redis.call('KEYS', ARGV[1]..':*')) do "
               "if string.match(k, '^'..ARGV[1]..':%d+$') then "
               "for _,x in ipairs(redis.call('HVALS', k)) do s=s+tonumber(x) end end end "
               "return s")
    PER_IP_LUA = ("local t={} for _,k in ipairs(redis.call('KEYS', ARGV[1]..':*')) do "
                  "if string.match(k, '^'..ARGV[1]..':%d+$') then "
                  "local h=redis.call('HGETALL', k) for i=1,#h,2 do "
                  "t[h[i]]=(t[h[i]] or 0)+tonumber(h[i+1]) end end end "
                  "local r={} for ip,n in pairs(t) do r[#r+1]=ip r[#r+1]=n end return r")

    def redis_sum(self):
        v = self.rcli('EVAL', self.SUM_LUA, '0', RKEY)
        return int(v) if v.lstrip('-').isdigit() else -1

    def redis_cmdstats(self):
        calls = {}
        for line in self.rcli('INFO', 'commandstats').splitlines():
            m = re.match(r'cmdstat_(\w+):calls=(\d+)', line)
            if m:
                calls[m.group(1)] = int(m.group(2))
        return calls

    def redis_cpu(self):
        info = self.rcli('INFO', 'cpu')
        return sum(float(v) for k, v in re.findall(r'(used_cpu_(?:user|sys)):([\d.]+)', info))

    def close(self):
        stop_proc(self.redis)
        if self.args.keep_work:
            log('work dir kept: ' + self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


# ---- shippers ----------------------------------------------------------------------------------

def fill(template, out, vars_):
    with open(template) as f:
        text = f.read()
    for k, v in vars_.items():
        text = text.replace('@%s@' % k, str(v))
    with open(out, 'w') as f:
        f.write(text)


def peer_env(env):
    e = dict(os.environ)
    root = env.peers
    e['LD_LIBRARY_PATH'] = ':'.join([root + '/usr/lib/syslog-ng',
                                     root + '/usr/lib/x86_64-linux-gnu'] +
                                    ([e['LD_LIBRARY_PATH']] if e.get('LD_LIBRARY_PATH') else []))
    return e


def start_shipper(env, shipper, scenario, run_dir, vars_):
    """Start a shipper on the scenario; returns (Popen, log file, ready-check)."""
    logf = os.path.join(run_dir, 'shipper.log')
    out = open(logf, 'w')
    if is_sluice(shipper):
        conf = os.path.join(run_dir, 'agent.properties')
        name = 'sluice_%s%s.properties' % (scenario,
                                            '_defaults' if shipper == 'sluice-defaults' else '')
        fill(os.path.join(HERE, 'conf', name), conf, vars_)
        cmd = [env.sluice, 'agent', '-n', 'a1', '-f', conf, '-Dflume.monitoring.type=http',
               '-Dflume.monitoring.port=0', '-Dflume.monitoring.bind=127.0.0.1']
        if env.args.perf:
            # the agent and its children (tail) sampled; the numbers then include perf itself
            cmd = ['perf', 'record', '-F', str(env.args.perf_freq), '-o',
                   os.path.join(run_dir, 'perf.data')] + (
                       ['--call-graph', 'dwarf,16384'] if env.args.perf_callgraph else []) + [
                       '--'] + cmd
        p = spawn(cmd, out)

        def ready():
            with open(logf, errors='replace') as f:
                return 'agent a1 started' in f.read()
        return p, logf, ready
    if shipper == 'rsyslog':
        conf = os.path.join(run_dir, 'rsyslog.conf')
        fill(os.path.join(HERE, 'conf', 'rsyslog_%s.conf' % scenario), conf, vars_)
        p = spawn(['rsyslogd', '-n', '-f', conf, '-i', os.path.join(run_dir, 'rsyslog.pid')], out)
        return p, logf, lambda: True
    if shipper == 'syslog-ng':
        conf = os.path.join(run_dir, 'syslog-ng.conf')
        fill(os.path.join(HERE, 'conf', 'syslog-ng_%s.conf' % scenario), conf, vars_)
        root = env.peers
        p = spawn([root + '/usr/sbin/syslog-ng', '-F', '--no-caps', '-f', conf,
                   '--module-path=' + root + '/usr/lib/syslog-ng/3.38',
                   '--persist-file=' + os.path.join(run_dir, 'syslog-ng.persist'),
                   '--pidfile=' + os.path.join(run_dir, 'syslog-ng.pid'),
                   '--control=' + os.path.join(run_dir, 'syslog-ng.ctl')], out,
                  env=peer_env(env))
        return p, logf, lambda: True
    raise ValueError(shipper)


def sluice_metric(logf, comp, attr):
    try:
        with open(logf, errors='replace') as f:
            m = re.search(r'Monitoring server listening on port (\d+)', f.read())
        if not m:
            return -1
        with urllib.request.urlopen('http://127.0.0.1:%s/metrics' % m.group(1), timeout=2) as r:
            return int(json.load(r).get(comp, {}).get(attr, -1))
    except (OSError, ValueError):
        return -1


class Result:
    def __init__(self, scenario, shipper):
        self.scenario, self.shipper = scenario, shipper
        self.wall = self.cpu = self.rss = None
        self.delivered = self.lost = self.dup = None
        self.ok = False
        self.notes = []

    def row(self, n_lines):
        def f(v, fmt):
            return fmt % v if v is not None else 'n/a'
        rate = n_lines / self.wall if self.wall else None
        per_cpu = n_lines / self.cpu if self.cpu else None
        return [self.scenario, self.shipper, f(rate, '%.0f'), f(self.wall, '%.2f'),
                f(self.cpu, '%.2f'), f(per_cpu, '%.0f'), f(self.rss, '%.1f'),
                f(self.delivered, '%d'), f(self.lost, '%d'), f(self.dup, '%d'),
                '; '.join(self.notes)]


def steal_seconds():
    """CPU time the hypervisor gave to others (all CPUs, /proc/stat's steal), in seconds."""
    try:
        with open('/proc/stat') as f:
            fields = f.readline().split()
        return int(fields[8]) / CLK if fields[0] == 'cpu' and len(fields) > 8 else 0.0
    except (OSError, ValueError):
        return 0.0


def run_one(env, scenario, shipper):
    """One run; notes the CPU time stolen by the hypervisor meanwhile, which is what makes a
    run on a shared VM slow (the context switches of small batches suffer most)."""
    s0 = steal_seconds()
    res = run_one_measured(env, scenario, shipper)
    stolen = steal_seconds() - s0
    if stolen >= 0.05:
        res.notes.append('the hypervisor stole %.2f CPU-s meanwhile' % stolen)
    return res


def run_one_measured(env, scenario, shipper):
    a = env.args
    tag = '%s-%s' % (scenario, shipper)
    run_dir = env.path(tag)
    k = 1
    while os.path.exists(run_dir):  # --repeat: run 2, 3, ... beside the first
        k += 1
        run_dir = env.path('%s.%d' % (tag, k))
    os.makedirs(run_dir)
    res = Result(scenario, shipper)
    log('--- scenario %s, %s' % (scenario, shipper))
    if shipper == 'kcat':
        return run_kcat(env, run_dir, res)
    kafka = scenario in 'ab'
    broker = dump = waiter = shipper_p = None
    live_log = os.path.join(run_dir, 'hive.log')
    out_file = os.path.join(run_dir, 'out.txt')
    vars_ = {'LOG': live_log, 'WORK': run_dir, 'TOPIC': TOPIC, 'RKEY': RKEY, 'OUT': out_file}
    try:
        if kafka:
            broker, bootstrap = env.start_broker(os.path.basename(run_dir))
            vars_['BOOTSTRAP'] = bootstrap
            if a.verify:
                # raised priority (root may): it must stay within the mock broker's newest
                # 5 MB per partition while the shipper runs on a busy machine
                dump = spawn(['nice', '-n', str(a.consumer_nice), 'sh', '-c',
                              'exec "$0" --bootstrap "$1" --topic "$2" dump '
                              '--from-beginning --with-partition --timeout-ms 600000 > "$3"',
                              env.count_exe, bootstrap, TOPIC, os.path.join(run_dir, 'dump.txt')],
                             open(os.path.join(run_dir, 'dump.err'), 'w'))
                time.sleep(a.consumer_start)  # assigned and fetching before the first message
        if scenario == 'c':
            env.start_redis()
            env.rcli('FLUSHALL')
            env.rcli('CONFIG', 'RESETSTAT')
            vars_['REDIS_PORT'] = env.redis_port
            redis_cpu0 = env.redis_cpu()
        # the log is in place before the shipper starts: each reads it from its first byte
        if os.stat(env.log_src).st_dev == os.stat(run_dir).st_dev:
            os.link(env.log_src, live_log)
        else:
            shutil.copyfile(env.log_src, live_log)
        if kafka:
            waiter = spawn([env.count_exe, '--bootstrap', bootstrap, '--topic', TOPIC, 'wait',
                            '--total', str(env.n_audit), '--timeout-ms',
                            str(int(a.timeout * 1000)), '--interval-ms', str(POLL_MS)],
                           open(os.path.join(run_dir, 'wait.out'), 'w'))
        t0 = time.monotonic()
        shipper_p, logf, ready = start_shipper(env, shipper, scenario, run_dir, vars_)
        mon = TreeMonitor(shipper_p.pid)

        if kafka:
            def done():
                return waiter.poll() is not None
        elif scenario == 'c':
            rs = RedisConn(env.redis_port)

            def done():
                return rs.sum() >= env.n_audit
        elif is_sluice(shipper):
            last = [0.0]

            def done():
                now = time.monotonic()
                if now - last[0] < 0.02:
                    return False
                last[0] = now
                return sluice_metric(logf, 'SINK.k1', 'EventDrainSuccessCount') >= env.n_audit
        else:
            def done():
                try:
                    return os.path.getsize(out_file) >= env.audit_bytes
                except OSError:
                    return False

        finished = False
        last_sample = 0.0
        while time.monotonic() - t0 < a.timeout:
            if time.monotonic() - last_sample >= 0.05:
                mon.sample()
                last_sample = time.monotonic()
            if shipper_p.poll() is not None:
                res.notes.append('shipper exited early (status %s)' % shipper_p.returncode)
                break
            if done():
                # kafka_count wait exits 1 when its own deadline passes first
                finished = not kafka or waiter.returncode == 0
                break
            time.sleep(POLL_MS / 1000.0)
        t1 = time.monotonic()
        mon.sample()
        res.wall, res.cpu, res.rss = t1 - t0, mon.cpu_s(), mon.rss_mb()
        if not finished:
            res.notes.append('did not complete within %.0f s' % a.timeout)
        # anything arriving after completion is a duplicate: give it a moment to show
        time.sleep(a.settle)
        if kafka:
            res.delivered = env.watermark_total(bootstrap)
        elif scenario == 'c':
            res.delivered = env.redis_sum()
            st = env.redis_cmdstats()
            # the bench's own polls are EVAL/KEYS/HVALS/HGETALL, not counted here; HINCRBY run
            # inside the sink's script is counted by Redis like a client's
            res.notes.append('redis: %d HINCRBY for %d events%s, redis-server %.1f CPU-s' % (
                st.get('hincrby', 0), env.n_audit,
                ' in %d EVALSHA (batches)' % st.get('evalsha', 0) if is_sluice(shipper) else '',
                env.redis_cpu() - redis_cpu0))
        elif is_sluice(shipper):
            res.delivered = sluice_metric(logf, 'SINK.k1', 'EventDrainSuccessCount')
        else:
            res.delivered = count_newlines(out_file)
        if is_sluice(shipper) and scenario in 'acd':
            got = sluice_metric(logf, 'SOURCE.r1', 'EventReceivedCount')
            if got != env.n_lines:
                res.notes.append('source read %d of %d lines' % (got, env.n_lines))
        stop_proc(shipper_p)
        shipper_p = None
        res.lost = max(0, env.n_audit - res.delivered)
        res.dup = max(0, res.delivered - env.n_audit)
        if a.perf and is_sluice(shipper):
            perf_report(run_dir, res, a.perf_callgraph)
        if scenario == 'c':
            check_redis(env, res)
        elif kafka and dump is not None:
            check_dump(env, run_dir, dump, res)
            dump = None
        elif not is_sluice(shipper):
            check_file(env, out_file, res)
        res.ok = finished and res.lost == 0 and res.dup == 0
    except Exception as e:  # a broken run is a row with its reason, not the end of the bench
        res.notes.append('error: %s' % e)
    finally:
        stop_proc(shipper_p)
        stop_proc(waiter)
        stop_proc(dump)
        stop_proc(broker)
        if not a.keep_work:
            try:
                os.unlink(live_log)
            except OSError:
                pass
    log('    %s' % '  '.join(res.row(env.n_lines)[2:]))
    return res


def perf_report(run_dir, res, callgraph):
    """Top functions by self time (all threads and children), kept in perf.txt."""
    data = os.path.join(run_dir, 'perf.data')
    r = subprocess.run(['perf', 'report', '--stdio', '--no-children', '-i', data,
                        '--sort', 'comm,dso,sym', '--percent-limit', '0.5'],
                       capture_output=True, text=True)
    txt = os.path.join(run_dir, 'perf.txt')
    with open(txt, 'w') as f:
        f.write(r.stdout)
    if callgraph:
        # inclusive time per function (meaningful with --perf-callgraph)
        r2 = subprocess.run(['perf', 'report', '--stdio', '--children', '-i', data, '-g', 'none',
                             '--sort', 'comm,dso,sym', '--percent-limit', '1'],
                            capture_output=True, text=True)
        with open(os.path.join(run_dir, 'perf-children.txt'), 'w') as f:
            f.write(r2.stdout)
    top = [ln for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith('#')][:25]
    log('    perf (self time, top 25; all in %s):\n      %s' % (txt, '\n      '.join(top)))
    res.notes.append('under perf record (CPU includes perf)')


def check_dump(env, run_dir, dump, res):
    """Content check by the independent consumer that followed the run."""
    dump_path = os.path.join(run_dir, 'dump.txt')
    target = res.delivered
    wait_for(lambda: dump.poll() is not None or count_newlines(dump_path) >= target, 60, 0.5)
    died = dump.poll() is not None  # e.g. fell behind the mock broker's retention
    time.sleep(0.5)
    stop_proc(dump)
    dumped = count_newlines(dump_path)
    if died or dumped < target:
        res.notes.append('content not verified: the consumer read %d of %d (it fell behind the '
                         'mock broker\'s 5 MB per partition); lost/dup from the watermarks'
                         % (dumped, target))
        return
    r = subprocess.run(['/usr/bin/python3', os.path.join(SRC, 'test/e2e/verify_kafka.py'),
                        env.expected, dump_path, '--allow-duplicates'],
                       capture_output=True, text=True)
    m = re.search(r'missing=(\d+) duplicates=(\d+) extra=(\d+) order_errors=(\d+)', r.stdout)
    with open(os.path.join(run_dir, 'dump.err'), errors='replace') as f:
        err = f.read()
    if not m or 'jumped' in err:
        res.notes.append('content not verified (%s)' % (err.strip() or r.stderr.strip())[:200])
        return
    res.lost, res.dup = int(m.group(1)), int(m.group(2))
    extra, order = int(m.group(3)), int(m.group(4))
    res.notes.append('content verified by consumer')
    if extra:
        res.notes.append('%d unexpected messages' % extra)
    if order:
        res.notes.append('%d out of file order within a partition' % order)
    if not env.args.keep_work:
        os.unlink(dump_path)


def check_redis(env, res):
    raw = env.rcli('EVAL', env.PER_IP_LUA, '0', RKEY).split('\n')
    got = collections.Counter()
    for i in range(0, len(raw) - 1, 2):
        got[raw[i]] += int(raw[i + 1])
    lost = sum(max(0, n - got.get(ip, 0)) for ip, n in env.ip_totals.items())
    dup = sum(max(0, n - env.ip_totals.get(ip, 0)) for ip, n in got.items())
    res.lost, res.dup = lost, dup
    res.notes.append('per-IP sums checked')


def check_file(env, out_file, res):
    with open(env.expected, 'rb') as f:
        exp = collections.Counter(f.read().split(b'\n'))
    with open(out_file, 'rb') as f:
        got = collections.Counter(f.read().split(b'\n'))
    res.lost = sum(max(0, n - got.get(k, 0)) for k, n in exp.items())
    res.dup = sum(max(0, n - exp.get(k, 0)) for k, n in got.items())
    res.notes.append('content checked')


def run_kcat(env, run_dir, res):
    """Baseline: grep -E the audit lines to a file, then kcat -P -l them to the broker."""
    broker = None
    try:
        broker, bootstrap = env.start_broker(os.path.basename(run_dir))
        filtered = os.path.join(run_dir, 'audit.txt')
        t0 = time.monotonic()
        with open(filtered, 'wb') as out:
            g = subprocess.Popen(['grep', '-E', r'HiveMetaStore\.audit', env.log_src], stdout=out)
            _, _, ru_g = os.wait4(g.pid, 0)
        t1 = time.monotonic()
        k = subprocess.Popen(['kcat', '-P', '-b', bootstrap, '-t', TOPIC, '-X', 'acks=1',
                              '-X', 'queue.buffering.max.messages=1000000', '-l', filtered],
                             stderr=open(os.path.join(run_dir, 'kcat.err'), 'w'))
        _, status, ru_k = os.wait4(k.pid, 0)
        t2 = time.monotonic()
        res.wall = t2 - t0
        res.cpu = ru_g.ru_utime + ru_g.ru_stime + ru_k.ru_utime + ru_k.ru_stime
        res.rss = max(ru_g.ru_maxrss, ru_k.ru_maxrss) / 1024.0
        res.delivered = env.watermark_total(bootstrap)
        res.lost = max(0, env.n_audit - res.delivered)
        res.dup = max(0, res.delivered - env.n_audit)
        res.notes.append('grep %.2f s + kcat %.2f s; kcat exit %d' % (t1 - t0, t2 - t1, status))
        res.ok = status == 0 and res.lost == 0 and res.dup == 0
    except Exception as e:
        res.notes.append('error: %s' % e)
    finally:
        stop_proc(broker)
    log('    %s' % '  '.join(res.row(env.n_lines)[2:]))
    return res


# ---- latency --------------------------------------------------------------------------------

def latency(env, shipper):
    """Lines appended at a steady rate; time from the append to the consumer seeing it."""
    a = env.args
    n = int(a.latency_rate * a.latency_seconds)
    run_dir = env.path('latency-' + shipper)
    os.makedirs(run_dir)
    src = os.path.join(run_dir, 'src.log')
    subprocess.run([env.gen, '--lines', str(n), '--seed', str(a.seed + 1), '--ips', str(a.ips),
                    '--audit-ratio', a.audit_ratio, src], check=True, capture_output=True)
    live = os.path.join(run_dir, 'hive.log')
    open(live, 'w').close()
    broker, bootstrap = env.start_broker('latency-' + shipper)
    procs = [broker]
    try:
        vars_ = {'LOG': live, 'WORK': run_dir, 'TOPIC': TOPIC, 'BOOTSTRAP': bootstrap,
                 'RKEY': RKEY, 'OUT': os.path.join(run_dir, 'out.txt')}
        p, logf, ready = start_shipper(env, shipper, 'a', run_dir, vars_)
        procs.append(p)
        if not wait_for(ready, 20):
            raise RuntimeError('shipper did not start')
        cons_out = os.path.join(run_dir, 'arrivals.txt')
        cons = spawn(['/usr/bin/python3', os.path.abspath(__file__), '_consume', bootstrap,
                      cons_out], open(os.path.join(run_dir, 'consumer.err'), 'w'))
        procs.append(cons)
        time.sleep(2)  # the shipper opens the file, the consumer gets its partitions
        wtimes = os.path.join(run_dir, 'writes.txt')
        subprocess.run(['/usr/bin/python3', os.path.abspath(__file__), '_write', src, live,
                        str(a.latency_rate), wtimes], check=True)
        audit = sum(1 for _ in open(wtimes, 'rb'))
        wait_for(lambda: count_newlines(cons_out) >= audit, 30, 0.2)
        time.sleep(1)
        stop_proc(cons)
        sent = collections.defaultdict(collections.deque)
        with open(wtimes, 'rb') as f:
            for line in f:
                t, body = line.rstrip(b'\n').split(b'\t', 1)
                sent[body].append(float(t))
        pairs = []  # (written at, latency)
        with open(cons_out, 'rb') as f:
            for line in f:
                t, body = line.rstrip(b'\n').split(b'\t', 1)
                q = sent.get(body)
                if q:
                    w = q.popleft()
                    pairs.append((w, float(t) - w))
        if not pairs:
            return None
        with open(os.path.join(run_dir, 'latencies.txt'), 'w') as f:
            f.writelines('%.6f %.6f\n' % p for p in pairs)  # for a closer look (--keep-work)
        start = min(w for w, _ in pairs)
        # steady state: the first seconds (connections, metadata, the consumer's first fetch)
        # are reported apart
        steady = sorted(x for w, x in pairs if w >= start + a.latency_warmup)
        every = sorted(x for _, x in pairs)

        def pct(v, q):
            return v[min(len(v) - 1, int(q * len(v)))] * 1000 if v else float('nan')
        return {'shipper': shipper, 'n': len(pairs), 'of': audit, 'p50': pct(steady, 0.5),
                'p99': pct(steady, 0.99), 'max': steady[-1] * 1000 if steady else float('nan'),
                'p99_all': pct(every, 0.99), 'max_all': every[-1] * 1000}
    finally:
        for p in reversed(procs):
            stop_proc(p)


def _write(src, dst, rate, times_out):
    """Append src's lines to dst at `rate` lines/s in 1 ms steps; record when each audit line
    was written (CLOCK_MONOTONIC, shared with the consumer)."""
    rate = float(rate)
    with open(src, 'rb') as f:
        lines = f.read().split(b'\n')[:-1]
    fd = os.open(dst, os.O_WRONLY | os.O_APPEND)
    rec = []
    i, t0 = 0, time.monotonic()
    while i < len(lines):
        now = time.monotonic()
        due = min(len(lines), int((now - t0) * rate) + 1)
        if due > i:
            chunk = lines[i:due]
            os.write(fd, b'\n'.join(chunk) + b'\n')
            t = time.monotonic()
            for line in chunk:
                if b'HiveMetaStore.audit' in line:
                    rec.append(b'%.6f\t%s\n' % (t, line))
            i = due
        time.sleep(0.001)
    os.close(fd)
    with open(times_out, 'wb') as f:
        f.writelines(rec)


def _consume(bootstrap, out):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset='earliest', fetch_max_wait_ms=5, fetch_min_bytes=1)
    parts = None
    while not parts:
        parts = c.partitions_for_topic(TOPIC)
        time.sleep(0.1)
    c.assign([TopicPartition(TOPIC, p) for p in parts])
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    with open(out, 'wb') as f:
        while not stop[0]:
            batch = c.poll(timeout_ms=5)
            t = time.monotonic()
            for msgs in batch.values():
                for m in msgs:
                    f.write(b'%.6f\t%s\n' % (t, m.value))
            if batch:
                f.flush()


# ---- report -----------------------------------------------------------------------------------

HEAD = ['scenario', 'shipper', 'lines/s', 'wall s', 'CPU s', 'lines/CPU-s', 'peak RSS MB',
        'delivered', 'lost', 'dup', 'notes']


# The reference machine ran grep|kcat at 5,000,000 lines in 2.6 s: its absolute
# targets, divided by that, become ratios to the grep|kcat row of the same run here.
REF_KCAT_LINES_S = 5000000 / 2.6
ABS_TARGETS = {'c': 2000000, 'd': 3000000}


def run_repeated(env, scenario, shipper, n):
    """n runs of one shipper on one scenario; the run with the median wall time stands for
    them (its notes list every wall time). A run that lost or duplicated anything, or failed,
    stands instead: a bad run is never averaged away."""
    runs = [run_one(env, scenario, shipper) for _ in range(max(1, n))]
    if len(runs) == 1:
        return runs[0]
    bad = [r for r in runs if not r.ok]
    pick = bad[0] if bad else sorted(runs, key=lambda r: r.wall)[len(runs) // 2]
    pick.notes.append('%s of %d runs (wall s: %s)' % (
        'a failed one' if bad else 'median', len(runs),
        ', '.join('%.2f' % r.wall for r in runs)))
    return pick


def per(num, den):
    """num / den, or None when den is 0 (a run shorter than the clock tick /proc counts CPU in:
    the smoke run's scenario d can take 0.00 CPU-s)."""
    return num / den if den else None


def fmt(v, spec):
    return spec % v if v is not None else 'n/a'


def ratios(results, n_lines):
    out = []
    by = collections.defaultdict(dict)
    for r in results:
        by[r.scenario][r.shipper] = r
    kc = by.get('a', {}).get('kcat')
    for sc in SCENARIOS:
        for name in ('sluice', 'sluice-defaults'):
            s = by.get(sc, {}).get(name)
            if not s or not s.wall or not s.ok:
                continue
            peers = [r for k, r in by[sc].items() if k in ('rsyslog', 'syslog-ng') and r.ok]
            line = '(%s) %s %.0f lines/s, %s lines/CPU-s, peak RSS %.1f MB' % (
                sc, name, n_lines / s.wall, fmt(per(n_lines, s.cpu), '%.0f'), s.rss)
            if peers:
                best_cpu = min(peers, key=lambda r: r.cpu)
                best_wall = min(peers, key=lambda r: r.wall)
                line += ('; per CPU-s vs best peer (%s): %s; wall-clock vs best peer (%s): '
                         '%s' % (best_cpu.shipper, fmt(per(best_cpu.cpu, s.cpu), '%.2fx'),
                                 best_wall.shipper, fmt(per(best_wall.wall, s.wall), '%.2fx')))
            if kc and kc.ok:
                line += '; wall-clock vs grep|kcat: %.2fx' % (kc.wall / s.wall)
                if sc in 'ab':
                    line += '; per CPU-s vs grep|kcat: %s' % fmt(per(kc.cpu, s.cpu), '%.2fx')
                if sc in ABS_TARGETS:
                    line += (' (the issue\'s %d lines/s is %.2fx the grep|kcat of its reference '
                             'machine)' % (ABS_TARGETS[sc], ABS_TARGETS[sc] / REF_KCAT_LINES_S))
            out.append(line)
    return out


def table(results, n_lines, md):
    rows = [HEAD] + [r.row(n_lines) for r in results]
    if md:
        lines = ['| ' + ' | '.join(rows[0]) + ' |', '|' + '---|' * len(rows[0])]
        lines += ['| ' + ' | '.join(r) + ' |' for r in rows[1:]]
        return '\n'.join(lines)
    w = [max(len(r[i]) for r in rows) for i in range(len(HEAD) - 1)]
    return '\n'.join('  '.join(c.ljust(w[i]) if i < 2 else c.rjust(w[i])
                               for i, c in enumerate(r[:-1])) + '  ' + r[-1] for r in rows)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '_write':
        return _write(*sys.argv[2:6])
    if len(sys.argv) > 1 and sys.argv[1] == '_consume':
        return _consume(*sys.argv[2:4])
    ap = argparse.ArgumentParser(
        description='sluice benchmark: scenarios a-d run by sluice, rsyslog, syslog-ng and a '
                    'grep|kcat baseline on a generated Hive metastore log',
        epilog='scenarios: a tail->regex_filter->memory->kafka; b taildir->regex_filter->file '
               'channel->kafka; c tail->regex_filter->redis (hincrby); d tail->regex_filter->'
               'null. Run it through bench/run.sh, which builds and installs the peers.')
    ap.add_argument('--build', default=os.path.join(SRC, 'build-bench'),
                    help='meson build tree holding sluice and the test tools')
    ap.add_argument('--lines', type=int, default=2000000, help='lines of generated log')
    ap.add_argument('--seed', type=int, default=11, help="generator's seed")
    ap.add_argument('--audit-ratio', default='0.64',
                    help="generator's --audit-ratio (0.64 gives about 60%% audit lines, "
                         "the rest being multi-line traces and other lines)")
    ap.add_argument('--consumer-nice', type=int, default=-10 if os.geteuid() == 0 else 0,
                    help='niceness of the verifying consumer (default -10 as root)')
    ap.add_argument('--consumer-start', type=float, default=2.0,
                    help='seconds the verifying consumer gets to start before the shipper')
    ap.add_argument('--ips', type=int, default=300, help='client IPs in the log')
    ap.add_argument('--scenario', default=SCENARIOS, help='letters, e.g. "a" or "ac"')
    ap.add_argument('--shipper', default=','.join(SHIPPERS),
                    help='comma list of sluice,sluice-defaults,rsyslog,syslog-ng,kcat')
    ap.add_argument('--latency', choices=['on', 'off', 'only'], default='on',
                    help='the latency run (scenario a topology, each shipper but kcat)')
    ap.add_argument('--latency-rate', type=int, default=20000, help='lines/s appended')
    ap.add_argument('--latency-seconds', type=float, default=15, help='length of the run')
    ap.add_argument('--latency-warmup', type=float, default=2.0,
                    help='seconds at the start of the latency run reported apart')
    ap.add_argument('--no-verify', dest='verify', action='store_false',
                    help='no content-checking Kafka consumer (lost/dup from counts only)')
    ap.add_argument('--repeat', type=int, default=1,
                    help='runs of each scenario and shipper; the median (by wall time) is '
                         'reported, or a failed run if there was one')
    ap.add_argument('--timeout', type=float, default=600, help='seconds per run')
    ap.add_argument('--settle', type=float, default=1.0,
                    help='seconds to wait after completion for late duplicates')
    ap.add_argument('--perf', action='store_true',
                    help='run sluice under perf record and print its top functions '
                         '(use with --keep-work to keep perf.data)')
    ap.add_argument('--perf-freq', type=int, default=999, help='perf sampling frequency (Hz)')
    ap.add_argument('--perf-callgraph', action='store_true',
                    help='with --perf: DWARF call graphs, inclusive times in perf-children.txt '
                         '(heavy: use a few hundred thousand lines)')
    ap.add_argument('--markdown', help='also write the table and ratios to this file')
    ap.add_argument('--tmpdir', default=None, help='where the work directory goes')
    ap.add_argument('--keep-work', action='store_true',
                    help='keep the work directory (configs, logs, dumps, perf data)')
    ap.add_argument('--smoke', action='store_true',
                    help='20,000 lines, sluice (and sluice-defaults in a), scenarios a and d, no '
                         'latency; fails on loss')
    a = ap.parse_args()
    if a.smoke:
        a.lines, a.scenario, a.shipper, a.latency, a.settle = (20000, 'ad', 'sluice,sluice-defaults',
                                                              'off', 0.5)
        a.timeout = min(a.timeout, 120)
    shippers = [s for s in a.shipper.split(',') if s]
    for s in shippers:
        if s not in SHIPPERS:
            ap.error('unknown shipper %s' % s)
    env = Env(a)
    results, lats = [], []
    try:
        if a.latency != 'only':
            env.generate()
            for sc in a.scenario:
                if sc not in SCENARIOS:
                    ap.error('unknown scenario %s' % sc)
                for sh in shippers:
                    if sh == 'kcat' and sc != 'a':
                        continue
                    if sh == 'sluice-defaults' and sc not in DEFAULTS_ONLY:
                        continue
                    results.append(run_repeated(env, sc, sh, a.repeat))
        if a.latency != 'off':
            for sh in shippers:
                if sh == 'kcat':
                    continue
                log('--- latency, %s, %d lines/s' % (sh, a.latency_rate))
                try:
                    r = latency(env, sh)
                except Exception as e:
                    log('    latency run failed: %s' % e)
                    r = None
                if r:
                    lats.append(r)
                    log('    p50 %.1f ms, p99 %.1f ms' % (r['p50'], r['p99']))
    finally:
        env.close()
    report = []
    if results:
        report.append('input: %d lines, %d audit lines, seed %d, %d client IPs' %
                      (env.n_lines, env.n_audit, a.seed, a.ips))
    text = [table(results, getattr(env, 'n_lines', 0), False)] if results else []
    mdtext = [table(results, getattr(env, 'n_lines', 0), True)] if results else []
    rat = ratios(results, env.n_lines) if results else []
    lat_lines = ['latency %s at %d lines/s: p50 %.1f ms, p99 %.1f ms, max %.1f ms after the first '
                 '%.0f s; p99 %.1f ms, max %.1f ms over all (%d of %d audit lines arrived)' % (
                     r['shipper'], a.latency_rate, r['p50'], r['p99'], r['max'],
                     a.latency_warmup, r['p99_all'], r['max_all'], r['n'], r['of'])
                 for r in lats]
    print('\n'.join(report + text + [''] + rat + lat_lines))
    if a.markdown:
        with open(a.markdown, 'w') as f:
            f.write('\n\n'.join(report + mdtext + ['\n'.join('- ' + x for x in rat + lat_lines)])
                    + '\n')
    bad = [r for r in results if not r.ok]
    if a.smoke and bad:
        for r in bad:
            log('FAIL: scenario %s %s: %s' % (r.scenario, r.shipper, '; '.join(r.notes)))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
