// Command adminapi is an example admin backend: the accessctl, enduser and
// scadevice services behind a JSON HTTP API, acting as the operator of the
// bearer session token. It runs in memory by default, and in production
// shape with PostgreSQL and Redis:
//
//	go run ./examples/adminapi                       # in memory, prints a setup token
//	go run ./examples/adminapi -demo                 # with demo data to try every call
//	go run ./examples/adminapi -postgres "$DSN" -redis redis://127.0.0.1:6379
//
// Flags may also be given as environment variables (BACKOFFICE_ADDR,
// BACKOFFICE_POSTGRES_DSN, BACKOFFICE_REDIS_URL, BACKOFFICE_ADMIN_EMAIL,
// BACKOFFICE_ADMIN_PASSWORD, …). The API is described at /openapi.json.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/accessctl/saml"
	"github.com/backoffice-go/backoffice/accessctl/scim"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/events"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/examples/adminapi/jsonapi"
	"github.com/backoffice-go/backoffice/examples/internal/demo"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
	"github.com/backoffice-go/backoffice/storage/observed"
	"github.com/backoffice-go/backoffice/storage/postgres"
	bredis "github.com/backoffice-go/backoffice/storage/redis"
)

type config struct {
	addr, postgresDSN, postgresSchema string
	redisURL, redisPrefix             string
	// Scale-out (C1, C2): a Redis Cluster instead of one node, the writes
	// a failover must not undo confirmed by replicas, and a PostgreSQL
	// read replica.
	redisCluster                         string
	redisWaitReplicas                    int
	postgresReader                       string
	postgresReaderMaxLag                 time.Duration
	outboxLease                          time.Duration
	tenant, tenantName, preset           string
	adminUser, adminEmail, adminPassword string
	internalSecret                       string
	demo                                 bool
	publicURL                            string
	oidcIssuer, oidcClientID, oidcSecret string
	policy                               string
	approverMinAge                       time.Duration
	logFormat, pprofAddr, opsAddr        string
	otlpEndpoint                         string
	otlpInsecure                         bool
	// The security event stream's sinks (L3, L4).
	eventsWebhook, eventsWebhookSecret string
	eventsSyslog, eventsSyslogCA       string
	eventsBackoffMax                   time.Duration
	// traces, when set (by a test), receives the spans instead of OTLP.
	traces trace.TracerProvider
	// limiterClock, when set (by a test), is the in-memory limiter's clock.
	limiterClock func() time.Time
	// schema, when set (by a test), reports the migrations instead of the
	// database.
	schema func(context.Context) (current, latest int, err error)
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// durationEnv reads a duration from the environment, or def when unset
// or not a duration (the flag's own parsing then reports nothing: the
// default stands).
func durationEnv(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("adminapi", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", env("BACKOFFICE_ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&c.postgresDSN, "postgres", env("BACKOFFICE_POSTGRES_DSN", ""), "PostgreSQL DSN; empty keeps everything in memory")
	fs.StringVar(&c.postgresSchema, "postgres-schema", env("BACKOFFICE_POSTGRES_SCHEMA", ""), "PostgreSQL schema of the backoffice_ tables; empty is the connection's current one")
	fs.StringVar(&c.redisURL, "redis", env("BACKOFFICE_REDIS_URL", ""), "Redis URL for sessions, tokens and failed logins")
	fs.StringVar(&c.redisPrefix, "redis-prefix", env("BACKOFFICE_REDIS_PREFIX", "backoffice"), "prefix of every Redis key")
	fs.StringVar(&c.redisCluster, "redis-cluster", env("BACKOFFICE_REDIS_CLUSTER", ""), "Redis Cluster nodes, host:port,host:port,… (instead of -redis)")
	fs.IntVar(&c.redisWaitReplicas, "redis-wait-replicas", -1,
		"replicas that must confirm a login attempt, a used token or an ended session before it counts (Redis WAIT); default 1 with -redis-cluster, else 0")
	fs.DurationVar(&c.outboxLease, "outbox-lease", durationEnv("BACKOFFICE_OUTBOX_LEASE", time.Minute),
		"how long a notice being delivered is this instance's; another instance sends it again after that if this one died")
	fs.StringVar(&c.postgresReader, "postgres-reader", env("BACKOFFICE_POSTGRES_READER_DSN", ""), "DSN of a PostgreSQL read replica for searches, lists, counts and histories; empty reads all from -postgres")
	fs.DurationVar(&c.postgresReaderMaxLag, "postgres-reader-max-lag", durationEnv("BACKOFFICE_POSTGRES_READER_MAX_LAG", 5*time.Second),
		"how far behind the primary the read replica may be and still serve")
	fs.StringVar(&c.tenant, "tenant", env("BACKOFFICE_TENANT", "default"), "the tenant this backend serves")
	fs.StringVar(&c.tenantName, "tenant-name", env("BACKOFFICE_TENANT_NAME", "Default tenant"), "the tenant's display name")
	fs.StringVar(&c.preset, "preset", env("BACKOFFICE_PRESET", accessctl.PresetDashboard), "role preset: dashboard or portal")
	fs.StringVar(&c.adminUser, "admin-username", env("BACKOFFICE_ADMIN_USERNAME", "admin"), "first Administrator's username")
	fs.StringVar(&c.adminEmail, "admin-email", env("BACKOFFICE_ADMIN_EMAIL", ""), "first Administrator's email")
	fs.StringVar(&c.adminPassword, "admin-password", env("BACKOFFICE_ADMIN_PASSWORD", ""), "first Administrator's password (no default)")
	fs.StringVar(&c.internalSecret, "internal-secret", env("BACKOFFICE_INTERNAL_SECRET", ""), "shared secret of the /v1/internal endpoints; empty disables them")
	fs.BoolVar(&c.demo, "demo", env("BACKOFFICE_DEMO", "") == "1", "load demo data")
	fs.StringVar(&c.publicURL, "public-url", env("BACKOFFICE_PUBLIC_URL", ""), "the URL browsers reach this server at, for the SSO callback; default http://<addr>")
	fs.StringVar(&c.oidcIssuer, "oidc-issuer", env("BACKOFFICE_OIDC_ISSUER", ""), "OpenID Connect issuer of the tenant's identity provider; empty disables SSO sign-in")
	fs.StringVar(&c.oidcClientID, "oidc-client-id", env("BACKOFFICE_OIDC_CLIENT_ID", ""), "this console's client id at the identity provider")
	fs.StringVar(&c.oidcSecret, "oidc-client-secret", env("BACKOFFICE_OIDC_CLIENT_SECRET", ""), "this console's client secret at the identity provider")
	fs.StringVar(&c.logFormat, "log-format", env("BACKOFFICE_LOG_FORMAT", "json"), `log lines as "json" (one object a line) or "text"`)
	fs.StringVar(&c.opsAddr, "ops-addr", env("BACKOFFICE_OPS_ADDR", ""),
		"listen address of the operations listener, apart from the API: /metrics, /readyz with its details, net/http/pprof; empty disables it")
	fs.StringVar(&c.pprofAddr, "pprof-addr", env("BACKOFFICE_PPROF_ADDR", ""), "the operations listener's address, when -ops-addr is not set (the name of earlier releases)")
	fs.StringVar(&c.otlpEndpoint, "otlp-endpoint", env("BACKOFFICE_OTLP_ENDPOINT", ""), "OTLP/HTTP collector (host:port) to send traces to; empty sends none")
	fs.BoolVar(&c.otlpInsecure, "otlp-insecure", env("BACKOFFICE_OTLP_INSECURE", "") == "1", "send traces over plain HTTP")
	fs.StringVar(&c.policy, "policy", env("BACKOFFICE_POLICY", ""), `security policy of every tenant: "pci-dss-4.0", or empty for the library's defaults`)
	fs.DurationVar(&c.approverMinAge, "approver-min-age", durationEnv("BACKOFFICE_APPROVER_MIN_AGE", accessctl.PCIDSS4().ApproverMinAge),
		"with -policy: how old an operator's account must be before it decides four-eyes requests")
	fs.StringVar(&c.eventsWebhook, "events-webhook", env("BACKOFFICE_EVENTS_WEBHOOK", ""), "URL the security events are POSTed to (OCSF, signed as Standard Webhooks says); empty sends none")
	fs.StringVar(&c.eventsWebhookSecret, "events-webhook-secret", env("BACKOFFICE_EVENTS_WEBHOOK_SECRET", ""),
		"the webhook's signing secret, whsec_…; during a rotation the new and the old, separated by a space, both sign")
	fs.StringVar(&c.eventsSyslog, "events-syslog", env("BACKOFFICE_EVENTS_SYSLOG", ""), "syslog collector the security events go to, tls://host:port (RFC 5424 over TLS, RFC 5425 framing); empty sends none")
	fs.StringVar(&c.eventsSyslogCA, "events-syslog-ca", env("BACKOFFICE_EVENTS_SYSLOG_CA", ""), "PEM file of the CA that signs the syslog collector's certificate; empty trusts the system's")
	fs.DurationVar(&c.eventsBackoffMax, "events-backoff-max", durationEnv("BACKOFFICE_EVENTS_BACKOFF_MAX", 5*time.Minute),
		"the longest wait before sending a failed security event again (the wait doubles from 1s, with jitter)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.eventsBackoffMax < time.Second {
		return c, fmt.Errorf("-events-backoff-max: at least 1s")
	}
	if c.eventsWebhook != "" && c.eventsWebhookSecret == "" {
		return c, fmt.Errorf("-events-webhook: needs -events-webhook-secret (whsec_…)")
	}
	if c.eventsSyslog != "" && !strings.HasPrefix(c.eventsSyslog, "tls://") {
		return c, fmt.Errorf("-events-syslog: want tls://host:port; events are never sent in the clear")
	}
	if c.redisCluster != "" && c.redisURL != "" {
		return c, fmt.Errorf("-redis-cluster: give it or -redis, not both")
	}
	if c.postgresReader != "" && c.postgresDSN == "" {
		return c, fmt.Errorf("-postgres-reader: needs -postgres")
	}
	if c.redisWaitReplicas < 0 {
		c.redisWaitReplicas = 0
		if c.redisCluster != "" {
			c.redisWaitReplicas = 1
		}
	}
	if c.approverMinAge < 0 {
		return c, fmt.Errorf("-approver-min-age: must not be negative")
	}
	if c.policy != "" && c.policy != accessctl.PCIDSS4().Name {
		return c, fmt.Errorf("-policy: unknown policy %q (want %q or nothing)", c.policy, accessctl.PCIDSS4().Name)
	}
	return c, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		if err := migrateCommand(context.Background(), os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "adminapi migrate:", err)
			os.Exit(1)
		}
		return
	}
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "adminapi:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "adminapi:", err)
		os.Exit(1)
	}
}

