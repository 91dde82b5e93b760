/*
 * gen_hive_log: writes a deterministic, realistic Hive metastore log (CDH-style
 * hadoop-cmf-hive-HIVEMETASTORE log.out) for tests, benchmarks and live demos. Same seed,
 * same bytes, everywhere: a private splitmix64 PRNG and integer-only choices. Audit lines
 * are exactly the lines containing "HiveMetaStore.audit"; each carries a timestamp, an
 * ip=/a.b.c.d and a tbl=; decoy lines (HiveMetaStoreXaudit, HiveMetaStore-audit) must not
 * match a correct filter. Built for speed: one big output buffer, no per-line allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_BUF (4u << 20)
#define MAX_IPS 64516

/* ---- PRNG ------------------------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n): the top 32 bits scaled, no division, same everywhere. */
static uint32_t rng_below(uint32_t n)
{
    return (uint32_t)(((rng_next() >> 32) * (uint64_t)n) >> 32);
}

#define PICK(arr) (arr[rng_below(sizeof(arr) / sizeof(arr[0]))])

/* ---- buffered output ------------------------------------------------------------------------- */

struct out {
    int fd;
    const char *path;
    char *buf;
    size_t len;
};

static void die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "gen_hive_log: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    exit(1);
}

static void out_flush(struct out *o)
{
    size_t off = 0;
    while (off < o->len) {
        ssize_t n = write(o->fd, o->buf + off, o->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("write %s: %s", o->path, strerror(errno));
        off += (size_t)n;
    }
    o->len = 0;
}

static void out_open(struct out *o, const char *path, int append)
{
    o->path = path;
    o->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (o->fd < 0)
        die("cannot open %s: %s", path, strerror(errno));
    o->buf = malloc(OUT_BUF);
    if (!o->buf)
        die("out of memory%s%s", "", "");
    o->len = 0;
}

static void out_close(struct out *o)
{
    out_flush(o);
    if (close(o->fd) != 0)
        die("close %s: %s", o->path, strerror(errno));
    free(o->buf);
}

/* The line being built; a line is far below this bound (checked in line_end). */
static char line[8192];
static size_t line_len;

static void put(const char *s, size_t n)
{
    memcpy(line + line_len, s, n);
    line_len += n;
}

#define PUTS(lit) put(lit, sizeof(lit) - 1)

static void puts_z(const char *s)
{
    put(s, strlen(s));
}

static void put_u(uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        line[line_len++] = tmp[--n];
}

/* ---- clock: fixed start, a few ms per line ------------------------------------------------ */

static struct {
    int y, mo, d, h, mi, s, ms;
    char text[20]; /* "YYYY-MM-DD HH:MM:SS" */
} clk = {2026, 11, 25, 8, 0, 0, 0, ""};

static int days_in(int y, int mo)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mo == 2 && leap ? 29 : dm[mo - 1];
}

