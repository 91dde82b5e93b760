#!/usr/bin/python3
"""Independent counts for the redis sink tests: per IP per window, from a log file.

usage: redis_expected.py LOG WINDOW_SECONDS seed|hincrby|total

Audit lines are the ones containing "HiveMetaStore.audit"; each is parsed with the seed's
regex; the event time (yyyy-MM-dd HH:mm:ss,SSS, local time zone) picks the epoch-aligned
window. Prints one line per window: "seed": "<window end local yyyy-MM-dd HH:mm:ss> {ip:n,...}";
"hincrby": "<window start epoch s> ip n" per IP; "total": "ip n" over all windows.
"""
import re
import sys
import time

RX = re.compile(rb'(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}).*ip=/(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}).*tbl=([a-zA-Z0-9_]+)')


def main():
    path, window, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    counts = {}
    epoch_of_hour = {}
    with open(path, 'rb') as f:
        for line in f:
            if b'HiveMetaStore.audit' not in line:
                continue
            m = RX.search(line)
            if not m:
                continue
            ts, ip = m.group(1).decode(), m.group(2).decode()
            hour = ts[:13]
            if hour not in epoch_of_hour:
                epoch_of_hour[hour] = int(time.mktime(time.strptime(hour, '%Y-%m-%d %H')))
            secs = epoch_of_hour[hour] + int(ts[14:16]) * 60 + int(ts[17:19])
            start = secs - secs % window
            w = counts.setdefault(start, {})
            w[ip] = w.get(ip, 0) + 1
    out = sys.stdout
    if what == 'seed':
        for start in sorted(counts):
            end = time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(start + window))
            body = ','.join('%s:%d' % (ip, n) for ip, n in sorted(counts[start].items()))
            out.write('%s {%s}\n' % (end, body))
    elif what == 'hincrby':
        for start in sorted(counts):
            for ip, n in sorted(counts[start].items()):
                out.write('%d %s %d\n' % (start, ip, n))
    else:
        tot = {}
        for w in counts.values():
            for ip, n in w.items():
                tot[ip] = tot.get(ip, 0) + n
        for ip in sorted(tot):
            out.write('%s %d\n' % (ip, tot[ip]))


main()
