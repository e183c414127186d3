package jsonapi

import (
	"net/http"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/events"
)

type sinkBody struct {
	Sink string `json:"sink"`
	// From is the sequence number redelivery starts from.
	From int64 `json:"from"`
}

// sinkList is the event sinks' state in the actor's tenant.
type sinkList struct {
	Items []events.SinkStatus `json:"items"`
}

// testResult is what a test event came to.
type testResult struct {
	UID       string `json:"uid"`
	Delivered bool   `json:"delivered"`
	Error     string `json:"error,omitempty"`
}

// registerEvents wires the security event sinks' state, the test event
// and redelivery (L2, L3). Without a stream every route answers 404.
func (a *API) registerEvents() {
	stream := func() (*events.Stream, error) {
		if a.events == nil {
			return nil, backoffice.NewError(backoffice.ErrNotFound, "events", "no security event sink is configured")
		}
		return a.events, nil
	}
	a.handle("GET /v1/events/sinks", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		s, err := stream()
		if err != nil {
			return 0, nil, err
		}
		sinks, err := s.TenantStatus(r.Context())
		return ok(sinkList{Items: sinks}, err)
	}))
	a.handle("POST /v1/events/test", a.authed(withBody(func(r *http.Request, b sinkBody) (int, any, error) {
		s, err := stream()
		if err != nil {
			return 0, nil, err
		}
		ev, err := s.SendTest(r.Context(), b.Sink)
		if ev.Metadata.UID == "" { // refused before sending
			return 0, nil, err
		}
		res := testResult{UID: ev.Metadata.UID, Delivered: err == nil}
		if err != nil {
			res.Error = err.Error()
		}
		return http.StatusOK, res, nil
	})))
	a.handle("POST /v1/events/redeliver", a.authed(withBody(func(r *http.Request, b sinkBody) (int, any, error) {
		s, err := stream()
		if err != nil {
			return 0, nil, err
		}
		return done(s.Redeliver(r.Context(), b.Sink, b.From))
	})))
}
