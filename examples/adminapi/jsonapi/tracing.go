package jsonapi

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/backoffice-go/backoffice"
)

// tracer is the library's backoffice.Observer over OpenTelemetry: a span
// per service call and per store call, each in the span of the call that
// made it.
type tracer struct{ t trace.Tracer }

var _ backoffice.Observer = tracer{}

func (o tracer) Start(ctx context.Context, name string) (context.Context, func(error)) {
	ctx, span := o.t.Start(ctx, name)
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "")
		}
		span.End()
	}
}

// Middleware is the API's instrumentation around any handler, the
// console for one: each request gets its id (X-Request-Id, echoed), its
// metrics, its log line and, with Traces, its span. A request already
// instrumented, by the host's own wrapping of the API, is not counted
// twice.
func (a *API) Middleware(next http.Handler) http.Handler { return a.observed(a.traced(next)) }

// traced gives each request a span, named after its route once a route
// took it, in which the service and store calls nest.
func (a *API) traced(next http.Handler) http.Handler {
	if a.tracer == nil {
		return next
	}
	t := a.tracer.t
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := t.Start(r.Context(), r.Method, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if info := infoOf(ctx); info != nil {
			span.SetName(info.route)
			span.SetAttributes(attribute.String("http.route", info.route), attribute.String("request.id", info.id))
		}
		span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(sw.status))
		}
	})
}
