package main

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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

// handler is the whole server: each request gets its id, log line and
// metrics, its span, then the API or the console.
func (a *api) handler() http.Handler { return a.observed(a.traced(a.site())) }

// traced gives each request a span, named after its route once a route
// took it, in which the service and store calls nest.
func (a *api) traced(next http.Handler) http.Handler {
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