static void two(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

static void clk_render(void)
{
    char *t = clk.text;
    two(t, clk.y / 100);
    two(t + 2, clk.y % 100);
    t[4] = '-';
    two(t + 5, clk.mo);
    t[7] = '-';
    two(t + 8, clk.d);
    t[10] = ' ';
    two(t + 11, clk.h);
    t[13] = ':';
    two(t + 14, clk.mi);
    t[16] = ':';
    two(t + 17, clk.s);
}

static void clk_advance(uint32_t ms)
{
    clk.ms += (int)ms;
    if (clk.ms < 1000)
        return;
    clk.s += clk.ms / 1000;
    clk.ms %= 1000;
    while (clk.s >= 60) {
        clk.s -= 60;
        if (++clk.mi == 60) {
            clk.mi = 0;
            if (++clk.h == 24) {
                clk.h = 0;
                if (++clk.d > days_in(clk.y, clk.mo)) {
                    clk.d = 1;
                    if (++clk.mo == 13) {
                        clk.mo = 1;
                        clk.y++;
                    }
                }
            }
        }
    }
    clk_render();
}

/* ---- vocabulary ------------------------------------------------------------------------------ */

static const char *const dbs[] = {"default", "sales",     "warehouse", "analytics", "staging",
                                  "finance", "marketing", "ops",       "tmp"};
static const char *const tables[] = {
    "user_logs",   "web_events",     "orders",        "order_items", "customers",
    "page_views",  "clickstream",    "inventory",     "payments",    "sessions",
    "ad_clicks",   "ad_impressions", "dim_date",      "dim_product", "dim_store",
    "fact_sales",  "fact_returns",   "tmp_etl_0423",  "stg_orders",  "stg_customers",
    "daily_kpis",  "hourly_traffic", "search_terms",  "shipments",   "refunds",
    "audit_trail", "user_profiles",  "device_events", "geo_lookup",  "exchange_rates"};
static const char *const users[] = {"hive",     "hive",     "hive",      "etl_user",
                                    "etl_user", "hue",      "spark",     "impala",
                                    "airflow",  "analyst1", "bi_reader", "data_sci"};
static const char *const parts[] = {"2026-11-24", "2026-11-25", "2026-11-23", "2026-10-31"};

/* Calls that name a table (usable for audit lines); `sep` is Hive's own (" : " or ": ").
 * get_schema keeps Hive 1.1's missing space ("db=defaulttbl=x"), as real logs do. */
enum tail_kind { TAIL_NONE, TAIL_NEWTBL, TAIL_PART };
static const struct call {
    const char *name;
    const char *sep_db; /* text between name and db name */
    const char *sep_tbl;
    enum tail_kind tail;
    unsigned weight;
} calls[] = {
    {"get_table", " : db=", " tbl=", TAIL_NONE, 40},
    {"get_partitions", " : db=", " tbl=", TAIL_NONE, 12},
    {"get_partition_names", ": db=", " tbl=", TAIL_NONE, 8},
    {"get_partitions_by_filter", " : db=", " tbl=", TAIL_NONE, 8},
    {"get_partitions_by_names", " : db=", " tbl=", TAIL_NONE, 6},
    {"get_partition", " : db=", " tbl=", TAIL_PART, 5},
    {"append_partition", " : db=", " tbl=", TAIL_PART, 3},
    {"add_partition", " : db=", " tbl=", TAIL_NONE, 3},
    {"alter_partition", " : db=", " tbl=", TAIL_NONE, 3},
    {"alter_table", ": db=", " tbl=", TAIL_NEWTBL, 3},
    {"get_indexes", " : db=", " tbl=", TAIL_NONE, 4},
    {"drop_table", " : db=", " tbl=", TAIL_NONE, 1},
    {"get_schema", ": db=", "tbl=", TAIL_NONE, 4},
};
static unsigned calls_weight;

/* Calls without a table: non-audit HiveMetaStore lines only. */
static const char *const plain_calls[] = {
    "get_all_databases",
    "get_database: default",
    "get_database: sales",
    "get_all_tables: db=default",
    "get_all_tables: db=analytics",
    "get_functions: db=default pat=*",
    "get_tables: db=staging pat=.*",
    "get_config_value: name=hive.exec.dynamic.partition defaultValue=true",
    "get_current_notificationEventId",
    "get_delegation_token",
    "shutdown",
};

/* ---- one call, remembered so the audit line can follow its HiveMetaStore line -----------------
 */

struct call_pick {
    const struct call *c;
    const char *db, *tbl, *part;
    uint32_t thread, ip;
};

static uint32_t n_ips;
static char (*ip_text)[16];

static void ips_init(uint32_t k, uint64_t seed)
{
    static const char *const nets[] = {"10.10.", "10.20.", "172.16.", "192.168."};
    ip_text = calloc(k, sizeof(*ip_text));
    if (!ip_text)
        die("out of memory%s%s", "", "");
    uint32_t off = (uint32_t)(seed % 64516);
    for (uint32_t i = 0; i < k; i++) {
        /* i -> j is one-to-one for i < 254*254 (40503 is coprime with it): distinct hosts */
        uint32_t j = (uint32_t)(((uint64_t)i * 40503 + off) % 64516);
        snprintf(ip_text[i], sizeof(ip_text[i]), "%s%u.%u", nets[i % 4], 1 + j / 254, 1 + j % 254);
    }
    n_ips = k;
}

static void pick_call(struct call_pick *p)
{
    uint32_t w = rng_below(calls_weight), i = 0;
    while (w >= calls[i].weight)
        w -= calls[i++].weight;
    p->c = &calls[i];
    /* a table belongs to one database; popular tables come first */
    uint32_t t = rng_below(sizeof(tables) / sizeof(tables[0]));
    uint32_t t2 = rng_below(sizeof(tables) / sizeof(tables[0]));
    t = t < t2 ? t : t2;
    p->tbl = tables[t];
    p->db = dbs[t % (sizeof(dbs) / sizeof(dbs[0]))];
    p->part = PICK(parts);
    p->thread = 1 + rng_below(200);
    uint32_t a = rng_below(n_ips), b = rng_below(n_ips);
    p->ip = a < b ? a : b; /* a few clients are busy, most are not */
}

static void put_call_text(const struct call_pick *p)
{
    puts_z(p->c->name);
    puts_z(p->c->sep_db);
    puts_z(p->db);
    puts_z(p->c->sep_tbl);
    puts_z(p->tbl);
    if (p->c->tail == TAIL_NEWTBL) {
        PUTS(" newtbl=");
        puts_z(p->tbl);
    } else if (p->c->tail == TAIL_PART) {
        PUTS("[");
        puts_z(p->part);
        PUTS("]");
    }
}

/* ---- line writers ------------------------------------------------------------------------------
 */

static struct out out, expected;
static int want_expected;
static uint64_t lines_left, n_lines, n_audit;

static void head(const char *level, const char *logger, const char *thread_prefix, uint32_t thread)
{
    line_len = 0;
    put(clk.text, 19);
    line[line_len++] = ',';
    line[line_len++] = (char)('0' + clk.ms / 100);
    line[line_len++] = (char)('0' + clk.ms / 10 % 10);
    line[line_len++] = (char)('0' + clk.ms % 10);
    line[line_len++] = ' ';
    puts_z(level);
    puts_z(logger);
    PUTS(": [");
    puts_z(thread_prefix);
    if (thread)
        put_u(thread);
    PUTS("]: ");
}

static void pool_head(const char *level, const char *logger, uint32_t thread)
{
    head(level, logger, "pool-5-thread-", thread);
}

/* Finish the line in `line` and write it; audit lines also go to the expected file. */
static void line_end(int audit)
{
    if (line_len + 1 >= sizeof(line))
        die("internal error: line too long%s%s", "", "");
    line[line_len++] = '\n';
    if (out.len + line_len > OUT_BUF)
        out_flush(&out);
    memcpy(out.buf + out.len, line, line_len);
    out.len += line_len;
    if (audit) {
        n_audit++;
        if (want_expected) {
            if (expected.len + line_len > OUT_BUF)
                out_flush(&expected);
            memcpy(expected.buf + expected.len, line, line_len);
            expected.len += line_len;
        }
    }
    n_lines++;
    lines_left--;
}

#define HMS "org.apache.hadoop.hive.metastore.HiveMetaStore"

static void write_audit(const struct call_pick *p)
{
    pool_head("INFO  ", HMS ".audit", p->thread);
    PUTS("ugi=");
    puts_z(PICK(users));
    PUTS("\tip=/");
    puts_z(ip_text[p->ip]);
    PUTS("\tcmd=");
    put_call_text(p);
    PUTS("\t");
    line_end(1);
}

static void write_call(const struct call_pick *p)
{
    pool_head("INFO  ", HMS, p->thread);
    put_u(p->thread);
    PUTS(": ");
    if (rng_below(5) != 0) {
        PUTS("source:");
        puts_z(ip_text[p->ip]);
        PUTS(" ");
    }
    put_call_text(p);
    line_end(0);
}

static void write_plain_call(void)
{
    uint32_t t = 1 + rng_below(200);
    pool_head("INFO  ", HMS, t);
    put_u(t);
    PUTS(": source:");
    puts_z(ip_text[rng_below(n_ips)]);
    PUTS(" ");
    puts_z(PICK(plain_calls));
    line_end(0);
}

static void write_rawstore(void)
{
    uint32_t t = 1 + rng_below(200);
    switch (rng_below(6)) {
    case 0:
        pool_head("INFO  ", HMS, t);
        put_u(t);
        PUTS(": Opening raw store with implementation "
             "class:org.apache.hadoop.hive.metastore.ObjectStore");
        break;
    case 1:
        pool_head("INFO  ", "org.apache.hadoop.hive.metastore.ObjectStore", t);
        PUTS("ObjectStore, initialize called");
        break;
    case 2:
        pool_head("INFO  ", "org.apache.hadoop.hive.metastore.MetaStoreDirectSql", t);
        PUTS("Using direct SQL, underlying DB is MYSQL");
        break;
    case 3:
        pool_head("INFO  ", "org.apache.hadoop.hive.metastore.ObjectStore", t);
        PUTS("Initialized ObjectStore");
        break;
    case 4:
        pool_head("INFO  ", HMS, t);
        put_u(t);
        PUTS(": Cleaning up thread local RawStore...");
        break;
    default:
        pool_head("INFO  ", HMS, t);
        put_u(t);
        PUTS(": Done cleaning up thread local RawStore");
        break;
    }
    line_end(0);
}

static void write_datanucleus(void)
{
    static const char *const models[] = {"MFieldSchema", "MOrder", "MStringList", "MResourceUri",
                                         "MSerDeInfo"};
    uint32_t t = 1 + rng_below(200);
    if (rng_below(3) == 0) {
        pool_head("INFO  ", "DataNucleus.Query", t);
        PUTS("Reading in results for query \"org.datanucleus.store.rdbms.query.SQLQuery@0\" "
             "since the connection used is closing");
    } else {
        pool_head("INFO  ", "DataNucleus.Datastore", t);
        PUTS("The class \"org.apache.hadoop.hive.metastore.model.");
        puts_z(PICK(models));
        PUTS("\" is tagged as \"embedded-only\" so does not have its own datastore table.");
    }
    line_end(0);
}

static void write_housekeeping(void)
{
    switch (rng_below(3)) {
    case 0:
        head("INFO  ", "org.apache.hadoop.hive.metastore.txn.AcidHouseKeeperService",
             "pool-7-thread-", 1 + rng_below(2));
        PUTS("timeout reaper ran for 0seconds.  isAliveCounter=-2147483");
        put_u(100 + rng_below(900));
        break;
    case 1:
        head("INFO  ", "org.apache.hadoop.util.JvmPauseMonitor",
             "org.apache.hadoop.util.JvmPauseMonitor$Monitor@6a4f787b", 0);
        PUTS("Detected pause in JVM or host machine (eg GC): pause of approximately ");
        put_u(500 + rng_below(4000));
        PUTS("ms\nNo GCs detected");
        /* that message really is two lines */
        if (lines_left < 2) {
            line_len -= sizeof("\nNo GCs detected") - 1;
        } else {
            n_lines++;
            lines_left--;
        }
        break;
    default:
        head("INFO  ", "org.apache.hadoop.hive.metastore.HiveMetaStore$HMSHandler", "HMSHandler #",
             1 + rng_below(5));
        PUTS("Started the new metaserver on port [9083]...");
        break;
    }
    line_end(0);
}

/* Lines that mention the audit logger with the wrong separator: a filter that forgets to
 * escape the '.' in HiveMetaStore\.audit matches them. */
static void write_decoy(void)
{
    uint32_t t = 1 + rng_below(200);
    switch (rng_below(4)) {
    case 0:
        pool_head("INFO  ", HMS "Xaudit", t);
        PUTS("ugi=hive\tip=/");
        puts_z(ip_text[rng_below(n_ips)]);
        PUTS("\tcmd=get_table : db=default tbl=decoy_x\t");
        break;
    case 1:
        pool_head("WARN  ", HMS "-audit", t);
        PUTS("audit appender queue is 85% full, ip=/");
        puts_z(ip_text[rng_below(n_ips)]);
        PUTS(" tbl=decoy_dash");
        break;
    case 2:
        pool_head("INFO  ", HMS, t);
        put_u(t);
        PUTS(": HiveMetaStore_audit logger not configured, using HiveMetaStore audit defaults");
        break;
    default:
        pool_head("INFO  ", "org.apache.hadoop.hive.metastore.HiveMetaStoreXaudit", t);
        PUTS("cmd=get_table : db=sales tbl=orders");
        break;
    }
    line_end(0);
}

/* A header line then stack frames (no timestamps), cut short if the line budget ends. */
static void write_frames(const char *const *frames, size_t n)
{
    for (size_t i = 0; i < n && lines_left > 0; i++) {
        line_len = 0;
        puts_z(frames[i]);
        line_end(0);
    }
}

static const char *const get_table_frames[] = {
    "\tat org.apache.hadoop.hive.metastore.HiveMetaStore$HMSHandler.get_table_core("
    "HiveMetaStore.java:1885)",
    "\tat org.apache.hadoop.hive.metastore.HiveMetaStore$HMSHandler.get_table(HiveMetaStore."
    "java:1837)",
    "\tat sun.reflect.GeneratedMethodAccessor45.invoke(Unknown Source)",
    "\tat sun.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)",
    "\tat java.lang.reflect.Method.invoke(Method.java:498)",
    "\tat org.apache.hadoop.hive.metastore.RetryingHMSHandler.invokeInternal("
    "RetryingHMSHandler.java:138)",
    "\tat org.apache.hadoop.hive.metastore.RetryingHMSHandler.invoke(RetryingHMSHandler.java:99)",
    "\tat com.sun.proxy.$Proxy12.get_table(Unknown Source)",
    "\tat org.apache.hadoop.hive.metastore.api.ThriftHiveMetastore$Processor$get_table."
    "getResult(ThriftHiveMetastore.java:9519)",
    "\tat org.apache.thrift.ProcessFunction.process(ProcessFunction.java:39)",
    "\tat org.apache.hadoop.hive.metastore.TUGIBasedProcessor$1.run(TUGIBasedProcessor.java:110)",
    "\tat java.security.AccessController.doPrivileged(Native Method)",
    "\tat javax.security.auth.Subject.doAs(Subject.java:422)",
    "\tat org.apache.hadoop.security.UserGroupInformation.doAs(UserGroupInformation.java:1920)",
    "\tat org.apache.thrift.server.TThreadPoolServer$WorkerProcess.run(TThreadPoolServer.java:"
    "286)",
    "\tat java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1149)",
    "\tat java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:624)",
    "\tat java.lang.Thread.run(Thread.java:748)",
};

static const char *const direct_sql_frames[] = {
    "javax.jdo.JDODataStoreException: Error executing SQL query \"select "
    "\"PARTITIONS\".\"PART_ID\" from \"PARTITIONS\"\".",
    "\tat org.datanucleus.api.jdo.NucleusJDOHelper.getJDOExceptionForNucleusException("
    "NucleusJDOHelper.java:543)",
    "\tat org.datanucleus.api.jdo.JDOQuery.executeInternal(JDOQuery.java:388)",
    "\tat org.datanucleus.api.jdo.JDOQuery.executeWithArray(JDOQuery.java:264)",
    "\tat org.apache.hadoop.hive.metastore.MetaStoreDirectSql.executeWithArray("
    "MetaStoreDirectSql.java:1750)",
    "\tat org.apache.hadoop.hive.metastore.MetaStoreDirectSql.getPartitionsViaSqlFilterInternal("
    "MetaStoreDirectSql.java:482)",
    "\tat org.apache.hadoop.hive.metastore.ObjectStore$GetHelper.run(ObjectStore.java:2600)",
    "Caused by: com.mysql.jdbc.exceptions.jdbc4.CommunicationsException: Communications link "
    "failure",
    "\tat sun.reflect.NativeConstructorAccessorImpl.newInstance0(Native Method)",
    "\tat com.mysql.jdbc.MysqlIO.send(MysqlIO.java:3634)",
    "\t... 34 more",
};

static const char *const thrift_frames[] = {
    "org.apache.thrift.transport.TTransportException: java.net.SocketException: Connection "
    "reset",
    "\tat org.apache.thrift.transport.TIOStreamTransport.read(TIOStreamTransport.java:129)",
    "\tat org.apache.thrift.transport.TTransport.readAll(TTransport.java:86)",
    "\tat org.apache.thrift.transport.TSaslTransport.readLength(TSaslTransport.java:376)",
    "\tat org.apache.thrift.server.TThreadPoolServer$WorkerProcess.run(TThreadPoolServer.java:"
    "269)",
    "Caused by: java.net.SocketException: Connection reset",
    "\tat java.net.SocketInputStream.read(SocketInputStream.java:210)",
    "\t... 10 more",
};

#define N_OF(a) (sizeof(a) / sizeof(a[0]))

static void write_trouble(void)
{
    struct call_pick p;
    pick_call(&p);
    switch (rng_below(3)) {
    case 0:
        pool_head("ERROR ", "org.apache.hadoop.hive.metastore.RetryingHMSHandler", p.thread);
        PUTS("NoSuchObjectException(message:");
        puts_z(p.db);
        PUTS(".");
        puts_z(p.tbl);
        PUTS("_bak table not found)");
        line_end(0);
        write_frames(get_table_frames, 6 + rng_below(N_OF(get_table_frames) - 5));
        break;
    case 1:
        pool_head("WARN  ", "org.apache.hadoop.hive.metastore.MetaStoreDirectSql", p.thread);
        PUTS("Failed to execute [select \"PARTITIONS\".\"PART_ID\" from \"PARTITIONS\" inner join "
             "\"TBLS\" on \"PARTITIONS\".\"TBL_ID\" = \"TBLS\".\"TBL_ID\" and "
             "\"TBLS\".\"TBL_NAME\" = ?] with parameters [");
        puts_z(p.tbl);
        PUTS(", ");
        puts_z(p.db);
        PUTS("]");
        line_end(0);
        write_frames(direct_sql_frames, N_OF(direct_sql_frames));
        if (lines_left > 0) {
            pool_head("WARN  ", "org.apache.hadoop.hive.metastore.ObjectStore", p.thread);
            PUTS("Falling back to ORM path due to direct SQL failure (this is not an error): "
                 "Communications link failure at "
                 "org.apache.hadoop.hive.metastore.MetaStoreDirectSql.executeWithArray("
                 "MetaStoreDirectSql.java:1750)");
            line_end(0);
        }
        break;
    default:
        pool_head("ERROR ", "org.apache.thrift.server.TThreadPoolServer", p.thread);
        PUTS("Error occurred during processing of message.");
        line_end(0);
        write_frames(thrift_frames, N_OF(thrift_frames));
        break;
    }
}

/* ---- main loop ---------------------------------------------------------------------------------
 */

static void usage(void)
{
    fprintf(stderr, "usage: gen_hive_log --lines N [--seed S] [--audit-ratio 0.6] [--ips K] "
                    "[--rate LINES_PER_SEC] [--append] [--expected FILE] OUTFILE\n");
    exit(2);
}

static uint64_t parse_u64(const char *opt, const char *v, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || x < min || x > max) {
        fprintf(stderr, "gen_hive_log: %s: '%s' is not a number in [%" PRIu64 ", %" PRIu64 "]\n",
                opt, v, min, max);
        exit(2);
    }
    return x;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keep to `rate` lines per second: flush, then sleep until line n is due. */
static void pace(double start, uint64_t rate)
{
    double due = start + (double)n_lines / (double)rate;
    double now = now_s();
    if (due <= now)
        return;
    out_flush(&out);
    if (want_expected)
        out_flush(&expected);
    double d = due - now;
    struct timespec ts = {.tv_sec = (time_t)d, .tv_nsec = (long)((d - (double)(time_t)d) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    uint64_t lines = 0, seed = 1, ips = 16, rate = 0;
    uint32_t audit_ppm = 600000; /* per million */
    int have_lines = 0, append = 0;
    const char *expected_path = NULL, *path = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--append") == 0) {
            append = 1;
            continue;
        }
        if (a[0] == '-' && a[1] == '-') {
            if (!v)
                usage();
            i++;
            if (strcmp(a, "--lines") == 0) {
                lines = parse_u64(a, v, 0, UINT64_MAX / 2);
                have_lines = 1;
            } else if (strcmp(a, "--seed") == 0) {
                seed = parse_u64(a, v, 0, UINT64_MAX);
            } else if (strcmp(a, "--ips") == 0) {
                ips = parse_u64(a, v, 1, MAX_IPS);
            } else if (strcmp(a, "--rate") == 0) {
                rate = parse_u64(a, v, 1, 100000000);
            } else if (strcmp(a, "--expected") == 0) {
                expected_path = v;
            } else if (strcmp(a, "--audit-ratio") == 0) {
                char *end;
                double r = strtod(v, &end);
                if (end == v || *end || !(r >= 0.0 && r <= 1.0)) {
                    fprintf(stderr, "gen_hive_log: --audit-ratio: '%s' is not in [0, 1]\n", v);
                    return 2;
                }
                audit_ppm = (uint32_t)(r * 1e6 + 0.5);
            } else {
                usage();
            }
            continue;
        }
        if (path)
            usage();
        path = a;
    }
    if (!have_lines || !path)
        usage();

    rng_state = seed;
    for (size_t i = 0; i < N_OF(calls); i++)
        calls_weight += calls[i].weight;
    ips_init((uint32_t)ips, seed);
    clk_render();
    out_open(&out, path, append);
    if (expected_path) {
        out_open(&expected, expected_path, append);
        want_expected = 1;
    }

    double start = now_s();
    struct call_pick last = {0};
    int have_last = 0;
    lines_left = lines;
    while (lines_left > 0) {
        /* mostly a few ms between lines, now and then a quiet spell */
        clk_advance(rng_below(100) == 0 ? 50 + rng_below(950) : rng_below(8));
        if (rng_below(1000000) < audit_ppm) {
            /* an audit line follows the HiveMetaStore line of the same call when there is one */
            if (!have_last)
                pick_call(&last);
            write_audit(&last);
            have_last = 0;
        } else {
            uint32_t k = rng_below(1000);
            have_last = 0;
            if (k < 600) {
                pick_call(&last);
                write_call(&last);
                have_last = 1;
            } else if (k < 720) {
                write_plain_call();
            } else if (k < 860) {
                write_rawstore();
            } else if (k < 930) {
                write_datanucleus();
            } else if (k < 960) {
                write_housekeeping();
            } else if (k < 985) {
                write_decoy();
            } else {
                write_trouble();
            }
        }
        if (rate)
            pace(start, rate);
    }
    out_close(&out);
    if (want_expected)
        out_close(&expected);
    free(ip_text);
    printf("lines=%" PRIu64 " audit=%" PRIu64 "\n", n_lines, n_audit);
    return 0;
}