// outbox stands in for the host's email and push provider: it logs each
// notice (never its token) and keeps it for /v1/internal/outbox.
type outbox struct {
	memorytest.Recorder
	log *slog.Logger
}

func (o *outbox) NotifyOperator(ctx context.Context, n accessctl.OperatorNotice) error {
	o.log.Info("email to operator", "kind", n.Kind, "to", n.Email, "expires", n.ExpiresAt, "key", n.IdempotencyKey)
	return o.Recorder.NotifyOperator(ctx, n)
}

func (o *outbox) NotifyEndUser(ctx context.Context, n enduser.Notice) error {
	o.log.Info("email to end user", "kind", n.Kind, "to", n.Email, "key", n.IdempotencyKey)
	return o.Recorder.NotifyEndUser(ctx, n)
}

// run serves until ctx ends. When listening is not nil it receives the
// address once the server listens.
func run(ctx context.Context, c config, out io.Writer, listening chan<- string) error {
	a, closeStores, err := build(ctx, c, out)
	if err != nil {
		return err
	}
	defer closeStores()
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	a.log.Info("listening", "addr", ln.Addr().String(), "postgres", c.postgresDSN != "", "redis", c.redisURL != "" || c.redisCluster != "")
	if listening != nil {
		listening <- ln.Addr().String()
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if opsAddr := cmp.Or(c.opsAddr, c.pprofAddr); opsAddr != "" {
		// Metrics, readiness's details and profiles on a listener of their
		// own, opt-in: never on the address operators and browsers reach.
		pl, err := net.Listen("tcp", opsAddr)
		if err != nil {
			return err
		}
		psrv := &http.Server{Handler: a.api.Operations(), ReadHeaderTimeout: 5 * time.Second}
		defer psrv.Close()
		a.log.Info("operations listening", "addr", pl.Addr().String())
		go func() {
			if err := psrv.Serve(pl); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

// backend is the example backend: the JSON API at /v1/, the SCIM and SAML
// service providers, and the console everywhere else.
type backend struct {
	api      *jsonapi.API
	ops      *accessctl.Service
	users    *enduser.Service
	devices  *scadevice.Service
	wallets  *jsonapi.Wallets
	tenant   backoffice.TenantID
	log      *slog.Logger
	console  http.Handler
	signedIn *console.Console // finishes SAML sign-ins
	saml     http.Handler     // the SAML service provider, under /saml/
	scim     http.Handler     // the SCIM service provider, under /scim/v2/
	scimURL  string
	setup    string // the one-time setup token, when one was printed
	limits   jsonapi.Limiter
	schema   func(context.Context) (current, latest int, err error)
}

// handler is the whole server: each request gets its id, log line and
// metrics, its span, then the API or the console.
func (a *backend) handler() http.Handler { return a.api.Middleware(a.site()) }

// site serves the JSON API under /v1/, its probes and its contract, the
// identity provider's SCIM and SAML endpoints, and the web console
// everywhere else.
func (a *backend) site() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = console.WithPeer(r)
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/v1/"), p == "/healthz", p == "/readyz", p == "/openapi.json", p == "/metrics":
			a.api.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/scim/v2/"):
			a.scim.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/saml/"):
			a.saml.ServeHTTP(w, r)
		default:
			a.console.ServeHTTP(w, r)
		}
	})
}

