package main

import (
	"net/http"
	"time"
)

// readiness is /readyz's answer.
type readiness struct {
	Status     string          `json:"status"`
	Migrations *migrationState `json:"migrations,omitempty"`
	Outbox     *outboxState    `json:"outbox,omitempty"`
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
func (a *api) registerProbes() {
	a.handle("GET /healthz", func(http.ResponseWriter, *http.Request) (int, any, error) {
		return http.StatusOK, map[string]string{"status": "ok"}, nil
	})
	// Ready when every store answers and the schema has every migration
	// of this release; the outbox's backlog and the age of its oldest
	// notice are reported, for an operator to see a stuck mail provider.
	a.handle("GET /readyz", func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if err := a.ready(r.Context()); err != nil {
			return 0, nil, err
		}
		body := readiness{Status: "ready"}
		if a.schema != nil {
			current, latest, err := a.schema(r.Context())
			if err != nil {
				return 0, nil, err
			}
			body.Migrations = &migrationState{Current: current, Latest: latest, Applied: current >= latest}
			if current < latest {
				body.Status = "migrations pending"
				return http.StatusServiceUnavailable, body, nil
			}
		}
		b, err := a.backlog(r.Context())
		if err != nil {
			return 0, nil, err
		}
		body.Outbox = &outboxState{Pending: b.Pending, Dead: b.Dead}
		if !b.Oldest.IsZero() {
			body.Outbox.OldestAgeSeconds = time.Since(b.Oldest).Seconds()
		}
		return http.StatusOK, body, nil
	})
	a.mux.Handle("GET /metrics", a.metrics.handler())
	a.routes = append(a.routes, "GET /metrics") // documented with the rest; served as Prometheus text
	a.handle("GET /openapi.json", func(http.ResponseWriter, *http.Request) (int, any, error) { return http.StatusOK, openAPI(), nil })
	a.handle("POST /v1/setup", withBody(a.setupTenant))
}
