package jsonapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
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

// instrumented is what Middleware keeps of a request, in one allocation.
type instrumented struct {
	info     requestInfo
	sw       statusWriter
	idHeader [1]string
}

// Middleware is the API's instrumentation around any handler, the
// console for one: each request gets its id (X-Request-Id, echoed), its
// metrics, its log line and, with Traces, its span, named after its route
// once a route took it, in which the service and store calls nest. A
// request already instrumented, by the host's own wrapping of the API, is
// not counted twice. The log line says method, route, path, status,
// duration (duration_us, in microseconds) and actor; never a header,
// body or token.
func (a *API) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if infoOf(ctx) != nil {
			next.ServeHTTP(w, r) // instrumented already
			return
		}
		start := time.Now()
		a.metrics.inFlight.Inc()
		defer a.metrics.inFlight.Dec()
		st := &instrumented{info: requestInfo{id: requestID(r), route: "console"}, sw: statusWriter{ResponseWriter: w, status: http.StatusOK}}
		info, sw := &st.info, &st.sw
		st.idHeader[0] = info.id
		w.Header()["X-Request-Id"] = st.idHeader[:]
		// The request's record, its client's address and its span go in
		// one copy of the request.
		ctx = context.WithValue(ctx, infoKey{}, info)
		if accessctl.ClientAddr(ctx) == "" {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				host = r.RemoteAddr
			}
			ctx = accessctl.WithClientAddr(ctx, host)
		}
		var span trace.Span
		if a.tracer != nil {
			ctx, span = a.tracer.t.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		}
		next.ServeHTTP(sw, r.WithContext(ctx))
		d := time.Since(start)
		if span != nil {
			if span.IsRecording() {
				span.SetName(info.route)
				span.SetAttributes(attribute.String("http.route", info.route), attribute.String("request.id", info.id),
					attribute.String("http.request.method", r.Method), attribute.Int("http.response.status_code", sw.status))
				if sw.status >= 500 {
					span.SetStatus(codes.Error, strconv.Itoa(sw.status))
				}
			}
			span.End()
		}
		a.metrics.requests.WithLabelValues(info.route, strconv.Itoa(sw.status)).Observe(d.Seconds())
		// The line names the request's id, actor and tenant itself, with
		// the request's context as it came (contextHandler adds nothing):
		// one record built once, handed to the logger's handler without
		// the caller's program counter, which costs a stack walk per line.
		if base, h := r.Context(), a.log.Handler(); h.Enabled(base, slog.LevelInfo) {
			rec := slog.NewRecord(start.Add(d), slog.LevelInfo, "request", 0)
			attrs := [...]slog.Attr{slog.String("method", r.Method), slog.String("route", info.route), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Int64("duration_us", d.Microseconds()), slog.String("request_id", info.id),
				slog.String("actor", info.actor), slog.String("tenant", string(info.tenant))}
			n := len(attrs)
			if info.actor == "" {
				n -= 2
			}
			rec.AddAttrs(attrs[:n]...)
			_ = h.Handle(base, rec)
		}
	})
}