// eventStream is the security event stream to the sinks the flags name,
// nil when they name none.
func eventStream(c config, positions events.Store, chain events.Chain, report func(context.Context, error)) (*events.Stream, error) {
	var sinks []events.Sink
	if c.eventsWebhook != "" {
		w, err := events.NewWebhook(c.eventsWebhook, strings.Fields(c.eventsWebhookSecret), nil)
		if err != nil {
			return nil, fmt.Errorf("-events-webhook: %w", err)
		}
		sinks = append(sinks, w)
	}
	if c.eventsSyslog != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.eventsSyslogCA != "" {
			pem, err := os.ReadFile(c.eventsSyslogCA)
			if err != nil {
				return nil, fmt.Errorf("-events-syslog-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("-events-syslog-ca: no certificate in %s", c.eventsSyslogCA)
			}
		}
		s, err := events.NewSyslog(strings.TrimPrefix(c.eventsSyslog, "tls://"), tc, nil)
		if err != nil {
			return nil, fmt.Errorf("-events-syslog: %w", err)
		}
		sinks = append(sinks, s)
	}
	if len(sinks) == 0 {
		return nil, nil
	}
	if positions == nil {
		return nil, errors.New("security events: the store keeps no event positions")
	}
	return &events.Stream{Store: positions, Chain: chain, Sinks: sinks, Poll: 250 * time.Millisecond, ReportError: report,
		Backoff: func(n int) time.Duration { return min(time.Second<<min(n-1, 20), c.eventsBackoffMax) }}, nil
}

