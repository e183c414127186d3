package main

import (
	"net/http"
	"time"
)

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
		body := map[string]any{"status": "ready"}
		if a.schema != nil {
			current, latest, err := a.schema(r.Context())
			if err != nil {
				return 0, nil, err
			}
			body["migrations"] = map[string]any{"current": current, "latest": latest, "applied": current >= latest}
			if current < latest {
				body["status"] = "migrations pending"
				return http.StatusServiceUnavailable, body, nil
			}
		}
		b, err := a.backlog(r.Context())
		if err != nil {
			return 0, nil, err
		}
		age := 0.0
		if !b.Oldest.IsZero() {
			age = time.Since(b.Oldest).Seconds()
		}
		body["outbox"] = map[string]any{"pending": b.Pending, "dead": b.Dead, "oldest_age_seconds": age}
		return http.StatusOK, body, nil
	})
	a.mux.Handle("GET /metrics", a.metrics.handler())
	a.handle("GET /openapi.json", func(http.ResponseWriter, *http.Request) (int, any, error) { return http.StatusOK, openAPI(), nil })
	a.handle("POST /v1/setup", withBody(a.setupTenant))
}
