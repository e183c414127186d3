package backoffice

import "context"

type laggingKey struct{}

// WithLaggingReads marks the store reads made with ctx as ones that may
// see the store as it was a moment ago: a listing, a count, a search, a
// history, a walk of the audit chain. A store with a read replica may
// send them there (storage/postgres's Options.Reader). The services set
// it on those reads alone; a read that decides a write, or that must see
// the caller's own write, never carries it, and goes to the primary.
func WithLaggingReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, laggingKey{}, true)
}

// LaggingReadsAllowed reports whether ctx's reads may lag
// (WithLaggingReads).
func LaggingReadsAllowed(ctx context.Context) bool {
	ok, _ := ctx.Value(laggingKey{}).(bool)
	return ok
}