// build wires the stores, the services and the handlers.
func build(ctx context.Context, c config, out io.Writer) (*backend, func(), error) {
	log := jsonapi.NewLogger(out, c.logFormat)
	mail := &outbox{log: log}
	a := &backend{tenant: backoffice.TenantID(c.tenant), log: log, wallets: jsonapi.NewWallets(), limits: jsonapi.MemoryLimiter(c.limiterClock)}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*backend, func(), error) { closeAll(); return nil, nil, err }

	var durable interface {
		accessctl.Store
		enduser.Store
		scadevice.Store
		backoffice.OutboxStore
	}
	var checks []func(context.Context) error
	if c.postgresDSN != "" {
		db, err := sql.Open("postgres", c.postgresDSN)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() { db.Close() })
		// database/sql keeps two idle connections by default: under load
		// every other request would open a PostgreSQL connection (the
		// soak test found a third of the CPU going to that).
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
		opts := &postgres.Options{Schema: c.postgresSchema}
		if _, err := postgres.Migrate(ctx, db, opts); err != nil {
			return fail(fmt.Errorf("migrating the database: %w", err))
		}
		if c.postgresReader != "" {
			reader, err := sql.Open("postgres", c.postgresReader)
			if err != nil {
				return fail(fmt.Errorf("-postgres-reader: %w", err))
			}
			closers = append(closers, func() { reader.Close() })
			reader.SetMaxOpenConns(32)
			reader.SetMaxIdleConns(32)
			opts.Reader, opts.ReaderMaxLag = reader, c.postgresReaderMaxLag
		}
		pg, err := postgres.New(db, "postgres", opts)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() { pg.Close() })
		durable = pg
		checks = append(checks, pg.Ping)
		a.schema = func(ctx context.Context) (int, int, error) { return postgres.SchemaVersion(ctx, db, opts) }
	} else {
		durable = memory.New()
	}
	// Traces: a span per request, service call and store call, sent with
	// OTLP when a collector is named.
	storeName := "memory"
	if c.postgresDSN != "" {
		storeName = "postgres"
	}
	var observer backoffice.Observer
	traces := c.traces
	if traces == nil && c.otlpEndpoint != "" {
		tp, err := otlpProvider(ctx, c.otlpEndpoint, c.otlpInsecure)
		if err != nil {
			return fail(fmt.Errorf("tracing: %w", err))
		}
		closers = append(closers, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = tp.Shutdown(sctx)
		})
		traces = tp
	}
	// The event stream's positions are read and written by the stream
	// alone, apart from any request: not traced.
	positions, _ := durable.(events.Store)
	if traces != nil {
		observer = jsonapi.Observer(traces)
		durable = observed.Wrap(durable, observer, storeName)
	}
	// Errors the services handle themselves (a notice not delivered after
	// its change was stored, cleanup after a change) go to the log.
	metrics := jsonapi.NewMetrics(durable.OutboxBacklog)
	report := func(ctx context.Context, err error) {
		metrics.CountHandled()
		log.WarnContext(ctx, "handled error", "err", err)
	}
	// Notices go with their change to the store's outbox, and a dispatcher
	// delivers them to the mail provider: none is sent for a change that
	// did not commit, none is lost for one that did.
	public := strings.TrimSuffix(c.publicURL, "/")
	if public == "" {
		public = "http://" + c.addr
	}
	stream, err := eventStream(c, positions, durable, report)
	if err != nil {
		return fail(err)
	}
	loginEvents := metrics.Event
	if stream != nil {
		loginEvents = func(ctx context.Context, e accessctl.Event) {
			metrics.Event(ctx, e)
			stream.Observe(ctx, e)
		}
	}
	cfg := accessctl.Config{Store: durable, Outbox: true, ReportError: report, Events: loginEvents, Observer: observer,
		WebAuthn: relyingParty(public)}
	if c.policy != "" {
		cfg.Policy = accessctl.PCIDSS4()
		cfg.Policy.ApproverMinAge = c.approverMinAge
	}
	if c.redisURL != "" || c.redisCluster != "" {
		var client goredis.UniversalClient
		if c.redisCluster != "" {
			client = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: strings.Split(c.redisCluster, ","), MaxRedirects: 16})
		} else {
			opt, err := goredis.ParseURL(c.redisURL)
			if err != nil {
				return fail(fmt.Errorf("the Redis URL: %w", err))
			}
			client = goredis.NewClient(opt)
		}
		closers = append(closers, func() { client.Close() })
		rs := bredis.New(client, &bredis.Options{Prefix: c.redisPrefix, WaitReplicas: c.redisWaitReplicas})
		a.limits = jsonapi.RedisLimiter(client, c.redisPrefix)
		var hot observed.HotStores = rs
		if observer != nil {
			hot = observed.WrapHot(rs, observer, "redis")
		}
		cfg.Sessions, cfg.Tokens = hot, hot
		// Login attempts go to Redis only when it keeps them across a
		// restart or a failover: a server that restarts empty would
		// forget every run of failures, giving an attacker more guesses.
		// Replicas that confirm each attempt (-redis-wait-replicas) keep
		// them through a failover; one node must keep them on disk.
		if c.redisWaitReplicas > 0 {
			cfg.Attempts = hot
		} else if err := rs.CheckDurable(ctx); err != nil {
			log.WarnContext(ctx, "login attempts stay in the durable store", "err", err)
		} else {
			cfg.Attempts = hot
		}
		checks = append(checks, rs.Ping)
	}
	if a.ops, err = accessctl.NewService(cfg); err != nil {
		return fail(err)
	}
	if a.users, err = enduser.NewService(enduser.Config{Store: durable, Tenants: durable, Balances: a.wallets, Outbox: true, ReportError: report,
		Approvals: a.ops, Observer: observer}); err != nil {
		return fail(err)
	}
	if a.devices, err = scadevice.NewService(scadevice.Config{Store: durable, Users: durable, Outbox: true, ReportError: report, Approvals: a.ops,
		Observer: observer}); err != nil {
		return fail(err)
	}
	if err := a.bootstrap(ctx, c, out); err != nil {
		return fail(err)
	}
	if c.demo {
		a.setup = "" // the demo makes its own Administrator
		if _, err := demo.Load(ctx, demo.Services{Ops: a.ops, Users: a.users, Devices: a.devices, Wallets: a.wallets},
			demo.Options{Tenant: a.tenant, Name: "Demo tenant", Domain: "demo.example"}, out); err != nil {
			return fail(fmt.Errorf("demo data: %w", err))
		}
	}
	dctx, stopDispatcher := context.WithCancel(context.WithoutCancel(ctx))
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		_ = (&backoffice.Dispatcher{Store: durable, Poll: 100 * time.Millisecond, Lease: c.outboxLease, ReportError: report, Handlers: map[string]backoffice.Handler{
			accessctl.OutboxTopic: accessctl.OutboxHandler(mail),
			enduser.OutboxTopic:   enduser.OutboxHandler(mail),
			scadevice.OutboxTopic: scadevice.OutboxHandler(mail),
		}}).Run(dctx)
	}()
	closers = append(closers, func() { stopDispatcher(); <-dispatched })
	if stream != nil {
		// The security events: the audit chain delivered to the SIEM's
		// sinks, apart from every request.
		sctx, stopStream := context.WithCancel(context.WithoutCancel(ctx))
		streamed := make(chan struct{})
		go func() { defer close(streamed); _ = stream.Run(sctx) }()
		closers = append(closers, func() { stopStream(); <-streamed })
	}
	a.scimURL = public + "/scim/v2"
	if c.schema != nil {
		a.schema = c.schema
	}
	if a.api, err = jsonapi.New(jsonapi.Config{Ops: a.ops, Users: a.users, Devices: a.devices, Tenant: a.tenant, Log: log, Metrics: metrics,
		Traces: traces, Limiter: a.limits, InternalSecret: c.internalSecret, SetupToken: a.setup,
		Ready: func(ctx context.Context) error {
			for _, check := range checks {
				if err := check(ctx); err != nil {
					return err
				}
			}
			return nil
		},
		Schema: a.schema, Backlog: durable.OutboxBacklog, FindOperator: durable.OperatorByLogin, Wallets: a.wallets, SCIMURL: a.scimURL,
		Mailbox: mail, Events: stream}); err != nil {
		return fail(err)
	}
	// The company's identity provider: SAML sign-in at /saml/{tenant}/…,
	// SCIM provisioning at /scim/v2 (the tenant comes from the token).
	samlSP := saml.NewHandler(a.ops, saml.Options{BaseURL: public + "/saml", Log: log,
		Done: func(w http.ResponseWriter, r *http.Request, res *accessctl.LoginResult) {
			a.signedIn.SignedIn(w, r, res)
		},
		Refused: func(w http.ResponseWriter, r *http.Request) { a.signedIn.SignInRefused(w, r) }})
	a.saml = a.api.LimitSAML(samlSP)
	a.scim = http.StripPrefix("/scim/v2", scim.NewHandler(a.ops, scim.Options{BaseURL: a.scimURL, Log: log, Allow: a.api.SCIMAllow}))
	cc := console.Config{Ops: a.ops, Users: a.users, Devices: a.devices, Tenant: a.tenant, Log: log, Authenticated: jsonapi.NoteActor,
		Limit:         a.api.ConsoleLimit,
		SecureCookies: strings.HasPrefix(c.publicURL, "https://"),
		SAMLLogin:     samlSP.LoginURL(a.tenant), SAMLMetadata: samlSP.MetadataURL(a.tenant), SCIMBaseURL: a.scimURL, Events: stream}
	if c.oidcIssuer != "" {
		cc.SSO = &console.SSO{Issuer: c.oidcIssuer, ClientID: c.oidcClientID, ClientSecret: c.oidcSecret, RedirectURL: public + "/sso/callback"}
	}
	con, err := console.New(cc)
	if err != nil {
		return fail(err)
	}
	a.console, a.signedIn = con, con
	if c.demo {
		if err := demo.SCIM(ctx, a.ops, a.tenant, a.scimURL, out); err != nil {
			return fail(fmt.Errorf("demo SCIM token: %w", err))
		}
	}
	return a, closeAll, nil
}

