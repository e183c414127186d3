package jsonapi

import (
	"net/http"
	"net/http/pprof"
	"time"
)

// readiness is /readyz's answer.
type readiness struct {
	Status     string          `json:"status"`
	Migrations *migrationState `json:"migrations,omitempty"`
	Outbox     *outboxState    `json:"outbox,omitempty"`
	// Events are the security event sinks' states. A sink in trouble
	// leaves the instance ready: changes never wait for a sink, and
	// taking instances out of the load balancer would not bring it back.
	Events []sinkState `json:"events,omitempty"`
}

type sinkState struct {
	Name          string  `json:"name"`
	State         string  `json:"state"`
	Backlog       int64   `json:"backlog"`
	LagSeconds    float64 `json:"lag_seconds"`
	Retrying      int     `json:"retrying"`
	Dead          int     `json:"dead"`
	LastDelivered int64   `json:"last_delivered"`
	LastError     string  `json:"last_error,omitempty"`
	Failures      int64   `json:"failures"`
	Dropped       int64   `json:"dropped"`
}

type migrationState struct {
	Current int  `json:"current"`
	Latest  int  `json:"latest"`
	Applied bool `json:"applied"`
}

type outboxState struct {
	Pending          int     `json:"pending"`
	Dead             int     `json:"dead"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
}

// registerProbes wires the health and readiness probes, the metrics, the
// OpenAPI document and the one-time setup of the first Administrator.
func (a *API) registerProbes() {
	a.handle("GET /healthz", func(http.ResponseWriter, *http.Request) (int, any, error) {
		return http.StatusOK, statusOK, nil
	})
	// Public readiness says ready or not, and nothing else: a backlog
	// that grows after a forgot-password would tell whether a login
	// exists (B2). The details are on the operations listener.
	a.handle("GET /readyz", func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		status, body, err := a.readiness(r)
		if err != nil {
			return 0, nil, err
		}
		if status != http.StatusOK {
			return status, readiness{Status: "not ready"}, nil
		}
		return status, readiness{Status: body.Status}, nil
	})
	// Metrics count logins, lockouts and notices: on the public listener
	// only for the host's own scraper, which sends the internal secret;
	// otherwise as unknown as any other path (B2).
	metrics := a.metrics.Handler()
	a.mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.internal == "" || !constantEqual(r.Header.Get("X-Internal-Secret"), a.internal) {
			http.NotFound(w, r)
			return
		}
		metrics.ServeHTTP(w, r)
	}))
	a.routes = append(a.routes, "GET /metrics") // documented with the rest; served as Prometheus text
	a.handle("GET /openapi.json", func(http.ResponseWriter, *http.Request) (int, any, error) {
		return http.StatusOK, OpenAPI(a.prefix), nil
	})
	a.handle("POST /v1/setup", withBody(a.setupTenant))
}

// readiness is whether every store answers and the schema has every
// migration of this release, with the outbox's backlog and the age of its
// oldest notice, for an operator to see a stuck mail provider.
func (a *API) readiness(r *http.Request) (int, readiness, error) {
	if err := a.ready(r.Context()); err != nil {
		return 0, readiness{}, err
	}
	body := readiness{Status: "ready"}
	if a.schema != nil {
		current, latest, err := a.schema(r.Context())
		if err != nil {
			return 0, readiness{}, err
		}
		body.Migrations = &migrationState{Current: current, Latest: latest, Applied: current >= latest}
		if current < latest {
			body.Status = "migrations pending"
			return http.StatusServiceUnavailable, body, nil
		}
	}
	b, err := a.backlog(r.Context())
	if err != nil {
		return 0, readiness{}, err
	}
	body.Outbox = &outboxState{Pending: b.Pending, Dead: b.Dead}
	if !b.Oldest.IsZero() {
		body.Outbox.OldestAgeSeconds = time.Since(b.Oldest).Seconds()
	}
	if a.events != nil {
		sinks, err := a.events.Status(r.Context())
		if err != nil {
			return 0, readiness{}, err
		}
		for _, s := range sinks {
			body.Events = append(body.Events, sinkState{Name: s.Name, State: s.State, Backlog: s.Backlog, LagSeconds: s.Lag.Seconds(),
				Retrying: s.Retrying, Dead: s.Dead, LastDelivered: s.LastDelivered, LastError: s.LastError, Failures: s.Failures, Dropped: s.Dropped})
		}
	}
	return http.StatusOK, body, nil
}

// Operations is the handler of the operations listener, apart from the
// address operators and browsers reach: the metrics, readiness with its
// details, and the profiles.
func (a *API) Operations() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		status, body, err := a.readiness(r)
		if err != nil {
			status, body = http.StatusServiceUnavailable, readiness{Status: "unavailable: " + err.Error()}
		}
		writeJSON(w, status, body)
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
