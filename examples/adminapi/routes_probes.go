package main

import "net/http"

// registerProbes wires the health and readiness probes, the OpenAPI
// document and the one-time setup of the first Administrator.
func (a *api) registerProbes() {
	a.handle("GET /healthz", func(http.ResponseWriter, *http.Request) (int, any, error) {
		return http.StatusOK, map[string]string{"status": "ok"}, nil
	})
	a.handle("GET /readyz", func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if err := a.ready(r.Context()); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]string{"status": "ready"}, nil
	})
	a.handle("GET /openapi.json", func(http.ResponseWriter, *http.Request) (int, any, error) { return http.StatusOK, openAPI(), nil })
	a.handle("POST /v1/setup", withBody(a.setupTenant))
}