// bootstrap makes the tenant's first Administrator on a first start: from
// the flags when they give a password, otherwise through a one-time setup
// token printed on the console. There is no default password.
func (a *backend) bootstrap(ctx context.Context, c config, out io.Writer) error {
	sys := accessctl.NewContext(ctx, accessctl.SystemActor(a.tenant, "startup"))
	if _, terr := a.ops.Tenant(sys); terr == nil {
		page, err := a.ops.Operators(sys, accessctl.OperatorFilter{}, backoffice.PageRequest{Limit: 1})
		if err != nil {
			return err
		}
		if len(page.Items) > 0 {
			return nil
		}
	}
	if c.adminPassword != "" || c.demo {
		if c.adminPassword == "" {
			return nil // loadDemo makes the first Administrator
		}
		_, err := a.ops.Bootstrap(ctx, accessctl.BootstrapInput{Tenant: a.tenant, Name: c.tenantName, Preset: c.preset,
			Admin: accessctl.NewOperator{Username: c.adminUser, Email: c.adminEmail, FirstName: "First", LastName: "Administrator",
				Password: backoffice.Secret(c.adminPassword), PasswordConfirmation: backoffice.Secret(c.adminPassword)}})
		if err != nil {
			return fmt.Errorf("bootstrapping the first Administrator: %w", err)
		}
		fmt.Fprintf(out, "tenant %s ready; log in as %s with the password you gave\n", a.tenant, c.adminUser)
		return nil
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	a.setup = base64.RawURLEncoding.EncodeToString(b[:])
	fmt.Fprintf(out, "no Administrator yet: create one with POST /v1/setup and this one-time setup token:\n  %s\n", a.setup)
	return nil
}

// relyingParty is the passkeys' relying party of the public URL: its host
// and origin; on the loopback interface "localhost" (browsers take no IP
// address as a relying party id), so browse http://localhost:port.
func relyingParty(public string) accessctl.WebAuthnConfig {
	u, err := url.Parse(public)
	if err != nil || u.Host == "" {
		return accessctl.WebAuthnConfig{}
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		origin := "http://localhost"
		if p := u.Port(); p != "" {
			origin += ":" + p
		}
		return accessctl.WebAuthnConfig{RPID: "localhost", Origins: []string{origin}}
	}
	return accessctl.WebAuthnConfig{RPID: host, Origins: []string{u.Scheme + "://" + u.Host}}
}

// otlpProvider exports spans with OTLP over HTTP to endpoint
// ("collector:4318"), in batches.
func otlpProvider(ctx context.Context, endpoint string, insecure bool) (*sdktrace.TracerProvider, error) {
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(endpoint)}
	if insecure {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp)), nil
}

// ServeHTTP serves the JSON API alone.
func (a *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.api.ServeHTTP(w, r) }
